#![allow(clippy::unwrap_used)]
//! A photo's upload cut at the worst moments: around and after the last byte
//! of its final chunk (a raw HTTP request closed by RST or FIN at each
//! offset and each millisecond of that window), and a link reset every
//! second while it runs at a fixed rate. Every photo ends complete, no byte
//! is accepted twice, and what a cut costs is what was in flight.

mod support;

use cdht_server::storage::UploadKey;
use cdht_sync_client::{sha256_hex, SyncClient};
use cdht_test_support::relay::PacedRelay;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy)]
enum Close {
    /// RST: the socket dropped with SO_LINGER 0.
    Reset,
    /// FIN: an orderly close right after the bytes.
    Fin,
}

/// Sends `PUT ?offset=0` declaring the whole photo, writes the first `sent`
/// bytes of it, waits `after`, then closes without reading the answer.
async fn put_and_cut(
    url: &str,
    token: &str,
    photo: &[u8],
    sent: usize,
    after: Duration,
    how: Close,
) {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let sha = sha256_hex(photo);
    let head = format!(
        "PUT /api/v1/evidence/{sha}?offset=0 HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        photo.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&photo[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    if !after.is_zero() {
        tokio::time::sleep(after).await;
    }
    match how {
        Close::Reset => {
            // Deprecated for blocking on drop, which a zero linger never does.
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO)).unwrap();
            drop(stream);
        }
        Close::Fin => {
            let _ = stream.shutdown().await;
            drop(stream);
        }
    }
}

#[tokio::test]
async fn a_cut_at_any_moment_around_the_last_byte_never_leaves_a_photo_stuck() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let token = device.token().unwrap().to_owned();

    // Each case cuts one photo's only chunk: at each of the last 8 bytes
    // (the request is short of its end), then with every byte sent and the
    // close 0..=15 ms later, by RST and by FIN.
    let mut cases: Vec<(usize, Duration, Close)> = Vec::new();
    let size = 9_000;
    for short in 1..=8 {
        cases.push((size - short, Duration::ZERO, Close::Reset));
        cases.push((size - short, Duration::ZERO, Close::Fin));
    }
    for ms in 0..=15 {
        cases.push((size, Duration::from_millis(ms), Close::Reset));
        cases.push((size, Duration::from_millis(ms), Close::Fin));
    }
    let photos: Vec<Vec<u8>> = (0..cases.len())
        .map(|i| photo(1000 + i as u64, size))
        .collect();
    announce_photos(&device, 1, "Lò Văn Páo", &photos).await;

    for (photo, (sent, after, how)) in photos.iter().zip(&cases) {
        put_and_cut(&server.url, &token, photo, *sent, *after, *how).await;
    }
    // Whatever the server made of each cut, a resuming client finishes every
    // photo, sending at most what the server did not keep.
    let mut resent = 0u64;
    for (photo, case) in photos.iter().zip(&cases) {
        let report = device.upload_evidence(photo).await.unwrap_or_else(|e| {
            panic!("photo cut as {case:?} could not be resumed: {e}");
        });
        resent += report.bytes_sent;
        let sha = sha256_hex(photo);
        let status = device.evidence_status(&[sha]).await.unwrap();
        assert!(status[0].complete, "{case:?}: {:?}", status[0]);
    }
    let stats = server.stats().await;
    assert_eq!(stats.blobs_complete, photos.len() as u64);
    // No byte was kept twice, whichever way each cut fell.
    assert_eq!(stats.evidence_bytes_accepted, (size * photos.len()) as u64);
    // Each photo is stored whole under its hash, and nothing is left over.
    for photo in &photos {
        let sha = sha256_hex(photo);
        let stored = server
            .state
            .config
            .data_dir
            .join(format!("blobs/evidence/{}/{sha}.jpg", &sha[..2]));
        assert_eq!(&std::fs::read(stored).unwrap(), photo);
    }
    let parts = server.state.config.data_dir.join("blobs/uploads");
    let left: Vec<_> = files_under(&parts);
    assert!(left.is_empty(), "pieces left behind: {left:?}");
    // The cut requests delivered most bytes: resuming re-sent far less
    // than the photos hold.
    assert!(resent < (size * photos.len() / 2) as u64, "{resent}");
}

