#![allow(clippy::unwrap_used)]
//! `cdht-server migrate-storage` (issue 15, item 6): the demo server with a
//! phone's and a collector's households is stopped, moved to a new data
//! directory with its photos in an S3-compatible bucket (moto), and started
//! again from there at the same address. The devices keep syncing with the
//! tokens, push sequence and pull cursors they had: the phone pushes a new
//! household, the collector pulls only what is new, and the server holds
//! everything once.
#![cfg(target_os = "linux")]

mod support;

use cdht_core::ids::UnitCode;
use cdht_core::qr::JoinPayload;
use cdht_server::storage::Storage;
use cdht_store::Store;
use cdht_sync_engine::{ServerConfig, SyncEngine, SyncReport};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::collections::BTreeMap;
use std::path::Path;
use support::households::{collect, Ledger, PHOTOS_PER_ROUND};
use support::moto::{Moto, BUCKET};
use support::serve_process::{binary, free_port, init_demo, join_key, officer, ServeProcess};

const UNIT: &str = "DEMO-X1-C1";

async fn sync(dir: &Path) -> SyncReport {
    let mut engine = SyncEngine::new(
        Store::open_with_key_file(dir).unwrap(),
        ServerConfig::default(),
    )
    .unwrap();
    engine.sync_once(|_| {}).await.unwrap()
}

/// Where the server moves.
enum To {
    Folder,
    Postgres(String),
}

