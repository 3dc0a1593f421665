//! Migrations keep what a database held: old data folders still open, pull
//! and replay as before.
#![allow(clippy::unwrap_used)]

use super::*;
use cdht_core::sync::{DeviceScope, ReviewState};

/// A database of version 5, migrated through 8, keeps what it had: a record change holding its
/// body is pulled as before, a batch answer kept as text still replays,
/// and the device's people are still its own.
#[test]
fn migration_8_keeps_old_changes_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdht.sqlite3");
    let pusher = "0190d3c2-7a9b-7cde-8f01-23456789abce";
    let person = "0190d3c2-7a9b-7cde-8f01-23456789abcf";
    let batch = "0190d3c2-7a9b-7cde-8f01-23456789abc0";
    let body = format!(
        r#"{{"kind":"record","unit":"U1","area":"normal","record":{{"version":1,"hash":"h","body":{{"kind":"person","id":"{person}","full_name":"A","birth_year":null,"cccd":null,"phone":null,"address":null}}}}}}"#
    );
    let response = format!(r#"{{"batch_id":"{batch}","seq":1,"acks":[]}}"#);
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..5] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!(
            "PRAGMA user_version = 5;
             INSERT INTO units VALUES ('U1', 'Unit', 'branch', NULL, NULL, 'K', 'x');
             INSERT INTO devices (id, unit, token_hash, enrolled_at, last_push_seq)
                VALUES ('{pusher}', 'U1', 'h', 'x', 1);
             INSERT INTO persons (id, unit, device_id, version, hash, full_name, updated_at)
                VALUES ('{person}', 'U1', '{pusher}', 1, 'h', 'A', 'x');
             INSERT INTO device_people VALUES ('{pusher}', '{person}');"
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO changes (seq, unit, kind, subject, origin, at, body)
             VALUES (7, 'U1', 'record', ?1, ?2, 'x', ?3)",
            params![person, pusher, body],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO batches VALUES (?1, ?2, 1, 'ch', ?3, 'x')",
            params![batch, pusher, response],
        )
        .unwrap();
    }
    let storage = SqliteStorage::open(dir.path()).unwrap();
    let collector = DeviceRef {
        device_id: DeviceId::new_v7(),
        unit: UnitCode::new("U1"),
        scope: DeviceScope::UnitRecords,
    };
    let page = storage.pull(&collector, 0, 10, true).unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!((page.changes[0].seq, page.changes[0].at.as_str()), (7, "x"));
    assert_eq!(
        serde_json::to_value(&page.changes[0].change).unwrap(),
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    );
    let pusher_ref = DeviceRef {
        device_id: pusher.parse().unwrap(),
        unit: UnitCode::new("U1"),
        scope: DeviceScope::OwnRecords,
    };
    // Its own push is not sent back to it.
    assert!(storage
        .pull(&pusher_ref, 0, 10, true)
        .unwrap()
        .changes
        .is_empty());
    let key = BatchKey {
        batch_id: batch.parse().unwrap(),
        seq: 1,
        content_hash: "ch".into(),
    };
    match storage.apply_push(&pusher_ref, &key, &[]).unwrap() {
        PushOutcome::Replayed(json) => assert_eq!(json, response),
        other => panic!("{other:?}"),
    }
    let conn = storage.conn().unwrap();
    assert!(devices::is_device_person(&conn, pusher, person).unwrap());
}

