//! The database is encrypted at rest: a plain database written by the previous
//! version (the fixture, see `fixtures/README.md`) is encrypted on its first
//! open with nothing lost, a crash during that leaves nothing half done, and
//! the file cannot be read without the key.
#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::{AssessmentId, EvidenceId, PersonId};
use cdht_store::{
    latest_version, DatabaseFile, DatabaseKey, ErrorKind, KeyFile, KeyStore, Store, DB_FILE_NAME,
    ENCRYPTING_SUFFIX, KEY_FILE_NAME,
};
use common::*;
use rusqlite::types::Value;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// The two consented CCCDs the fixture holds (in its WAL, as a killed app leaves them).
const FIXTURE_CCCDS: [&str; 2] = ["001085012345", "036190004321"];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plain-schema-6")
}

/// A copy of the fixture's data folder (database, WAL and evidence photos).
fn copy_fixture(to: &Path) {
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    copy_tree(&fixture_dir(), to);
}

/// Every row of every table, as sorted text: what "nothing lost" compares.
fn dump(conn: &Connection) -> Vec<(String, Vec<String>)> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns = statement.column_count();
            let mut rows: Vec<String> = statement
                .query_map([], |row| {
                    let values: Vec<Value> = (0..columns)
                        .map(|i| row.get::<_, Value>(i))
                        .collect::<rusqlite::Result<_>>()?;
                    Ok(format!("{values:?}"))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            rows.sort();
            (table, rows)
        })
        .collect()
}

/// The fixture as the previous version reads it: a plain connection on a
/// second copy (so the copy under test is not touched).
fn fixture_rows() -> (Vec<(String, Vec<String>)>, i64) {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let plain = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
    let version = plain
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    (dump(&plain), version)
}

