#![allow(clippy::unwrap_used)]
//! Issue 14, item 2, small: a door-to-door day synced through a bad link
//! (the relay of `cdht-test-support`: paced, delayed, the whole link cut
//! every 0.5–1 s for 150 ms, and 30 % of requests reset mid-request), with
//! the real engine, store files and server. Rounds run until one ends with
//! nothing left, as the app's loop would. Nothing is lost, nothing is
//! duplicated (on the server or on the device), and each cut costs at most
//! one chunk of photo bytes. The full measure is
//! `examples/link_bench` (scripts/bench.sh links).

mod support;

use cdht_store::Store;
use cdht_sync_engine::{ServerConfig, SyncEngine, SyncErrorKind};
use cdht_test_support::faulty_link::{Cuts, Faults, FaultyLink, LinkCounters};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::*;

const PEOPLE: usize = 4;
const PHOTOS_EACH: usize = 2;
const CHUNK: usize = 32 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_through_cuts_and_resets_arrives_once_and_each_cut_costs_one_chunk_at_most() {
    let started = Instant::now();
    let server = start().await;
    let link = FaultyLink::start(
        &server.url,
        Faults {
            rate: Some(400_000),
            one_way_delay: Duration::from_millis(10),
            cuts: Some(Cuts {
                every: (Duration::from_millis(500), Duration::from_millis(1000)),
                down_for: Duration::from_millis(150),
            }),
            reset_share: 0.3,
            seed: 14,
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        chunk_size: CHUNK,
        ..config()
    };
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config).unwrap();
    // The join goes through the bad link too: tried again until it holds.
    let mut qr = server.qr(UNIT);
    qr.server.clone_from(&link.url);
    while let Err(e) = engine.enrol(&qr).await {
        assert_eq!(e.kind(), SyncErrorKind::Offline, "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(20), "cannot join");
    }
    let mut photo_bytes = 0u64;
    for p in 0..PEOPLE {
        let photos: Vec<Vec<u8>> = (0..PHOTOS_EACH)
            .map(|i| photo((p * 10 + i) as u64, 80_000 + p * 9_000 + i * 5_000))
            .collect();
        photo_bytes += photos.iter().map(|b| b.len() as u64).sum::<u64>();
        collect(
            engine.store_mut(),
            &format!("Hộ gia đình số {p}"),
            "244-2022",
            &photos,
        );
    }
    let records = engine.store().outbox_pending(1000).unwrap().len();
    assert_eq!(records, PEOPLE * (2 + PHOTOS_EACH));

    let mut failed_rounds = 0;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "not done in 50 s: {failed_rounds} failed rounds"
        );
        match engine.sync_once(|_| {}).await {
            Ok(_)
                if engine.store().outbox_pending(1).unwrap().is_empty()
                    && engine.store().pending_uploads(1).unwrap().is_empty() =>
            {
                break
            }
            Ok(_) => {}
            Err(e) => {
                assert!(
                    matches!(e.kind(), SyncErrorKind::Offline | SyncErrorKind::RetryLater),
                    "{e:?}"
                );
                failed_rounds += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    // Nothing lost, nothing twice: every record and photo once on the server …
    let stats = server.stats().await;
    assert_eq!(
        (stats.persons, stats.assessments),
        (PEOPLE as u64, PEOPLE as u64)
    );
    assert_eq!(stats.evidence_records, (PEOPLE * PHOTOS_EACH) as u64);
    assert_eq!(stats.blobs_complete, (PEOPLE * PHOTOS_EACH) as u64);
    assert_eq!(stats.evidence_bytes_accepted, photo_bytes, "{stats:?}");
    // … and on the device, which pulled its own records back.
    let people = engine.store().list_people(2025, None, 100, 0).unwrap();
    assert_eq!(people.len(), PEOPLE, "{people:?}");
    assert!(engine.store().parked_uploads().unwrap().is_empty());

    // The faults happened, and each cost at most the chunk it cut.
    let c = &link.counters;
    let (cuts, resets) = (
        LinkCounters::get(&c.cuts),
        LinkCounters::get(&c.request_resets),
    );
    assert!(cuts >= 1 && resets >= 1, "cuts {cuts}, resets {resets}");
    let sent = engine
        .counters()
        .unwrap()
        .evidence_bytes_sent
        .load(Ordering::SeqCst);
    let resent = sent - photo_bytes;
    assert!(
        resent <= (cuts + resets) * CHUNK as u64,
        "{resent} B re-sent for {cuts} cuts and {resets} resets"
    );
    println!(
        "{records} records, {} photos ({photo_bytes} B) in {:.1} s: {cuts} cuts, {resets} resets, \
         {failed_rounds} failed rounds, {resent} B of photos re-sent, {} requests",
        PEOPLE * PHOTOS_EACH,
        started.elapsed().as_secs_f64(),
        LinkCounters::get(&c.requests)
    );
}
