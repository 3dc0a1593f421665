#![allow(clippy::unwrap_used)]
//! Migration 8 (uploads per device) on a data folder a version-7 server
//! left: each photo is credited to the device of the oldest evidence record
//! naming it, its progress and pieces included; every other device naming
//! it uploads it itself before its records serve it.

mod support;

use cdht_server::storage::UploadKey;
use cdht_sync_client::{sha256_hex, SyncClient};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio::net::TcpListener;

/// The `blobs` table as migration 1 made it (dropped by migration 8).
const VERSION_5_BLOBS: &str = "CREATE TABLE blobs (
    sha256         TEXT PRIMARY KEY,
    size           INTEGER NOT NULL,
    received       INTEGER NOT NULL DEFAULT 0,
    accepted_bytes INTEGER NOT NULL DEFAULT 0,
    complete       INTEGER NOT NULL DEFAULT 0
)";

#[tokio::test]
async fn a_version_5_data_folder_credits_each_photo_to_its_first_announcer() {
    let server = start().await;
    let (first, first_id) = server.device_and_id("DEMO-X1-C1").await;
    let second = server.device("DEMO-X1-C1").await;
    let done = photo(41, 7000);
    let stuck = photo(42, 8000);
    let (done_sha, stuck_sha) = (sha256_hex(&done), sha256_hex(&stuck));
    announce_photos(&first, 1, "Hờ A Dình", &[done.clone(), stuck.clone()]).await;
    // A later record of another phone names the finished photo too.
    announce_photos(&second, 1, "Hờ Thị Mỷ", std::slice::from_ref(&done)).await;

    // Back to before migration 8: one upload state per photo. The first photo is
    // complete; the second has every byte, its completion cut short, its
    // piece where version 5 kept it.
    let data = server.state.config.data_dir.clone();
    {
        let conn = rusqlite::Connection::open(data.join("cdht.sqlite3")).unwrap();
        // Migration 12 (records carrying their first change) undone first,
        // then 11 (household labels) and 10 (the audit index), then 9
        // (reports), then 8.
        conn.execute_batch(support::UNDO_MIGRATION_13).unwrap();
        conn.execute_batch(support::UNDO_MIGRATION_12).unwrap();
        conn.execute_batch(
            "DROP INDEX persons_report; ALTER TABLE persons DROP COLUMN household;
             ALTER TABLE persons DROP COLUMN household_hash;
             CREATE INDEX persons_report ON persons(unit, id, birth_year, address);
             DROP INDEX audit_log_assessment;",
        )
        .unwrap();
        conn.execute_batch(
            "DROP TABLE certificates; DROP INDEX assessments_report;
             DROP INDEX assessments_queue; DROP INDEX persons_report;
             ALTER TABLE assessments DROP COLUMN points;",
        )
        .unwrap();
        conn.execute_batch(&format!(
            "DROP TABLE uploads; ALTER TABLE evidence DROP COLUMN uploader; {VERSION_5_BLOBS};
             PRAGMA user_version = 7;"
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO blobs VALUES (?1, 7000, 7000, 7000, 1), (?2, 8000, 8000, 8000, 0)",
            [&done_sha, &stuck_sha],
        )
        .unwrap();
    }
    let store: &Arc<dyn ObjectStore> = &server.state.blobs;
    store
        .put(
            &cdht_server::blobs::final_path(&done_sha),
            done.clone().into(),
        )
        .await
        .unwrap();
    store
        .put(
            &ObjectPath::from(format!("parts/{stuck_sha}/{:016}-{:08}-00", 0, 8000)),
            stuck.clone().into(),
        )
        .await
        .unwrap();

    // A new server on the folder migrates it and repairs the cut completion
    // before anyone asks.
    let reopened = cdht_server::AppState::open(cdht_server::Config::new(data.clone())).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(cdht_server::serve(reopened.clone(), listener));
    let key = UploadKey::new(&first_id.to_string(), &stuck_sha);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let storage = Arc::clone(&reopened.storage);
        let k = key.clone();
        let progress = tokio::task::spawn_blocking(move || storage.upload_progress(&k).unwrap())
            .await
            .unwrap()
            .unwrap();
        if progress.complete {
            break;
        }
        assert!(Instant::now() < deadline, "not repaired: {progress:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = |c: &SyncClient| {
        SyncClient::new(&url, &[])
            .unwrap()
            .with_token(c.token().unwrap().to_owned())
            .with_retry(fast_retry())
    };
    let (first, second) = (client(&first), client(&second));
    let http = reqwest::Client::new();
    let get = |c: &SyncClient, sha: &str| {
        http.get(format!("{url}/api/v1/evidence/{sha}"))
            .bearer_auth(c.token().unwrap().to_owned())
            .send()
    };

    // The first announcer keeps both photos and has nothing to send.
    for (bytes, sha) in [(&done, &done_sha), (&stuck, &stuck_sha)] {
        let r = get(&first, sha).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(&r.bytes().await.unwrap()[..], &bytes[..]);
        assert_eq!(first.upload_evidence(bytes).await.unwrap().bytes_sent, 0);
    }
    // The other phone's record serves the photo once it has sent it itself.
    assert_eq!(
        get(&second, &done_sha).await.unwrap().status().as_u16(),
        404
    );
    let status = second
        .evidence_status(std::slice::from_ref(&done_sha))
        .await
        .unwrap();
    assert_eq!((status[0].size, status[0].received), (7000, 0));
    assert!(!status[0].complete);
    let report = second.upload_evidence(&done).await.unwrap();
    assert_eq!(report.bytes_sent, 7000);
    assert_eq!(
        get(&second, &done_sha).await.unwrap().status().as_u16(),
        200
    );
    // Counters carried over, and no piece is left behind.
    let stats = cdht_test_support::server::stats(&reopened).await;
    assert_eq!(stats.blobs_complete, 2);
    assert_eq!(stats.evidence_bytes_accepted, 7000 + 8000 + 7000);
    let left = std::fs::read_dir(data.join("blobs/parts"))
        .map(|d| d.flatten().count())
        .unwrap_or(0);
    let left_in_photo = std::fs::read_dir(data.join(format!("blobs/parts/{stuck_sha}")))
        .map(|d| d.flatten().count())
        .unwrap_or(0);
    assert_eq!(left_in_photo, 0, "pieces left behind ({left} folders)");
    task.abort();
}