fn files_of(data_dir: &Path) -> Vec<PathBuf> {
    [
        "".to_owned(),
        "-wal".to_owned(),
        "-shm".to_owned(),
        ENCRYPTING_SUFFIX.to_owned(),
    ]
    .iter()
    .map(|suffix| data_dir.join(format!("{DB_FILE_NAME}{suffix}")))
    .filter(|path| path.exists())
    .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// No database file of `data_dir` holds any of `secrets` in clear, and the
/// main file does not even say it is SQLite.
fn assert_encrypted_on_disk(data_dir: &Path, secrets: &[&str]) {
    let main = std::fs::read(data_dir.join(DB_FILE_NAME)).unwrap();
    assert!(main.len() >= 4096, "a real database file");
    assert!(
        !main.starts_with(b"SQLite format 3"),
        "the file says it is plain SQLite"
    );
    assert_eq!(
        DatabaseFile::of_data_dir(data_dir).unwrap(),
        DatabaseFile::Encrypted
    );
    for path in files_of(data_dir) {
        let bytes = std::fs::read(&path).unwrap();
        for secret in secrets {
            assert!(
                !contains(&bytes, secret),
                "{secret} in clear in {}",
                path.display()
            );
        }
    }
}

#[test]
fn the_fixture_is_a_plain_database_with_cccds_in_clear() {
    // Guards the other tests: they prove a change only if the input was plain.
    let dir = fixture_dir();
    assert_eq!(
        DatabaseFile::of_data_dir(&dir).unwrap(),
        DatabaseFile::Plain
    );
    let wal = std::fs::read(dir.join(format!("{DB_FILE_NAME}-wal"))).unwrap();
    for cccd in FIXTURE_CCCDS {
        assert!(contains(&wal, cccd), "{cccd}");
    }
}

#[test]
fn a_plain_database_of_the_previous_version_opens_encrypted_with_nothing_lost() {
    let (expected, version) = fixture_rows();
    assert_eq!(version, latest_version());
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let key = DatabaseKey::generate().unwrap();

    let mut store = Store::open(dir.path(), &key).unwrap();
    // Every row of every table, bit for bit.
    let conn = cdht_store::open_connection(&dir.path().join(DB_FILE_NAME), &key).unwrap();
    assert_eq!(dump(&conn), expected);
    drop(conn);
    // And through the store, as the app reads them.
    let people = store.list_people(YEAR, None, 10, 0).unwrap();
    assert_eq!(people.len(), 2);
    let mut cccds: Vec<String> = people
        .iter()
        .map(|item| store.person_cccd(item.person_id).unwrap().unwrap())
        .collect();
    cccds.sort();
    assert_eq!(cccds, FIXTURE_CCCDS);
    let evidence_id: EvidenceId = {
        let conn = cdht_store::open_connection(&dir.path().join(DB_FILE_NAME), &key).unwrap();
        let id: String = conn
            .query_row("SELECT evidence_id FROM evidence", [], |r| r.get(0))
            .unwrap();
        id.parse().unwrap()
    };
    let evidence = store.evidence(evidence_id).unwrap();
    assert!(evidence.on_device);
    assert!(store.evidence_path(&evidence.sha256).is_file());
    let detail = store.assessment_detail(evidence.assessment_id).unwrap();
    assert_eq!(
        detail.answers.get("1.1"),
        Some(&cdht_core::Answer::Points(4))
    );
    assert!(detail.answers.get("1.2").is_some());
    assert!(!store
        .open_push_batch(200)
        .unwrap()
        .unwrap()
        .entries
        .is_empty());

    // A CCCD saved after the upgrade goes into the encrypted WAL, not in clear.
    let new_person: PersonId = add_person(&mut store, "Lê Văn Cường");
    store
        .upsert_person(&cdht_store::PersonInput {
            person_id: Some(new_person),
            full_name: "Lê Văn Cường".to_owned(),
            unit_code: Some(unit_code()),
            cccd: cdht_store::CccdUpdate::Set {
                number: "079200009999".to_owned(),
                consent_given: true,
            },
            ..cdht_store::PersonInput::default()
        })
        .unwrap();
    assert!(dir.path().join(format!("{DB_FILE_NAME}-wal")).exists());
    assert_encrypted_on_disk(
        dir.path(),
        &[FIXTURE_CCCDS[0], FIXTURE_CCCDS[1], "079200009999"],
    );
    drop(store);
    assert_encrypted_on_disk(
        dir.path(),
        &[FIXTURE_CCCDS[0], FIXTURE_CCCDS[1], "079200009999"],
    );

    // Opens again with the key, and only with it.
    let store = Store::open(dir.path(), &key).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    assert_eq!(
        store.person_cccd(new_person).unwrap().as_deref(),
        Some("079200009999")
    );
    drop(store);
    let without_key = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
    let err = without_key
        .query_row("SELECT count(*) FROM people", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase),
        "{err}"
    );
    drop(without_key);
    let other_key = DatabaseKey::generate().unwrap();
    let err = Store::open(dir.path(), &other_key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    // Refusing it changed nothing.
    assert!(Store::open(dir.path(), &key).is_ok());
}

#[test]
fn a_half_made_encrypted_copy_left_by_a_crash_is_discarded_and_encryption_runs_again() {
    let (expected, _) = fixture_rows();
    let key = DatabaseKey::generate().unwrap();
    // The start of a real encrypted copy, as a crash mid-export leaves it.
    let half_made = {
        let other = tempfile::tempdir().unwrap();
        copy_fixture(other.path());
        drop(Store::open(other.path(), &key).unwrap());
        let whole = std::fs::read(other.path().join(DB_FILE_NAME)).unwrap();
        whole[..whole.len() / 2].to_vec()
    };
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    let copy = dir
        .path()
        .join(format!("{DB_FILE_NAME}{ENCRYPTING_SUFFIX}"));
    std::fs::write(&copy, &half_made).unwrap();
    std::fs::write(
        dir.path()
            .join(format!("{DB_FILE_NAME}{ENCRYPTING_SUFFIX}-journal")),
        b"half a journal",
    )
    .unwrap();

    let store = Store::open(dir.path(), &key).unwrap();
    assert!(!copy.exists(), "the leftover copy was replaced");
    assert!(!dir
        .path()
        .join(format!("{DB_FILE_NAME}{ENCRYPTING_SUFFIX}-journal"))
        .exists());
    drop(store);
    let conn = cdht_store::open_connection(&dir.path().join(DB_FILE_NAME), &key).unwrap();
    assert_eq!(dump(&conn), expected);
    assert_encrypted_on_disk(dir.path(), &FIXTURE_CCCDS);
}

#[test]
fn a_plain_database_of_every_schema_version_is_encrypted_and_migrated() {
    let migrations = [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_lock_reviewed_answers.sql"),
        include_str!("../migrations/0003_unit_name_known.sql"),
        include_str!("../migrations/0004_pulled_records.sql"),
        include_str!("../migrations/0005_refusal_resolved_by_pull.sql"),
        include_str!("../migrations/0006_replaced_local_answers.sql"),
    ];
    assert_eq!(
        i64::try_from(migrations.len()).unwrap(),
        latest_version(),
        "a new migration: add it here"
    );
    let person = "0190d3c2-7a9b-7cde-8f01-000000000001";
    let assessment = "0190d3c2-7a9b-7cde-8f01-0000000000a1";
    for version in 1..=migrations.len() {
        let dir = tempfile::tempdir().unwrap();
        {
            // As the app of that version left it: plain, in WAL mode.
            let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
            raw.pragma_update(None, "journal_mode", "WAL").unwrap();
            for sql in &migrations[..version] {
                raw.execute_batch(sql).unwrap();
            }
            raw.execute_batch(&format!(
                "INSERT INTO device (singleton, device_id, created_at_ms)
                     VALUES (1, '0190d3c2-7a9b-7cde-8f01-23456789abcd', 1);
                 INSERT INTO units (unit_code, name, server_url, join_payload, joined_at_ms,
                     area_type)
                     VALUES ('HD-TK-001', 'Chi hội', 'https://x.vn', '{{}}', 1, 'normal');
                 INSERT INTO people (person_id, unit_code, full_name, name_folded, cccd,
                     cccd_masked, cccd_consent, cccd_consent_at_ms, created_at_ms,
                     updated_at_ms)
                     VALUES ('{person}', 'HD-TK-001', 'An', 'an', '001085012345',
                         '••••••••2345', 1, 1, 1, 1);
                 INSERT INTO assessments (assessment_id, person_id, year, catalog_id, group_id,
                     area_type, created_at_ms, updated_at_ms)
                     VALUES ('{assessment}', '{person}', 2025, '324-2023', 'residents',
                         'normal', 1, 1);
                 PRAGMA user_version = {version};"
            ))
            .unwrap();
        }
        let store = Store::open_with_key_file(dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), latest_version());
        let person_id: PersonId = person.parse().unwrap();
        assert_eq!(
            store.person_cccd(person_id).unwrap().as_deref(),
            Some("001085012345"),
            "schema {version}"
        );
        let assessment_id: AssessmentId = assessment.parse().unwrap();
        assert_eq!(
            store.assessment(assessment_id).unwrap().person_id,
            person_id
        );
        drop(store);
        assert_encrypted_on_disk(dir.path(), &["001085012345"]);
        assert!(dir.path().join(KEY_FILE_NAME).is_file());
    }
}

#[test]
fn a_new_database_is_encrypted_from_the_start() {
    let (dir, mut store) = open_temp();
    join_unit(&mut store);
    store
        .upsert_person(&cdht_store::PersonInput {
            full_name: "Phạm Thị Dung".to_owned(),
            unit_code: Some(unit_code()),
            cccd: cdht_store::CccdUpdate::Set {
                number: "036190007777".to_owned(),
                consent_given: true,
            },
            ..cdht_store::PersonInput::default()
        })
        .unwrap();
    assert_encrypted_on_disk(dir.path(), &["036190007777", "Phạm Thị Dung"]);
    drop(store);
    assert_encrypted_on_disk(dir.path(), &["036190007777", "Phạm Thị Dung"]);
    // The key file that opened it is owner-only.
    let key_file = KeyFile::in_data_dir(dir.path());
    assert!(key_file.load().unwrap().is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