/// A database of version 2 with a review change keeps its change seqs,
/// gets kind and subject filled in, and new changes continue after them.
#[test]
fn migration_3_keeps_the_change_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdht.sqlite3");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO units VALUES ('U1', 'Unit', 'branch', NULL, NULL, 'K', 'x');
             INSERT INTO devices (id, unit, token_hash, enrolled_at)
                VALUES ('0190d3c2-7a9b-7cde-8f01-23456789abce', 'U1', 'h', 'x');
             INSERT INTO persons (id, unit, device_id, version, hash, full_name, updated_at)
                VALUES ('P1', 'U1', '0190d3c2-7a9b-7cde-8f01-23456789abce', 1, 'h', 'A', 'x');
             INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp,
                answers, version, hash, state, total, passed, threshold, updated_at)
                VALUES ('0190d3c2-7a9b-7cde-8f01-23456789abcd', 'U1',
                '0190d3c2-7a9b-7cde-8f01-23456789abce', 'P1', 2025, 'c', 'g', '[]', 1, 'h',
                'approved', 80, 1, 80, 'x');
             INSERT INTO changes (seq, unit, at, body) VALUES (41, 'U1', 'x',
                '{\"kind\":\"review\",\"assessment\":\"0190d3c2-7a9b-7cde-8f01-23456789abcd\",\"state\":\"approved\"}');",
        )
        .unwrap();
    }
    let storage = SqliteStorage::open(dir.path()).unwrap();
    let conn = storage.conn().unwrap();
    let (seq, kind, subject): (u64, String, Option<String>) = conn
        .query_row("SELECT seq, kind, subject FROM changes", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        (seq, kind.as_str(), subject.as_deref()),
        (41, "review", Some("P1"))
    );
    let people: i64 = conn
        .query_row("SELECT COUNT(*) FROM device_people", [], |r| r.get(0))
        .unwrap();
    assert_eq!(people, 1);
    drop(conn);
    let device = DeviceRef {
        device_id: "0190d3c2-7a9b-7cde-8f01-23456789abce".parse().unwrap(),
        unit: UnitCode::new("U1"),
        scope: DeviceScope::OwnRecords,
    };
    // The device that pushed P1 still pulls its review after the migration.
    let page = storage.pull(&device, 0, 10, true).unwrap();
    assert_eq!(page.cursor, 41);
    storage
        .import_units(
            &[],
            &[UnitUpdate {
                code: UnitCode::new("U1"),
                name: "Unit 1".into(),
                kind: "branch".into(),
                parent: None,
                area: Some(AreaType::Difficult),
            }],
        )
        .unwrap();
    let page = storage.pull(&device, 41, 10, true).unwrap();
    assert_eq!(page.changes.len(), 1);
    assert!(page.cursor > 41, "new changes continue after the old ones");
}

/// An assessment stored before migration 9 has no points: the report reads
/// its answers and scores them, so its indicators still count.
#[test]
fn migration_9_reports_score_assessments_stored_without_points() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdht.sqlite3");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            r#"PRAGMA user_version = 8;
             INSERT INTO units VALUES ('U1', 'Unit', 'branch', NULL, NULL, 'K', 'x');
             INSERT INTO persons (id, unit, device_id, version, hash, full_name, updated_at)
                VALUES ('P1', 'U1', 'D', 1, 'h', 'A', 'x');
             INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp,
                answers, version, hash, state, total, passed, threshold, updated_at)
                VALUES ('0190d3c2-7a9b-7cde-8f01-23456789abcd', 'U1', 'D', 'P1', 2025,
                '244-2022', 'farmers',
                '{"1.1":7,"1.2":"a","1.3":7,"1.4":7,"2.1":3,"2.2":5,"2.3":9,"2.4":8,"3.1":10,"3.2":"b"}',
                1, 'h', 'submitted', 76, 0, 80, 'x');"#,
        )
        .unwrap();
    }
    let storage = SqliteStorage::open(dir.path()).unwrap();
    let mut facts = storage.report_facts("U1", 2025).unwrap();
    assert_eq!(facts.assessments.len(), 1);
    assert_eq!(
        facts.legacy.len(),
        1,
        "no points kept: its answers are read"
    );
    let catalogs = cdht_core::embedded_catalogs().unwrap().to_vec();
    cdht_server_db::facts::score_legacy(&mut facts, &catalogs);
    let digital = facts.indicators.iter().position(|i| i == "2.1").unwrap();
    assert_eq!(
        facts.assessments[0].points[digital], 3,
        "scored from its answers"
    );
    assert!(facts.legacy.is_empty());
}

