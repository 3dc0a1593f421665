#![allow(clippy::unwrap_used)]

mod common;

use cdht_store::{latest_version, DatabaseKey, ErrorKind, Store, APPLICATION_ID, DB_FILE_NAME};
use common::*;
use rusqlite::Connection;

#[test]
fn migrates_an_empty_folder_to_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("app-data");
    let store = Store::open_with_key_file(&data).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    assert!(latest_version() >= 2);
    assert!(data.join(DB_FILE_NAME).is_file());
    assert!(data.join("evidence").is_dir());
    drop(store);

    let raw = raw(&data);
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
        let mut store = Store::open_with_key_file(dir.path()).unwrap();
        join_unit(&mut store);
        let person = add_person(&mut store, "Trần Thị Bình");
        (store.device_id(), person)
    };
    let store = Store::open_with_key_file(dir.path()).unwrap();
    assert_eq!(store.device_id(), device);
    assert_eq!(store.person(person).unwrap().full_name, "Trần Thị Bình");
    assert_eq!(store.units().unwrap().len(), 1);
    assert_eq!(store.schema_version().unwrap(), latest_version());
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open_with_key_file(dir.path()).unwrap());
    let too_new = latest_version() + 1;
    {
        let raw = raw(dir.path());
        raw.pragma_update(None, "user_version", too_new).unwrap();
    }
    let err = Store::open_with_key_file(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooNew);
    assert!(err.to_string().contains("update the app"), "{err}");
    let raw = raw(dir.path());
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
    // With a key: the key does not read it (as with any damaged file).
    let key = DatabaseKey::generate().unwrap();
    let err = Store::open(dir.path(), &key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    // Without one: it may be an encrypted database whose key is lost, so no new
    // key is made over it.
    let err = Store::open_with_key_file(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyUnavailable, "{err}");
    assert!(!dir.path().join(cdht_store::KEY_FILE_NAME).exists());
    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap(),
        b"this is not an sqlite file at all, just some text".repeat(100),
        "left untouched"
    );
}

#[test]
fn another_apps_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        raw.execute_batch("CREATE TABLE t (x); PRAGMA user_version = 1;")
            .unwrap();
    }
    let before = std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap();
    let err = Store::open_with_key_file(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap(),
        before,
        "left plain and untouched"
    );
}

#[test]
fn a_schema_3_database_keeps_its_photos_on_the_device_after_migration_4() {
    let dir = tempfile::tempdir().unwrap();
    let photo = fake_jpeg(5, 3000);
    let (assessment, evidence) = {
        // Schema 3 with a person, a draft and a photo, as the app wrote them.
        let (_old_dir, mut store, a) = store_with_draft();
        let e = store
            .add_evidence(
                a.assessment_id,
                &cdht_core::ids::IndicatorId::new("1.1"),
                &photo,
                &jpeg_meta(),
            )
            .unwrap();
        (a.assessment_id, e)
    };
    {
        let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        for sql in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_lock_reviewed_answers.sql"),
            include_str!("../migrations/0003_unit_name_known.sql"),
        ] {
            raw.execute_batch(sql).unwrap();
        }
        raw.execute_batch(&format!(
            "INSERT INTO device (singleton, device_id, created_at_ms)
                 VALUES (1, '0190d3c2-7a9b-7cde-8f01-23456789abcd', 1);
             INSERT INTO units (unit_code, name, server_url, join_payload, joined_at_ms, area_type)
                 VALUES ('HD-TK-001', 'Chi hội', 'https://x.vn', '{{}}', 1, 'normal');
             INSERT INTO people (person_id, unit_code, full_name, name_folded, created_at_ms,
                 updated_at_ms)
                 VALUES ('0190d3c2-7a9b-7cde-8f01-000000000001', 'HD-TK-001', 'An', 'an', 1, 1);
             INSERT INTO assessments (assessment_id, person_id, year, catalog_id, group_id,
                 area_type, created_at_ms, updated_at_ms)
                 VALUES ('{assessment}', '0190d3c2-7a9b-7cde-8f01-000000000001', 2025,
                     '324-2023', 'residents', 'normal', 1, 1);
             INSERT INTO evidence_files (sha256, mime, byte_size, created_at_ms)
                 VALUES ('{sha}', 'image/jpeg', {size}, 1);
             INSERT INTO evidence (evidence_id, assessment_id, indicator_id, sha256,
                 created_at_ms)
                 VALUES ('{id}', '{assessment}', '1.1', '{sha}', 1);
             PRAGMA user_version = 3;",
            sha = evidence.sha256,
            size = photo.len(),
            id = evidence.evidence_id,
        ))
        .unwrap();
    }
    let store = Store::open_with_key_file(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    let migrated = store.evidence(evidence.evidence_id).unwrap();
    assert!(migrated.on_device);
    let person = store
        .person("0190d3c2-7a9b-7cde-8f01-000000000001".parse().unwrap())
        .unwrap();
    assert!(!person.server_has_cccd);
    assert_eq!(person.server_unit_code, None);
    assert_eq!(store.sync_credentials().unwrap(), None);
    assert!(store.catalogs().unwrap().is_empty());
    assert!(store.parked_uploads().unwrap().is_empty());
}

