//! One case of a door-to-door day: a device holding `people` people (a
//! submitted assessment each) and `photos` photos of 150–200 KB syncs it
//! through the link, round after round as the app's loop does, until a
//! round ends with nothing left; then what reached the server is counted.

use crate::link::Shaper;
use crate::support::{collect, photo, UNIT};
use cdht_store::Store;
use cdht_sync_engine::{ServerConfig, SyncEngine, SyncErrorKind};
use cdht_test_support::faulty_link::Faults;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct Case {
    pub name: &'static str,
    pub kbit: u64,
    pub faults: Faults,
    pub people: usize,
    pub photos: usize,
}

pub struct Measured {
    pub records: usize,
    pub photos: usize,
    pub payload: u64,
    pub seconds: f64,
    /// Frames (tc) or relay bytes, towards the server and back.
    pub wire: (u64, u64),
    /// HTTP heads and bodies at the relay, towards the server and back.
    pub http: (u64, u64),
    /// Packets tc dropped (queue full), towards the server and back.
    pub drops: (u64, u64),
    /// Photo chunks sent (cut ones included), and their mean size.
    pub chunks: u64,
    pub mean_chunk: u64,
    pub requests: u64,
    /// TCP connections the device opened through the link.
    pub connections: u64,
    pub faults: u64,
    pub failed_rounds: u64,
    /// Photo bytes the device offered in chunks beyond the photos' size:
    /// the server keeps every byte of a cut chunk that arrived and the next
    /// chunk starts there, so this is exactly what was offered and lost in
    /// flight (sent again), part of it perhaps never out of the device.
    pub resent: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub link_rate: f64,
}

/// A photo of 150–200 KB, its bytes differing by seed (incompressible, as
/// a JPEG is).
fn day_photo(seed: usize) -> Vec<u8> {
    photo(seed as u64, 150_000 + (seed * 7_919) % 50_001)
}

/// Joins through `link`, trying again while the link refuses.
async fn join(engine: &mut SyncEngine, server: &cdht_test_support::server::TestServer, url: &str) {
    let mut qr = server.qr(UNIT);
    qr.server = url.to_owned();
    for _ in 0..100 {
        match engine.enrol(&qr).await {
            Ok(_) => return,
            Err(e) if e.kind() == SyncErrorKind::Offline => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("join: {e:?}"),
        }
    }
    panic!("could not join through the link");
}