#[tokio::test]
async fn a_photo_stuck_by_an_older_version_is_completed_at_start_up() {
    // The state an older server left: every byte counted, not complete.
    let server = start().await;
    let (device, device_id) = server.device_and_id("DEMO-X1-C1").await;
    let photo_bytes = photo(77, 40_000);
    announce_photos(&device, 1, "Lò Văn Páo", std::slice::from_ref(&photo_bytes)).await;
    let sha = sha256_hex(&photo_bytes);
    let key = UploadKey::new(&device_id.to_string(), &sha);
    let storage = Arc::clone(&server.state.storage);
    let blobs = Arc::clone(&server.state.blobs);
    // Stored as an old server named its pieces: by offset alone.
    blobs
        .put(
            &object_store::path::Path::from(format!("uploads/{}/{sha}/{:016}", key.device, 0)),
            photo_bytes.clone().into(),
        )
        .await
        .unwrap();
    let (k, n) = (key.clone(), photo_bytes.len() as u64);
    tokio::task::spawn_blocking(move || assert!(storage.upload_add_chunk(&k, 0, n).unwrap()))
        .await
        .unwrap();

    // A new server on the same data folder repairs it before anyone asks.
    let data_dir = server.state.config.data_dir.clone();
    let reopened = cdht_server::AppState::open(cdht_server::Config::new(data_dir)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let task = tokio::spawn(cdht_server::serve(reopened.clone(), listener));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let storage = Arc::clone(&reopened.storage);
        let k = key.clone();
        let state = tokio::task::spawn_blocking(move || storage.upload_progress(&k).unwrap())
            .await
            .unwrap()
            .unwrap();
        if state.complete {
            break;
        }
        assert!(Instant::now() < deadline, "not repaired: {state:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    // And the device, asking, has nothing to send.
    let report = device.upload_evidence(&photo_bytes).await.unwrap();
    assert_eq!(report.bytes_sent, 0);
}

#[tokio::test]
async fn resets_every_second_on_a_slow_link_cost_only_what_was_in_flight() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    // Phone photos of 120–160 KB, each one chunk for this client (the link
    // is fast enough for 256 KiB in four seconds): a server that kept only
    // whole chunks would never finish one, since each needs more than a
    // second of a 96 KB/s link and the link resets every second.
    let photos: Vec<Vec<u8>> = (0..5)
        .map(|i| photo(500 + i, 120_000 + 10_000 * i as usize))
        .collect();
    announce_photos(&device, 1, "Lò Văn Páo", &photos).await;
    let link = PacedRelay::start(&server.url, 96_000, Some(Duration::from_millis(1000))).await;
    let phone = SyncClient::new(&link.url, &[])
        .unwrap()
        .with_token(device.token().unwrap().to_owned())
        .with_retry(cdht_sync_client::RetryPolicy {
            max_attempts: 200,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
        });
    for p in &photos {
        phone.upload_evidence(p).await.unwrap();
    }
    let cuts = link.counters.resets.load(Ordering::SeqCst);
    let payload: u64 = photos.iter().map(|p| p.len() as u64).sum();
    let wire = link.counters.upstream_bytes.load(Ordering::Relaxed);
    let requests = phone.counters().requests.load(Ordering::Relaxed);
    let stats = server.stats().await;
    assert_eq!(stats.blobs_complete, photos.len() as u64);
    assert_eq!(stats.evidence_bytes_accepted, payload);
    // Re-sent: what reached the server beyond the photos and the requests'
    // own heads and status bodies (under 600 bytes each).
    let resent = wire.saturating_sub(payload + requests * 600);
    let goodput = payload as f64 / wire as f64;
    eprintln!(
        "payload {payload} B, upstream {wire} B, {requests} requests, {cuts} resets, \
         re-sent ≤ {resent} B, goodput {goodput:.3}"
    );
    assert!(
        cuts >= 5,
        "the link must have reset during the uploads: {cuts}"
    );
    // At most one small chunk (16 KiB) per reset is sent twice.
    assert!(
        resent <= cuts * 16 * 1024,
        "re-sent {resent} B over {cuts} resets"
    );
    assert!(goodput >= 0.85, "goodput {goodput:.3}");
}
