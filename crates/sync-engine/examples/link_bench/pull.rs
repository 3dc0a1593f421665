//! Issue 14, item 6 over the link: the first sync of a collector device
//! (an officer bound to a fresh tablet) pulling a unit of `people` people,
//! each with a submitted assessment, no photos.

use crate::link::Shaper;
use crate::support::UNIT;
use cdht_core::ids::AssessmentId;
use cdht_core::sync::DeviceState;
use cdht_store::Store;
use cdht_sync_engine::{ServerConfig, SyncEngine};
use cdht_test_support::faulty_link::Faults;
use cdht_test_support::records::{assessment, person, push_accepted, v1};
use cdht_test_support::server::TestServer;
use std::time::{Duration, Instant};

pub const COLLECTOR: &str = "nhaplieu-x1-c1";

/// The unit's people, pushed by one phone straight to the server (not
/// through the link under test), 100 people with their assessments a batch.
pub async fn seed(shaper: &Shaper, server: &TestServer, people: usize) {
    shaper.unshaped();
    let good = shaper.open(server, 10_000_000, Faults::default()).await;
    let phone = server.device_via(UNIT, good.url()).await;
    let mut seq = 0;
    for start in (0..people).step_by(100) {
        let mut records = Vec::new();
        for i in start..(start + 100).min(people) {
            let (pid, body) = person(&format!("Trần Văn Minh Khôi {i}"), None);
            records.push(v1(body));
            records.push(v1(assessment(
                AssessmentId::new_v7(),
                pid,
                DeviceState::Submitted,
                [8; 10],
            )));
        }
        seq += 1;
        push_accepted(&phone, seq, records).await;
    }
}

pub struct Pulled {
    pub records: u64,
    pub seconds: f64,
    pub wire_down: u64,
    pub wire_up: u64,
    pub requests: u64,
    pub connections: u64,
    pub people_on_device: usize,
}

/// A fresh tablet joins (on a good link), an officer is bound, then its
/// first sync runs through a clean link of `kbit` with `rtt_ms` round trips.
pub async fn first_sync(shaper: &Shaper, server: &TestServer, kbit: u64, rtt_ms: u64) -> Pulled {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = SyncEngine::new(
        Store::open_with_key_file(dir.path()).unwrap(),
        ServerConfig::default(),
    )
    .unwrap();
    shaper.unshaped();
    let good = shaper.open(server, 10_000_000, Faults::default()).await;
    let mut qr = server.qr(UNIT);
    qr.server = good.url().to_owned();
    engine.enrol(&qr).await.unwrap();
    engine
        .bind_officer(COLLECTOR, &server.password(COLLECTOR))
        .await
        .unwrap();
    drop(good);

    let faults = Faults {
        one_way_delay: Duration::from_millis(rtt_ms / 2),
        ..Faults::default()
    };
    let link = shaper.open(server, kbit, faults).await;
    let mut store = engine.into_store();
    let mut creds = store.sync_credentials().unwrap().unwrap();
    creds.server_url = link.url().to_owned();
    store.save_sync_credentials(&creds).unwrap();
    let mut engine = SyncEngine::new(store, ServerConfig::default()).unwrap();
    let started = Instant::now();
    let report = engine.sync_once(|_| {}).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    // Let the relay's counters settle (the last answer is counted as written).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (wire_up, wire_down) = shaper.wire(&link);
    let people_on_device = engine
        .store()
        .list_people(2025, None, usize::MAX >> 1, 0)
        .unwrap()
        .len();
    Pulled {
        records: report.pulled_changes as u64,
        seconds,
        wire_down,
        wire_up,
        requests: link.count(|c| &c.requests),
        connections: link.count(|c| &c.connections),
        people_on_device,
    }
}

#[allow(clippy::cast_precision_loss)]
pub fn row(kbit: u64, rtt_ms: u64, people: usize, p: &Pulled) -> String {
    let rtt = if rtt_ms == 0 {
        String::new()
    } else {
        format!(", {rtt_ms} ms round trip")
    };
    let per_thousand = p.wire_down as f64 / p.records as f64;
    format!(
        "| {kbit} kbit/s{rtt} | {people} people ({} changes pulled) | **{:.0} s** | {:.0} KB down, {:.0} KB up | **{:.1} KB** | {} / {} | {} |",
        p.records,
        p.seconds,
        p.wire_down as f64 / 1000.0,
        p.wire_up as f64 / 1000.0,
        per_thousand,
        p.requests,
        p.connections,
        p.people_on_device,
    )
}
