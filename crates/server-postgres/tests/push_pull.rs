//! Pushes, pulls and uploads on PostgreSQL, each compared with the SQLite
//! backend given the same calls: the same acks, the same changes at the
//! same positions, the same upload states.
#![allow(clippy::unwrap_used)]

mod support;

use cdht_core::assessment::Answers;
use cdht_core::ids::{CatalogId, DeviceId, GroupId, IndicatorId, UnitCode};
use cdht_core::sync::{
    AssessmentRecord, DeviceScope, DeviceState, EvidenceRecord, PersonRecord, RecordBody,
    RecordEnvelope, Role, RoleGrant, ServerScore,
};
use cdht_core::Code;
use cdht_server_db::{
    BatchKey, CccdUpdate, DeviceRef, EnrolDevice, PreparedRecord, PushOutcome, Reader, RecordCheck,
    Storage, UploadKey,
};
use support::twins::{timeless, Twins};
use uuid::Uuid;

fn id<T: std::str::FromStr>(n: u128) -> T
where
    T::Err: std::fmt::Debug,
{
    Uuid::from_u128(n).to_string().parse().unwrap()
}

fn envelope(version: u32, body: RecordBody) -> RecordEnvelope {
    RecordEnvelope {
        version,
        hash: cdht_core::digest::sha256_hex(&body.canonical_json()),
        body,
    }
}

fn person(n: u128, version: u32, name: &str, cccd: Option<&str>) -> PreparedRecord {
    let body = RecordBody::Person(PersonRecord {
        id: id(n),
        full_name: name.into(),
        birth_year: Some(1980),
        cccd: cccd.map(str::to_owned),
        phone: None,
        address: Some("Thôn 1".into()),
        keep_cccd: false,
        household: Some("Hộ A".into()),
    });
    let envelope = envelope(version, body);
    PreparedRecord {
        check: RecordCheck::Person {
            cccd: cccd.map_or(CccdUpdate::Erase, |c| CccdUpdate::Set(format!("hmac-{c}"))),
            stored_hash: format!("keyed-{}", envelope.hash),
            keep_household: false,
        },
        envelope,
    }
}

fn assessment(n: u128, person: u128, version: u32, state: DeviceState) -> PreparedRecord {
    let body = RecordBody::Assessment(AssessmentRecord {
        id: id(n),
        person: id(person),
        year: 2026,
        catalog: CatalogId::new("244-2022"),
        group: GroupId::new("individual"),
        answers: Answers::default(),
        state,
        device_total: Some(7),
    });
    PreparedRecord {
        envelope: envelope(version, body),
        check: RecordCheck::Assessment {
            score: ServerScore {
                total: 7,
                passed: false,
                threshold: 8,
            },
            points: "1.1:7".into(),
        },
    }
}

fn evidence(n: u128, assessment: u128, sha: &str, size: u64) -> PreparedRecord {
    let body = RecordBody::Evidence(EvidenceRecord {
        id: id(n),
        assessment: id(assessment),
        indicator: IndicatorId::new("1.1"),
        sha256: sha.into(),
        size,
        content_type: "image/jpeg".into(),
    });
    PreparedRecord {
        envelope: envelope(1, body),
        check: RecordCheck::Evidence,
    }
}

fn key(n: u128, seq: u64) -> BatchKey {
    BatchKey {
        batch_id: Uuid::from_u128(n),
        seq,
        content_hash: format!("content-{n}"),
    }
}

fn outcome(o: &PushOutcome) -> String {
    format!("{o:?}")
}

/// Enrols a device of `unit` on both backends, with the same id.
fn enrol(t: &Twins, n: u128, unit: &str, key: &str) -> DeviceRef {
    let device_id: DeviceId = id(n);
    t.same(
        "enrol",
        |db| {
            db.enrol_device(
                unit,
                key,
                EnrolDevice {
                    device_id,
                    label: None,
                    current_token_hash: None,
                },
                &format!("token-{n}"),
            )
        },
        |r| r.as_ref().map(|(u, seq, d)| (u.code.clone(), *seq, *d)),
    )
    .unwrap();
    DeviceRef {
        device_id,
        unit: UnitCode::new(unit),
        scope: DeviceScope::OwnRecords,
    }
}

fn push(t: &Twins, what: &str, device: &DeviceRef, key: &BatchKey, records: &[PreparedRecord]) {
    t.same(what, |db| db.apply_push(device, key, records), outcome)
        .unwrap();
}

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
