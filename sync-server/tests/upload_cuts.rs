#![allow(clippy::unwrap_used)]
//! A photo's upload cut at the worst moments: around and after the last byte
//! of its final chunk (a raw HTTP request closed by RST or FIN at each
//! offset and each millisecond of that window), and a link reset every
//! second while it runs at a fixed rate. Every photo ends complete, no byte
//! is accepted twice, and what a cut costs is what was in flight.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{AckOutcome, DeviceState};
use cdht_sync_client::{sha256_hex, SyncClient};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PASSING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];

/// Pushes a person, an assessment and one evidence record per photo.
async fn announce(device: &SyncClient, seq: u64, photos: &[Vec<u8>]) {
    let (pid, body) = person("Lò Văn Páo", None);
    let aid = AssessmentId::new_v7();
    let mut records = vec![
        v1(body),
        v1(assessment(aid, pid, DeviceState::Submitted, PASSING)),
    ];
    records.extend(photos.iter().map(|p| v1(evidence(aid, p))));
    for chunk in records.chunks(200).enumerate() {
        let acks = device
            .push(&batch(seq + chunk.0 as u64, chunk.1.to_vec()))
            .await
            .unwrap()
            .acks;
        assert!(acks.iter().all(|a| a.outcome == AckOutcome::Accepted));
    }
}

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
    announce(&device, 1, &photos).await;

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
    let parts = server.state.config.data_dir.join("blobs/parts");
    let left: Vec<_> = walk(&parts);
    assert!(left.is_empty(), "pieces left behind: {left:?}");
    // The cut requests delivered most bytes: resuming re-sent far less
    // than the photos hold.
    assert!(resent < (size * photos.len() / 2) as u64, "{resent}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn a_photo_stuck_by_an_older_version_is_completed_at_start_up() {
    // The state an older server left: every byte counted, not complete.
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let photo_bytes = photo(77, 40_000);
    announce(&device, 1, std::slice::from_ref(&photo_bytes)).await;
    let sha = sha256_hex(&photo_bytes);
    let storage = Arc::clone(&server.state.storage);
    let blobs = Arc::clone(&server.state.blobs);
    // Stored as the old server named its pieces: by offset alone.
    blobs
        .put(
            &object_store::path::Path::from(format!("parts/{sha}/{:016}", 0)),
            photo_bytes.clone().into(),
        )
        .await
        .unwrap();
    let (s, n) = (sha.clone(), photo_bytes.len() as u64);
    tokio::task::spawn_blocking(move || assert!(storage.blob_add_chunk(&s, 0, n).unwrap()))
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
        let s = sha.clone();
        let state = tokio::task::spawn_blocking(move || storage.blob_state(&s).unwrap())
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

/// A relay that passes the device's bytes at `rate` bytes a second and
/// resets every connection each `every`: a slow link that keeps breaking.
struct ResettingLink {
    url: String,
    upstream_bytes: Arc<AtomicU64>,
    cuts: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ResettingLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ResettingLink {
    async fn start(upstream: &str, rate: u64, every: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let upstream_bytes = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicU64::new(0));
        let epoch = Arc::new(AtomicU64::new(0));
        let (bytes, cut_count, ep) = (upstream_bytes.clone(), cuts.clone(), epoch.clone());
        let task = tokio::spawn(async move {
            // The clock of the resets: every connection alive at a tick dies.
            let ticker = ep.clone();
            let counter = cut_count.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    ticker.fetch_add(1, Ordering::SeqCst);
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (bytes, ep) = (bytes.clone(), ep.clone());
                tokio::spawn(relay(client, server, rate, bytes, ep));
            }
        });
        Self {
            url,
            upstream_bytes,
            cuts,
            task,
        }
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    rate: u64,
    up: Arc<AtomicU64>,
    epoch: Arc<AtomicU64>,
) {
    let born = epoch.load(Ordering::SeqCst);
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let start = Instant::now();
    let upload = async {
        let mut buf = vec![0u8; 2048];
        let mut sent = 0u64;
        loop {
            let n = match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // Paced: never ahead of `rate` since the connection opened.
            sent += n as u64;
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            if server_w.write_all(&buf[..n]).await.is_err() {
                return;
            }
            up.fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    let download = async {
        let _ = tokio::io::copy(&mut server_r, &mut client_w).await;
    };
    let reset = async {
        while epoch.load(Ordering::SeqCst) == born {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        () = upload => {}
        () = download => {}
        () = reset => {}
    }
    // Dropped halves: both sides see the connection die (client and server
    // sockets are closed mid-request).
    let server = server_w.reunite(server_r).ok();
    let client = client_w.reunite(client_r).ok();
    for s in [server, client].into_iter().flatten() {
        #[allow(deprecated)] // a zero linger never blocks the drop
        let _ = s.set_linger(Some(Duration::ZERO));
    }
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
    announce(&device, 1, &photos).await;
    let link = ResettingLink::start(&server.url, 96_000, Duration::from_millis(1000)).await;
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
    let cuts = link.cuts.load(Ordering::SeqCst);
    let payload: u64 = photos.iter().map(|p| p.len() as u64).sum();
    let wire = link.upstream_bytes.load(Ordering::Relaxed);
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
