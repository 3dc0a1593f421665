#![allow(clippy::unwrap_used)]

mod common;

use cdht_store::{latest_version, ErrorKind, Store, APPLICATION_ID, DB_FILE_NAME};
use common::*;
use rusqlite::Connection;

#[test]
fn migrates_an_empty_folder_to_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("app-data");
    let store = Store::open(&data).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    assert!(latest_version() >= 2);
    assert!(data.join(DB_FILE_NAME).is_file());
    assert!(data.join("evidence").is_dir());
    drop(store);

    let raw = Connection::open(data.join(DB_FILE_NAME)).unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let app_id: i64 = raw
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app_id, APPLICATION_ID);
    for table in [
        "device",
        "units",
        "people",
        "assessments",
        "answers",
        "evidence_files",
        "evidence",
        "outbox",
        "push_batches",
        "pull_cursors",
        "evidence_uploads",
    ] {
        let n: i64 = raw
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "table {table}");
    }
}

#[test]
fn reopening_keeps_data_and_device_id() {
    let dir = tempfile::tempdir().unwrap();
    let (device, person) = {
        let mut store = Store::open(dir.path()).unwrap();
        join_unit(&mut store);
        let person = add_person(&mut store, "Trần Thị Bình");
        (store.device_id(), person)
    };
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.device_id(), device);
    assert_eq!(store.person(person).unwrap().full_name, "Trần Thị Bình");
    assert_eq!(store.units().unwrap().len(), 1);
    assert_eq!(store.schema_version().unwrap(), latest_version());
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let too_new = latest_version() + 1;
    {
        let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        raw.pragma_update(None, "user_version", too_new).unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooNew);
    assert!(err.to_string().contains("update the app"), "{err}");
    let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, too_new, "never downgraded");
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(DB_FILE_NAME),
        b"this is not an sqlite file at all, just some text".repeat(100),
    )
    .unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
}

#[test]
fn another_apps_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        raw.execute_batch("CREATE TABLE t (x); PRAGMA user_version = 1;")
            .unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
}
