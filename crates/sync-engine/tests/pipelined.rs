#![allow(clippy::unwrap_used)]
//! Photos go two at a time: on a slow link one photo's bytes travel while the
//! other waits for its answer. Seen from the link: exactly two connections
//! carry uploads at once (the client reuses a connection when it is free, so
//! one photo at a time would never need a second), and every byte still
//! arrives exactly once.

mod support;

use cdht_sync_engine::SyncEngine;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A relay at `rate` bytes a second towards the server that counts the
/// connections open at once.
struct CountingLink {
    url: String,
    most_open: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingLink {
    async fn start(upstream: &str, rate: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let open = Arc::new(AtomicU64::new(0));
        let most_open = Arc::new(AtomicU64::new(0));
        let (o, m) = (open.clone(), most_open.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    relay(client, server, rate).await;
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            url,
            most_open,
            task,
        }
    }
}

async fn relay(client: TcpStream, server: TcpStream, rate: u64) {
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let upload = async {
        let start = Instant::now();
        let mut buf = vec![0u8; 4096];
        let mut sent = 0u64;
        while let Ok(n) = client_r.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sent += n as u64;
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            if server_w.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let download = async {
        let _ = tokio::io::copy(&mut server_r, &mut client_w).await;
    };
    tokio::select! {
        () = upload => {}
        () = download => {}
    }
}

#[tokio::test]
async fn two_photos_upload_at_once_and_each_byte_arrives_once() {
    let server = start().await;
    let link = CountingLink::start(&server.url, 400_000).await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine = SyncEngine::open(dir.path(), config()).unwrap();
    let qr = server.qr_url(UNIT).replacen(&server.url, &link.url, 1);
    engine.enrol_from_qr(&qr).await.unwrap();
    let photos: Vec<Vec<u8>> = (0..6).map(|i| photo(300 + i, 90_000)).collect();
    collect(engine.store_mut(), "Cà Thị Xuân", "244-2022", &photos);
    let report = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.photos_uploaded, 6, "{report:?}");
    assert_eq!(report.uploaded_bytes, 6 * 90_000);
    let stats = server.stats().await;
    assert_eq!(stats.blobs_complete, 6);
    assert_eq!(stats.evidence_bytes_accepted, 6 * 90_000);
    assert_eq!(link.most_open.load(Ordering::SeqCst), 2);
    // The store knows each photo is done: a second round sends nothing.
    let again = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!((again.photos_uploaded, again.uploaded_bytes), (0, 0));
}