pub async fn run(shaper: &Shaper, case: &Case) -> Measured {
    let server = shaper.server().await;
    let dir = tempfile::tempdir().unwrap();
    // The app's own settings: its retry policy and chunk sizes.
    let mut engine = SyncEngine::new(
        Store::open_with_key_file(dir.path()).unwrap(),
        ServerConfig::default(),
    )
    .unwrap();
    // The join is the day before, on a good link; the relay's URL is the
    // server's address for the device from then on.
    shaper.unshaped();
    let join_link = shaper.open(&server, 10_000_000, Faults::default()).await;
    join(&mut engine, &server, join_link.url()).await;
    drop(join_link);

    let mut photo_bytes = 0u64;
    let mut next_photo = 0;
    for p in 0..case.people {
        // Photos spread over the people as evenly as they go.
        let mine = case.photos / case.people + usize::from(p < case.photos % case.people);
        let photos: Vec<Vec<u8>> = (0..mine).map(|i| day_photo(next_photo + i + 1)).collect();
        next_photo += mine;
        photo_bytes += photos.iter().map(|b| b.len() as u64).sum::<u64>();
        let name = format!("Nguyễn Thị Hồng {p}");
        collect(engine.store_mut(), &name, "244-2022", &photos);
    }
    let outbox = engine.store().outbox_pending(usize::MAX >> 1).unwrap();
    let records = outbox.len();
    let json: u64 = outbox.iter().map(|e| e.payload_json.len() as u64).sum();
    let payload = json + photo_bytes;

    let link = shaper.open(&server, case.kbit, case.faults).await;
    // The same store, its server address now the link's.
    let store = engine.into_store();
    let mut creds = store.sync_credentials().unwrap().unwrap();
    creds.server_url = link.url().to_owned();
    let mut store = store;
    store.save_sync_credentials(&creds).unwrap();
    let mut engine = SyncEngine::new(store, ServerConfig::default()).unwrap();

    let started = Instant::now();
    let mut failed_rounds = 0;
    loop {
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
                    "{}: {e:?}",
                    case.name
                );
                failed_rounds += 1;
                // The app's loop, told the connection is back, starts again
                // at once; a second is what noticing it takes.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(3 * 3600),
            "{}: not done",
            case.name
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let (up, down) = shaper.wire(&link);
    let (http_up, http_down) = link.http();
    let drops = shaper.drops(&link);
    let client = engine.counters().unwrap();
    let sent = client.evidence_bytes_sent.load(Ordering::SeqCst);
    let chunks = client.evidence_chunks.load(Ordering::SeqCst);

    // What reached the server, against what the device held.
    let stats = server.stats().await;
    let people = case.people as u64;
    let photos = case.photos as u64;
    let expected_records = [people, people, photos];
    let present = [stats.persons, stats.assessments, stats.evidence_records];
    let mut lost: u64 = expected_records
        .iter()
        .zip(present)
        .map(|(e, p)| e.saturating_sub(p))
        .sum();
    lost += photos.saturating_sub(stats.blobs_complete);
    let mut duplicated: u64 = expected_records
        .iter()
        .zip(present)
        .map(|(e, p)| p.saturating_sub(*e))
        .sum();
    duplicated += stats.blobs_complete.saturating_sub(photos);
    // A photo byte accepted twice shows as more bytes than the photos hold.
    if stats.evidence_bytes_accepted != photo_bytes {
        duplicated += 1;
    }
    // And the device, which pulled its own records back, holds each once.
    let listed = engine
        .store()
        .list_people(2025, None, case.people + 10, 0)
        .unwrap()
        .len() as u64;
    duplicated += listed.saturating_sub(people);
    lost += people.saturating_sub(listed);

    Measured {
        records,
        photos: case.photos,
        payload,
        seconds,
        wire: (up, down),
        http: (http_up, http_down),
        drops,
        chunks,
        mean_chunk: sent / chunks.max(1),
        requests: link.count(|c| &c.requests),
        connections: link.count(|c| &c.connections),
        faults: link.count(|c| &c.cuts) + link.count(|c| &c.request_resets),
        failed_rounds,
        resent: sent.saturating_sub(photo_bytes),
        lost,
        duplicated,
        link_rate: link.bytes_per_second(),
    }
}

#[allow(clippy::cast_precision_loss)]
pub fn row(case: &Case, m: &Measured) -> String {
    let goodput = m.payload as f64 / m.seconds / m.link_rate;
    let faults = if m.faults == 0 {
        "0".to_owned()
    } else {
        format!(
            "{} ({} failed rounds); {:.1} KB re-sent, {:.1} KB a fault",
            m.faults,
            m.failed_rounds,
            m.resent as f64 / 1000.0,
            m.resent as f64 / 1000.0 / m.faults as f64
        )
    };
    format!(
        "| {} | {} / {} ({:.2} MB) | {:.0} s | **{:.0} %** | **{:.3}** | {:.3} | {:.2} | {} | **{}** | **{}** |",
        case.name,
        case.people,
        m.photos,
        m.payload as f64 / 1e6,
        m.seconds,
        goodput * 100.0,
        (m.wire.0 + m.wire.1) as f64 / m.payload as f64,
        (m.http.0 + m.http.1) as f64 / m.payload as f64,
        m.requests as f64 / m.records as f64,
        faults,
        m.lost,
        m.duplicated,
    )
}

/// Where the bytes went: each direction on the wire and at the relay, and
/// the photo chunks.
#[allow(clippy::cast_precision_loss)]
pub fn detail(case: &Case, m: &Measured) -> String {
    let p = m.payload as f64;
    format!(
        "| {} | {:.3} / {:.3} | {:.3} / {:.3} | {} / {} | {} | {:.1} KB | {} | {} |",
        case.name,
        m.wire.0 as f64 / p,
        m.wire.1 as f64 / p,
        m.http.0 as f64 / p,
        m.http.1 as f64 / p,
        m.drops.0,
        m.drops.1,
        m.chunks,
        m.mean_chunk as f64 / 1000.0,
        m.requests,
        m.connections,
    )
}
