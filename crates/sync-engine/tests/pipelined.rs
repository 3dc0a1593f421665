#![allow(clippy::unwrap_used)]
//! Photos go two at a time: on a slow link one photo's bytes travel while the
//! other waits for its answer. Seen from the link: exactly two connections
//! carry uploads at once (the client reuses a connection when it is free, so
//! one photo at a time would never need a second), and every byte still
//! arrives exactly once.

mod support;

use cdht_store::Store;
use cdht_sync_engine::SyncEngine;
use cdht_test_support::relay::PacedRelay;
use std::sync::atomic::Ordering;
use support::*;

#[tokio::test]
async fn two_photos_upload_at_once_and_each_byte_arrives_once() {
    let server = start().await;
    let link = PacedRelay::start(&server.url, 400_000, None).await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
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
    assert_eq!(link.counters.most_open.load(Ordering::SeqCst), 2);
    // The store knows each photo is done: a second round sends nothing.
    let again = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!((again.photos_uploaded, again.uploaded_bytes), (0, 0));
}
