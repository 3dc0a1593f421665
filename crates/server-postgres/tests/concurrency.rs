//! Several writers on one PostgreSQL at once, as several server instances
//! would be: a pull's cursor never passes a change that commits later, and
//! one device's batch applies once however many times it arrives at once.
#![allow(clippy::unwrap_used)]

mod support;

use cdht_core::ids::{DeviceId, UnitCode};
use cdht_core::sync::{DeviceScope, PersonRecord, RecordBody, RecordEnvelope, Role, RoleGrant};
use cdht_server_db::{
    BatchKey, CccdUpdate, DeviceRef, EnrolDevice, PreparedRecord, PushOutcome, RecordCheck, Storage,
};
use cdht_server_postgres::PgStorage;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uuid::Uuid;

fn person(n: u128) -> PreparedRecord {
    let body = RecordBody::Person(PersonRecord {
        id: Uuid::from_u128(n).to_string().parse().unwrap(),
        full_name: format!("P{n}"),
        birth_year: None,
        cccd: None,
        phone: None,
        address: None,
        keep_cccd: false,
        household: None,
    });
    let hash = cdht_core::digest::sha256_hex(&body.canonical_json());
    PreparedRecord {
        check: RecordCheck::Person {
            cccd: CccdUpdate::Erase,
            stored_hash: hash.clone(),
            keep_household: true,
        },
        envelope: RecordEnvelope {
            version: 1,
            hash,
            body,
        },
    }
}

fn enrol(db: &PgStorage, n: u128) -> DeviceRef {
    let device_id = DeviceId::from_uuid(Uuid::from_u128(n));
    db.enrol_device(
        "C1",
        "key-C1",
        EnrolDevice {
            device_id,
            label: None,
            current_token_hash: None,
        },
        &format!("t{n}"),
    )
    .unwrap()
    .unwrap();
    DeviceRef {
        device_id,
        unit: UnitCode::new("C1"),
        scope: DeviceScope::OwnRecords,
    }
}

#[test]
fn a_pull_cursor_never_passes_a_change_committed_later() {
    let (db, url) = support::storage();
    drop(db);
    // The pool of one "instance" per writer, as several servers would have.
    let db = Arc::new(PgStorage::open(&url, 8).unwrap());
    support::tree(&*db);
    db.add_officer(
        "k",
        "h",
        &[RoleGrant {
            role: Role::Collector,
            unit: UnitCode::new("C1"),
        }],
    )
    .unwrap();
    let (officer, _, _) = db.officer_login("k").unwrap().unwrap();
    let mut collector = enrol(&db, 1);
    db.bind_officer(collector.device_id, Some(officer)).unwrap();
    collector.scope = DeviceScope::UnitRecords;
    let (writers, batches, per_batch) = (4u128, 8u128, 5u128);
    let done = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let instance = PgStorage::open(&url, 2).unwrap();
            let device = enrol(&instance, 100 + w);
            std::thread::spawn(move || {
                for b in 0..batches {
                    let records: Vec<_> = (0..per_batch)
                        .map(|r| person(10_000 * (w + 1) + 100 * b + r))
                        .collect();
                    let key = BatchKey {
                        batch_id: Uuid::from_u128(1_000_000 * (w + 1) + b),
                        seq: u64::try_from(b + 1).unwrap(),
                        content_hash: format!("c{w}-{b}"),
                    };
                    // Busy (a lock timeout) is retried, as a client would.
                    loop {
                        match instance.apply_push(&device, &key, &records) {
                            Ok(PushOutcome::Applied(_)) => break,
                            Ok(other) => panic!("{other:?}"),
                            Err(e) if e.is_busy() => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    // The collector pulls small pages all along, from its cursor.
    let reader = {
        let db = Arc::clone(&db);
        let done = Arc::clone(&done);
        let collector = collector.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut cursor = 0;
            loop {
                let last_round = done.load(Ordering::SeqCst);
                let page = db.pull(&collector, cursor, 7, false).unwrap();
                seen.extend(page.changes.iter().map(|c| c.seq));
                cursor = page.cursor;
                if last_round && !page.more {
                    return seen;
                }
            }
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();
    let all: Vec<u64> = db
        .pull(&collector, 0, 10_000, false)
        .unwrap()
        .changes
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(all.len() as u128, writers * batches * per_batch);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        seen, all,
        "what the cursor saw, page by page, is not everything"
    );
}

#[test]
fn one_batch_sent_at_once_to_several_instances_applies_once() {
    let (db, url) = support::storage();
    support::tree(&db);
    let device = enrol(&db, 7);
    let records: Vec<_> = (0..20).map(|r| person(500 + r)).collect();
    let key = BatchKey {
        batch_id: Uuid::from_u128(77),
        seq: 1,
        content_hash: "same".into(),
    };
    let outcomes: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let instance = PgStorage::open(&url, 1).unwrap();
                let (device, key, records) = (&device, &key, &records);
                s.spawn(
                    move || match instance.apply_push(device, key, records).unwrap() {
                        PushOutcome::Applied(r) => format!("applied {r}"),
                        PushOutcome::Replayed(r) => format!("replayed {r}"),
                        other => format!("{other:?}"),
                    },
                )
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        outcomes.iter().filter(|o| o.starts_with("applied")).count(),
        1,
        "{outcomes:#?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.starts_with("replayed"))
            .count(),
        3,
        "{outcomes:#?}"
    );
    assert_eq!(db.stats().unwrap().persons, 20);
    assert_eq!(db.stats().unwrap().batches, 1);
}

#[test]
fn a_writer_held_up_past_the_lock_timeout_is_told_busy() {
    let (db, url) = support::storage();
    support::tree(&db);
    let device = enrol(&db, 9);
    drop(db);
    // A short lock timeout from the URL, so the test need not wait 10 s.
    let db = PgStorage::open(&format!("{url}?options=-c%20lock_timeout%3D300"), 2).unwrap();
    // Another instance in the middle of a write holds the change counter.
    let mut other = support::client(&url);
    let mut tx = other.transaction().unwrap();
    tx.query_one("SELECT last FROM change_counter FOR UPDATE", &[])
        .unwrap();
    let key = BatchKey {
        batch_id: Uuid::from_u128(9),
        seq: 1,
        content_hash: "c".into(),
    };
    let started = std::time::Instant::now();
    let err = db.apply_push(&device, &key, &[person(900)]).unwrap_err();
    assert!(err.is_busy(), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Once the other write is done, the same batch goes through.
    tx.rollback().unwrap();
    assert!(matches!(
        db.apply_push(&device, &key, &[person(900)]).unwrap(),
        PushOutcome::Applied(_)
    ));
}
