//! Pushes, pulls and uploads on PostgreSQL, each compared with the SQLite
//! backend given the same calls: the same acks, the same changes at the
//! same positions, the same upload states.
#![allow(clippy::unwrap_used)]

mod support;

use cdht_core::ids::UnitCode;
use cdht_core::sync::{DeviceScope, DeviceState, Role, RoleGrant};
use cdht_core::Code;
use cdht_server_db::{DeviceRef, PreparedRecord, Reader, RecordCheck, Storage, UploadKey};
use support::records::{assessment, enrol, evidence, key, person, push};
use support::twins::{timeless, Twins};
use uuid::Uuid;

/// Every page of a device's pull from 0, compared page by page.
fn pull_all(t: &Twins, what: &str, device: &DeviceRef, household: bool) -> usize {
    let mut since = 0;
    let mut n = 0;
    loop {
        let page = t
            .same(what, |db| db.pull(device, since, 2, household), timeless)
            .unwrap();
        n += page.changes.len();
        since = page.cursor;
        if !page.more {
            return n;
        }
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one story, in order
fn pushes_pulls_and_uploads_match_the_sqlite_backend() {
    let t = Twins::new();
    for db in [&t.sqlite as &dyn Storage, &t.pg] {
        support::tree(db);
        db.add_officer(
            "an",
            "h",
            &[RoleGrant {
                role: Role::Collector,
                unit: UnitCode::new("D"),
            }],
        )
        .unwrap();
    }
    let a = enrol(&t, 1, "C1", "key-C1");
    let b = enrol(&t, 2, "C1", "key-C1");
    let mut k = enrol(&t, 3, "C1", "key-C1");
    for db in [&t.sqlite as &dyn Storage, &t.pg] {
        let (officer, _, _) = db.officer_login("an").unwrap().unwrap();
        db.bind_officer(k.device_id, Some(officer)).unwrap();
    }
    k.scope = DeviceScope::UnitRecords;
    let sha = "ab".repeat(32);
    let first = [
        person(10, 1, "Nguyễn Văn A", Some("001")),
        assessment(20, 10, 1, DeviceState::Submitted),
        evidence(30, 20, &sha, 1000),
    ];
    push(&t, "a's first batch", &a, &key(100, 1), &first);
    push(&t, "a's first batch again", &a, &key(100, 1), &first);
    push(&t, "an old seq", &a, &key(101, 1), &first[..1]);
    push(&t, "a's batch id from b", &b, &key(100, 1), &first[..1]);
    // b: its own person, then a's person (not its own: refused), and a
    // record the handler had refused already.
    push(
        &t,
        "b's batch",
        &b,
        &key(200, 1),
        &[
            person(11, 1, "Trần Thị B", Some("001")),
            person(10, 2, "Taken over", None),
            PreparedRecord {
                envelope: person(12, 1, "x", None).envelope,
                check: RecordCheck::Rejected {
                    code: Code::HashMismatch,
                },
            },
        ],
    );
    // a edits its person and draft → the same again (already had), and the
    // collector device edits a's assessment.
    push(
        &t,
        "a's second batch",
        &a,
        &key(101, 2),
        &[
            person(10, 2, "Nguyễn Văn Á", Some("001")),
            assessment(20, 10, 1, DeviceState::Submitted),
        ],
    );
    push(
        &t,
        "k's edit",
        &k,
        &key(300, 1),
        &[assessment(20, 10, 2, DeviceState::Submitted)],
    );
    for (device, name) in [(&a, "a"), (&b, "b"), (&k, "k")] {
        for household in [false, true] {
            let n = pull_all(
                &t,
                &format!("{name}'s pull ({household})"),
                device,
                household,
            );
            // The collector device gets a's records; a, k's edit of its
            // assessment; b only what others did to its people (nothing).
            assert_eq!(n > 0, name != "b", "{name} pulled {n}");
        }
    }
    t.same(
        "areas",
        |db| db.assessment_areas(&[Uuid::from_u128(20), Uuid::from_u128(99)]),
        |m| {
            let mut v: Vec<_> = m.iter().map(|(k, v)| (*k, v.as_str())).collect();
            v.sort_unstable();
            v
        },
    )
    .unwrap();
    // a uploads its photo in two pieces; the offset must follow.
    let up = UploadKey::new(&a.device_id.to_string(), &sha);
    let progress = |what: &str| {
        t.same(
            what,
            |db| db.upload_progress(&up),
            |p| {
                p.as_ref()
                    .map(|p| (p.size, p.received, p.complete, p.legacy_parts))
            },
        )
        .unwrap()
    };
    assert_eq!(progress("announced").unwrap().size, 1000);
    let chunk = |what: &str, offset: u64, len: u64| {
        t.same(what, |db| db.upload_add_chunk(&up, offset, len), |b| *b)
            .unwrap()
    };
    assert!(chunk("first piece", 0, 600));
    assert!(!chunk("a piece at the wrong offset", 0, 600));
    assert!(chunk("second piece", 600, 400));
    let readers = [
        ("a", Reader::Device(a.clone())),
        ("b", Reader::Device(b.clone())),
        ("k", Reader::Device(k.clone())),
        (
            "officer",
            Reader::Officer(vec![RoleGrant {
                role: Role::Reviewer,
                unit: UnitCode::new("P"),
            }]),
        ),
    ];
    let statuses = |what: &str| {
        for (name, reader) in &readers {
            t.same(
                &format!("{what}: {name}'s status"),
                |db| db.evidence_status(reader, &[sha.clone(), "cd".repeat(32)]),
                timeless,
            )
            .unwrap();
            t.same(
                &format!("{what}: {name} reads"),
                |db| db.readable_photo(&sha, reader),
                |s| *s,
            )
            .unwrap();
        }
    };
    statuses("all bytes in");
    t.same("stuck", |db| db.stuck_uploads(), |v| v.clone())
        .unwrap();
    t.same("finish", |db| db.upload_finish(&up, true), |()| ())
        .unwrap();
    assert!(progress("finished").unwrap().complete);
    statuses("complete");
    t.same("stats", |db| db.stats(), |s| s.clone()).unwrap();
}
