//! A kill during the first-start encryption loses nothing: a child process
//! opens a plain database (which encrypts it) and is killed with SIGKILL after
//! a growing delay, so the kill lands before, during and after the export, the
//! check and the rename. Every time, the next open finds every row, encrypted.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use cdht_store::{DatabaseFile, DatabaseKey, Store, DB_FILE_NAME, ENCRYPTING_SUFFIX};
use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Set only in the child: the data folder and the key (hex).
const CHILD_DIR_ENV: &str = "CDHT_STORE_ENCRYPT_CHILD_DIR";
const CHILD_KEY_ENV: &str = "CDHT_STORE_ENCRYPT_CHILD_KEY";

const PEOPLE: i64 = 20_000;

/// The child's body: a no-op in a normal test run.
#[test]
fn encrypt_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let key = DatabaseKey::from_hex(&std::env::var(CHILD_KEY_ENV).unwrap()).unwrap();
    println!("opening");
    drop(Store::open(&dir, &key).unwrap());
    println!("opened");
}

/// A plain database of the latest schema with `PEOPLE` people with CCCDs.
fn make_plain(dir: &Path) {
    let mut raw = Connection::open(dir.join(DB_FILE_NAME)).unwrap();
    raw.pragma_update(None, "journal_mode", "WAL").unwrap();
    for sql in [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_lock_reviewed_answers.sql"),
        include_str!("../migrations/0003_unit_name_known.sql"),
        include_str!("../migrations/0004_pulled_records.sql"),
        include_str!("../migrations/0005_refusal_resolved_by_pull.sql"),
        include_str!("../migrations/0006_replaced_local_answers.sql"),
    ] {
        raw.execute_batch(sql).unwrap();
    }
    let tx = raw.transaction().unwrap();
    tx.execute_batch(
        "INSERT INTO device (singleton, device_id, created_at_ms)
             VALUES (1, '0190d3c2-7a9b-7cde-8f01-23456789abcd', 1);
         INSERT INTO units (unit_code, name, server_url, join_payload, joined_at_ms, area_type)
             VALUES ('HD-TK-001', 'Chi hội', 'https://x.vn', '{}', 1, 'normal');
         PRAGMA user_version = 6;",
    )
    .unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO people (person_id, unit_code, full_name, name_folded, cccd,
                     cccd_masked, cccd_consent, cccd_consent_at_ms, created_at_ms, updated_at_ms)
                 VALUES (?1, 'HD-TK-001', ?2, ?3, ?4, ?5, 1, 1, 1, 1)",
            )
            .unwrap();
        for i in 0..PEOPLE {
            let cccd = format!("{:012}", 1_085_000_000 + i);
            insert
                .execute((
                    format!("0190d3c2-7a9b-7cde-8f01-{i:012x}"),
                    format!("Nguyễn Văn An {i}"),
                    format!("nguyen van an {i}"),
                    &cccd,
                    format!("••••••••{}", &cccd[8..]),
                ))
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

#[test]
fn sigkill_during_the_first_start_encryption_loses_nothing() {
    if std::env::var_os(CHILD_DIR_ENV).is_some() {
        return;
    }
    let template = tempfile::tempdir().unwrap();
    make_plain(template.path());
    // Folded into the main file: each round starts from one plain file.
    drop(Connection::open(template.path().join(DB_FILE_NAME)).unwrap());
    let key = DatabaseKey::generate().unwrap();

    let mut killed_before_done = 0;
    for delay_ms in [0_u64, 5, 20, 50, 100, 200, 400, 800] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            template.path().join(DB_FILE_NAME),
            dir.path().join(DB_FILE_NAME),
        )
        .unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "encrypt_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_KEY_ENV, key.to_hex().as_str())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait until the child is about to open, then give it `delay_ms`.
        loop {
            if lines.next().unwrap().unwrap().contains("opening") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if !finished && status.signal() == Some(9) {
            killed_before_done += 1;
        }

        let store = Store::open(dir.path(), &key).unwrap();
        let conn = cdht_store::open_connection(&dir.path().join(DB_FILE_NAME), &key).unwrap();
        let (people, with_cccd): (i64, i64) = conn
            .query_row("SELECT count(*), count(cccd) FROM people", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (people, with_cccd),
            (PEOPLE, PEOPLE),
            "killed after {delay_ms} ms"
        );
        drop(conn);
        drop(store);
        assert_eq!(
            DatabaseFile::of_data_dir(dir.path()).unwrap(),
            DatabaseFile::Encrypted
        );
        assert!(!dir
            .path()
            .join(format!("{DB_FILE_NAME}{ENCRYPTING_SUFFIX}"))
            .exists());
    }
    // Not asserted (it depends on the machine's speed), but the point of the test.
    eprintln!("{killed_before_done} of 8 kills landed before the child had finished");
}