/// With every other pooled connection taken, a report reads its two scans
/// one after the other on its own connection, and counts the same.
#[test]
fn a_report_with_no_second_connection_free_counts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    {
        let conn = storage.conn().unwrap();
        conn.execute_batch(
            r#"INSERT INTO units VALUES ('U1', 'Unit', 'branch', NULL, NULL, 'K', 'x');
             INSERT INTO persons (id, unit, device_id, version, hash, full_name, birth_year,
                address, updated_at)
                VALUES ('P1', 'U1', 'D', 1, 'h', 'A', 1970, 'Hộ 1', 'x'),
                       ('P2', 'U1', 'D', 1, 'h', 'B', 2015, 'Hộ 1', 'x');
             INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp,
                answers, version, hash, state, total, passed, threshold, updated_at, points)
                VALUES ('A1', 'U1', 'D', 'P1', 2025, '244-2022', 'farmers', '{}', 1, 'h',
                'recognised', 90, 1, 80, 'x', '1.1:9,2.1:8');"#,
        )
        .unwrap();
    }
    let both_at_once = storage.report_facts("U1", 2025).unwrap();
    let held: Vec<_> = (1..PoolSettings::DEFAULT.size)
        .map(|_| storage.conn().unwrap())
        .collect();
    // One connection is left, the report's own: waiting for a second (as
    // before) would end in `busy` after the pool's wait.
    let one_after_the_other = storage.report_facts("U1", 2025).unwrap();
    drop(held);
    assert_eq!(
        format!("{one_after_the_other:?}"),
        format!("{both_at_once:?}"),
        "the same facts, so the same report"
    );
    assert_eq!(
        (
            one_after_the_other.assessments.len(),
            one_after_the_other.members.len()
        ),
        (1, 2)
    );
    assert_eq!(
        one_after_the_other.assessments[0].state,
        ReviewState::Recognised
    );
}

/// Migration 12's narrowed indexes still serve the lookups they were made
/// for: likely duplicates by keyed CCCD (now only people who have one), and
/// an assessment's last review (now only reviews).
#[test]
fn migration_12_partial_indexes_serve_their_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    let conn = storage.conn().unwrap();
    let plan = |sql: &str| -> String {
        conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .join("; ")
    };
    for sql in [
        "SELECT 1 FROM persons WHERE cccd_hmac = 'h' AND id <> 'x'",
        // A join on it, as the duplicate lookups do.
        "SELECT 1 FROM persons p JOIN persons op ON op.cccd_hmac = p.cccd_hmac WHERE p.id = 'x'",
    ] {
        let plan = plan(sql);
        assert!(plan.contains("persons_cccd"), "{sql}: {plan}");
    }
    let last_review = plan(
        "SELECT actor FROM audit_log WHERE assessment = 'a'
         AND action IN ('approve', 'return', 'recognise') ORDER BY id DESC LIMIT 1",
    );
    assert!(
        last_review.contains("audit_log_assessment") && !last_review.contains("SCAN"),
        "{last_review}"
    );
}

/// A file a newer server migrated is refused, not misread, and left as it was.
#[test]
fn a_schema_newer_than_this_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStorage::open(dir.path()).unwrap());
    let newer = MIGRATIONS.len() + 1;
    Connection::open(dir.path().join("cdht.sqlite3"))
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {newer}"))
        .unwrap();
    match SqliteStorage::open(dir.path()) {
        Err(StorageError::SchemaTooNew { found, known }) => {
            assert_eq!((found as usize, known as usize), (newer, MIGRATIONS.len()));
        }
        other => panic!("expected SchemaTooNew, got {:?}", other.err()),
    }
    let version: usize = Connection::open(dir.path().join("cdht.sqlite3"))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, newer, "left as it was");
}
