#![allow(clippy::unwrap_used)]
//! Evidence photos in an S3-compatible bucket (issue 15, item 3): the real
//! server with `BlobsAt::S3` against a real S3-compatible server (moto in
//! server mode, installed by `scripts/setup.sh` as `cdht-moto-server`).
//! A chunked upload cut half-way resumes; the finished photo is one object
//! under the bucket's prefix, its pieces are gone, it downloads whole, and
//! nothing is written to the data directory's `blobs/`.

mod support;

use cdht_server::BlobsAt;
use cdht_sync_client::sha256_hex;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::time::{Duration, Instant};
use support::moto::Moto;
use support::*;

const BUCKET: &str = support::moto::BUCKET;

async fn keys_under(store: &impl ObjectStore, prefix: &str) -> Vec<String> {
    store
        .list(Some(&ObjectPath::from(prefix)))
        .map(|meta| meta.unwrap().location.to_string())
        .collect()
        .await
}

#[tokio::test]
async fn photos_go_to_the_bucket_resume_after_a_cut_and_download_whole() {
    let moto = Moto::start();
    // moto takes an unsigned CreateBucket.
    let created = reqwest::Client::new()
        .put(format!("{}/{BUCKET}", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{created:?}");

    let options = moto.options();
    let server = start_with(|c| {
        c.blobs = BlobsAt::S3 {
            url: format!("s3://{BUCKET}/province-x"),
            options,
        };
    })
    .await;
    cdht_server::blobs::check_reachable(server.state.blobs.as_ref())
        .await
        .unwrap();
    let device = server.device("DEMO-X1-C1").await;

    let photos: Vec<Vec<u8>> = (0..3).map(|i| photo(500 + i, 300_000)).collect();
    announce_photos(&device, 1, "Giàng A Pao", &photos).await;

    // The first photo: a raw PUT that declares a 200,000-byte chunk, sends
    // half of it and is cut.
    let first = &photos[0];
    {
        use tokio::io::AsyncWriteExt;
        let addr = server.url.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "PUT /api/v1/evidence/{}?offset=0 HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer {}\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {}\r\n\r\n",
            sha256_hex(first),
            device.token().unwrap(),
            200_000
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&first[..100_000]).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let kept = loop {
        let status = device.evidence_status(&[sha256_hex(first)]).await.unwrap();
        if status[0].received > 0 || Instant::now() > deadline {
            break status[0].received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(kept, 100_000, "the cut half was kept");
    let pieces = keys_under(&moto.bucket(), "province-x/uploads").await;
    assert_eq!(pieces.len(), 1, "the cut half is one object: {pieces:?}");

    let mut sent = 0;
    for photo in &photos {
        sent += device.upload_evidence(photo).await.unwrap().bytes_sent;
    }
    let total: u64 = photos.iter().map(|p| p.len() as u64).sum();
    assert_eq!(sent, total - kept, "resumed from the kept half");

    let stats = server.stats().await;
    assert_eq!(stats.blobs_complete, 3);
    assert_eq!(stats.evidence_bytes_accepted, total, "no byte kept twice");
    // Each photo is one object under the prefix; no piece is left.
    let bucket = moto.bucket();
    let mut finished = keys_under(&bucket, "province-x/evidence").await;
    finished.sort();
    let mut want: Vec<String> = photos
        .iter()
        .map(|p| {
            let sha = sha256_hex(p);
            format!("province-x/evidence/{}/{sha}.jpg", &sha[..2])
        })
        .collect();
    want.sort();
    assert_eq!(finished, want);
    assert!(keys_under(&bucket, "province-x/uploads").await.is_empty());
    for photo in &photos {
        let sha = sha256_hex(photo);
        let key = ObjectPath::from(format!("province-x/evidence/{}/{sha}.jpg", &sha[..2]));
        let stored = bucket.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(&stored[..], &photo[..]);
        // And through the server, as the dashboard and devices fetch it.
        let fetched = device.download_evidence(&sha).await.unwrap();
        assert_eq!(&fetched[..], &photo[..]);
    }
    // Nothing went to the data directory.
    let local = server.state.config.data_dir.join("blobs");
    let files = std::fs::read_dir(&local).map_or(0, |d| d.count());
    assert_eq!(files, 0, "photos written to {local:?}");
}

#[tokio::test]
async fn a_wrong_bucket_is_reported_when_the_server_starts() {
    let moto = Moto::start();
    let options = moto.options();
    let dir = tempfile::tempdir().unwrap();
    let mut config = cdht_server::Config::new(dir.path().to_path_buf());
    config.blobs = BlobsAt::S3 {
        url: "s3://no-such-bucket/x".to_owned(),
        options,
    };
    let state = cdht_server::AppState::open(config).unwrap();
    let err = cdht_server::blobs::check_reachable(state.blobs.as_ref())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    // And a URL that is not s3://bucket is refused with the way to write it.
    let mut config = cdht_server::Config::new(dir.path().join("other"));
    config.blobs = BlobsAt::S3 {
        url: "https://bucket".to_owned(),
        options: Vec::new(),
    };
    let err = cdht_server::AppState::open(config).err().unwrap();
    assert!(err.to_string().contains("s3://bucket"), "{err}");
}