async fn a_moved_server_keeps_its_devices_syncing(to: To) {
    let moto = Moto::start();
    moto.create_bucket().await;
    let root = tempfile::tempdir().unwrap();
    let old = root.path().join("old");
    let tree = init_demo(&old, &[]);
    let port = free_port();
    let server = ServeProcess::start(&old, port, |_| {});

    // A phone and the collector's device, each with households.
    let (phone, collector) = (root.path().join("phone"), root.path().join("collector"));
    for dir in [&phone, &collector] {
        std::fs::create_dir_all(dir).unwrap();
        let mut engine = SyncEngine::new(
            Store::open_with_key_file(dir).unwrap(),
            ServerConfig::default(),
        )
        .unwrap();
        engine
            .enrol(&JoinPayload {
                server: server.url.clone(),
                unit: UnitCode::new(UNIT),
                join_key: join_key(&tree, UNIT),
            })
            .await
            .unwrap();
        if dir == &collector {
            let (user, password) = officer(&tree, "collector", UNIT);
            engine.bind_officer(user, password).await.unwrap();
        }
    }
    let mut ledger = Ledger::default();
    for round in 0..2 {
        collect(&phone, UNIT, round, &mut ledger);
        collect(&collector, UNIT, 100 + round, &mut ledger);
    }
    sync(&phone).await;
    sync(&collector).await;
    let before = sync(&collector).await;
    assert_eq!(before.pulled_changes, 0, "the collector is up to date");
    server.stop();

    // Hashes an old server kept plain (before issue 9) are keyed before
    // anything is copied.
    let plain = "ab".repeat(32);
    {
        let db = rusqlite::Connection::open(old.join("cdht.sqlite3")).unwrap();
        db.execute("UPDATE persons SET hash = ?1", [&plain])
            .unwrap();
        db.execute("DELETE FROM settings WHERE key = 'plain_hashes_keyed'", [])
            .unwrap();
    }

    // The move: a new folder, photos to the bucket.
    let new = root.path().join("new");
    let (to_arg, serve_flags): (std::ffi::OsString, Vec<std::ffi::OsString>) = match &to {
        To::Folder => (new.clone().into(), Vec::new()),
        To::Postgres(url) => (
            url.into(),
            vec![
                "--database".into(),
                url.into(),
                "--secret-file".into(),
                old.join("secret.key").into(),
            ],
        ),
    };
    let mut command = binary();
    command
        .args(["migrate-storage", "--from"])
        .arg(&old)
        .args(["--to"])
        .arg(&to_arg)
        .args(["--blobs", &format!("s3://{BUCKET}/moved")]);
    moto.env_of(&mut command);
    let moved = command.output().unwrap();
    assert!(moved.status.success(), "{moved:?}");
    let report: serde_json::Value = serde_json::from_slice(&moved.stdout).unwrap();
    assert_eq!(report["stats"]["persons"], 4, "{report}");
    assert_eq!(report["rows"]["devices"], 2, "{report}");
    assert_eq!(report["objects"], 4 * PHOTOS_PER_ROUND, "{report}");
    // Checked before the moved server starts (which would key them too).
    if let To::Folder = to {
        let db = rusqlite::Connection::open(new.join("cdht.sqlite3")).unwrap();
        let kept_plain: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM persons WHERE hash = ?1 OR hex(hash) = upper(?1)",
                [&plain],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept_plain, 0, "a plain hash was copied");
    }
    // A second move into the same place is refused: it is not blank.
    let mut again = binary();
    again
        .args(["migrate-storage", "--from"])
        .arg(&old)
        .args(["--to"])
        .arg(&to_arg)
        .args(["--blobs", &format!("s3://{BUCKET}/moved")]);
    moto.env_of(&mut again);
    let again = again.output().unwrap();
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("error [migrate_target_not_blank]") && said.contains("cơ sở dữ liệu trống"),
        "{said}"
    );

    // The moved server at the same address.
    let server = ServeProcess::start(&new, port, |command| {
        command
            .args(["--blobs", &format!("s3://{BUCKET}/moved")])
            .args(&serve_flags);
        moto.env_of(command);
    });
    collect(&phone, UNIT, 2, &mut ledger);
    let pushed = sync(&phone).await;
    assert!(pushed.rejected.is_empty(), "{pushed:?}");
    assert_eq!(pushed.photos_uploaded, PHOTOS_PER_ROUND, "{pushed:?}");
    // The collector's cursor still holds: only the new household comes.
    let pulled = sync(&collector).await;
    assert!(
        pulled.pulled_changes > 0 && pulled.pulled_changes <= 2 + PHOTOS_PER_ROUND,
        "only what is new: {pulled:?}"
    );
    let held = Store::open_with_key_file(&collector)
        .unwrap()
        .list_people(2025, None, usize::MAX >> 1, 0)
        .unwrap();
    assert_eq!(held.len(), ledger.persons.len());
    server.stop();

    // Everything once, photos in the bucket, whole.
    // On a thread of its own: the PostgreSQL client runs a runtime.
    let stats = std::thread::scope(|s| {
        s.spawn(|| match &to {
            To::Folder => cdht_server::sqlite::SqliteStorage::open(&new)
                .unwrap()
                .stats()
                .unwrap(),
            To::Postgres(url) => cdht_server::postgres::PgStorage::open(url, 1)
                .unwrap()
                .stats()
                .unwrap(),
        })
        .join()
        .unwrap()
    });
    let households = ledger.persons.len() as u64;
    assert_eq!((stats.persons, stats.assessments), (households, households));
    assert_eq!(stats.blobs_complete, ledger.photos.len() as u64);
    let total: u64 = ledger.photos.values().map(|&b| b as u64).sum();
    assert_eq!(stats.evidence_bytes_accepted, total);
    let bucket = moto.bucket();
    let stored: BTreeMap<String, usize> = bucket
        .list(Some(&ObjectPath::from("moved/evidence")))
        .map(|meta| {
            let meta = meta.unwrap();
            let name = meta
                .location
                .filename()
                .unwrap()
                .trim_end_matches(".jpg")
                .to_owned();
            (name, meta.size as usize)
        })
        .collect()
        .await;
    assert_eq!(stored, ledger.photos);
    // The old folder is as it was: a failed move could be run again.
    assert!(old.join("cdht.sqlite3").is_file());
    if let To::Folder = to {
        assert_eq!(
            std::fs::read(old.join("secret.key")).unwrap(),
            std::fs::read(new.join("secret.key")).unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_moved_to_a_new_folder_and_a_bucket_keeps_its_devices_syncing() {
    a_moved_server_keeps_its_devices_syncing(To::Folder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_moved_to_postgres_and_a_bucket_keeps_its_devices_syncing() {
    let url = cdht_test_support::postgres::fresh_database();
    a_moved_server_keeps_its_devices_syncing(To::Postgres(url)).await;
}