#[test]
fn migration_6_counts_returned_and_pulled_drafts_as_possibly_edited() {
    let dir = tempfile::tempdir().unwrap();
    {
        let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        for sql in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_lock_reviewed_answers.sql"),
            include_str!("../migrations/0003_unit_name_known.sql"),
            include_str!("../migrations/0004_pulled_records.sql"),
            include_str!("../migrations/0005_refusal_resolved_by_pull.sql"),
        ] {
            raw.execute_batch(sql).unwrap();
        }
        raw.execute_batch(&format!(
            "INSERT INTO device (singleton, device_id, created_at_ms)
                 VALUES (1, '0190d3c2-7a9b-7cde-8f01-23456789abcd', 1);
             INSERT INTO units (unit_code, name, server_url, join_payload, joined_at_ms, area_type)
                 VALUES ('HD-TK-001', 'Chi hội', 'https://x.vn', '{{}}', 1, 'normal');
             INSERT INTO people (person_id, unit_code, full_name, name_folded, created_at_ms,
                 updated_at_ms)
                 VALUES ('0190d3c2-7a9b-7cde-8f01-000000000001', 'HD-TK-001', 'An', 'an', 1, 1);
             INSERT INTO assessments (assessment_id, person_id, year, catalog_id, group_id,
                 area_type, status, return_reason, revision, sync_version, created_at_ms,
                 updated_at_ms)
                 VALUES
                 ('{returned}', '0190d3c2-7a9b-7cde-8f01-000000000001', 2023, '324-2023',
                     'residents', 'normal', 'returned', 'Thiếu ảnh', 6, 1, 1, 1),
                 ('{pulled}', '0190d3c2-7a9b-7cde-8f01-000000000001', 2024, '324-2023',
                     'residents', 'normal', 'draft', NULL, 3, 2, 1, 1),
                 ('{submitted}', '0190d3c2-7a9b-7cde-8f01-000000000001', 2025, '324-2023',
                     'residents', 'normal', 'submitted', NULL, 7, 1, 1, 1),
                 ('{local}', '0190d3c2-7a9b-7cde-8f01-000000000001', 2026, '324-2023',
                     'residents', 'normal', 'draft', NULL, 4, 0, 1, 1);
             PRAGMA user_version = 5;",
            returned = "0190d3c2-7a9b-7cde-8f01-0000000000a1",
            pulled = "0190d3c2-7a9b-7cde-8f01-0000000000a2",
            submitted = "0190d3c2-7a9b-7cde-8f01-0000000000a3",
            local = "0190d3c2-7a9b-7cde-8f01-0000000000a4",
        ))
        .unwrap();
    }
    let store = Store::open_with_key_file(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    let raw = raw(dir.path());
    let edited: Vec<(i32, bool)> = raw
        .prepare("SELECT year, revision <> synced_revision FROM assessments ORDER BY year")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    // Returned and pulled draft: maybe edited here. Submitted: frozen in the
    // outbox. Never queued: nothing on the server to replace it.
    assert_eq!(
        edited,
        vec![(2023, true), (2024, true), (2025, false), (2026, false)]
    );
}
