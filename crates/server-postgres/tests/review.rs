//! Reviews, recognitions, likely duplicates, the audit log and the
//! assessment a reviewer opens, on PostgreSQL and on SQLite given the same
//! calls; and two reviewers on two instances at once.
#![allow(clippy::unwrap_used)]

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{DeviceState, ReviewState};
use cdht_server_db::{AssessmentRecord, Recognition, ReviewAction, Storage};
use cdht_server_postgres::PgStorage;
use support::records::{assessment, enrol, id, key, person, push};
use support::twins::{timeless, Twins};

/// Two people with one CCCD (likely one person registered twice), each
/// with a submitted assessment of 2026, pushed by two phones of C1.
fn story(t: &Twins) {
    for db in [&t.sqlite as &dyn Storage, &t.pg] {
        support::tree(db);
    }
    let a = enrol(t, 1, "C1", "key-C1");
    let b = enrol(t, 2, "C1", "key-C1");
    push(
        t,
        "a",
        &a,
        &key(100, 1),
        &[
            person(10, 1, "A", Some("001")),
            assessment(20, 10, 1, DeviceState::Submitted),
        ],
    );
    push(
        t,
        "b",
        &b,
        &key(200, 1),
        &[
            person(11, 1, "A again", Some("001")),
            assessment(21, 11, 1, DeviceState::Submitted),
            person(12, 1, "C", None),
            assessment(22, 12, 1, DeviceState::Draft),
        ],
    );
}

/// What a reviewer sees of an assessment, times apart.
fn opened(r: &Option<AssessmentRecord>) -> String {
    r.as_ref().map_or_else(String::new, |r| {
        format!(
            "{} {} {} {:?} {:?} {} {} {} {} {} {} {} {} {:?} {:?} {:?} {:?} {:?}",
            r.unit,
            r.person,
            r.person_name,
            r.birth_year,
            r.address,
            r.year,
            r.catalog,
            r.group,
            r.answers,
            r.state,
            r.total,
            r.passed,
            r.threshold,
            r.return_reason,
            r.decision_no,
            r.decision_date,
            r.evidence,
            r.last_review.as_ref().map(|l| (&l.actor, &l.action)),
        )
    })
}

#[test]
fn reviews_recognitions_and_duplicates_match_the_sqlite_backend() {
    let t = Twins::new();
    story(&t);
    let (a20, a21, a22): (AssessmentId, AssessmentId, AssessmentId) = (id(20), id(21), id(22));
    let list = |what: &str| {
        t.same(what, |db| db.list_assessments("P"), timeless)
            .unwrap()
    };
    assert_eq!(list("listed").len(), 3);
    let page = t
        .same("duplicates", |db| db.duplicates("P", None, 1), timeless)
        .unwrap();
    assert_eq!(page.groups.len(), 1);
    t.same(
        "duplicates after",
        |db| db.duplicates("D", page.next, 1),
        timeless,
    )
    .unwrap();
    let approve = ReviewAction::Approve;
    for (what, id, action) in [
        ("approve", a20, &approve),
        ("approve twice", a20, &approve),
        ("approve a draft", a22, &approve),
        (
            "return",
            a21,
            &ReviewAction::Return {
                reason: "ảnh mờ".into(),
                from: ReviewState::Submitted,
            },
        ),
        ("approve unknown", id(99), &approve),
    ] {
        let _ = t.same(what, |db| db.review(id, "an", action), |()| ());
    }
    for (what, ids) in [
        ("recognise a returned one", vec![a20, a21]),
        ("recognise", vec![a20]),
        ("recognise again", vec![a20]),
        ("recognise outside the unit", vec![id(99)]),
    ] {
        let rec = Recognition {
            decision_no: "12/QĐ".into(),
            decision_date: "2026-11-30".into(),
            assessments: ids,
        };
        let _ = t.same(what, |db| db.recognise("D", "chair", &rec), |()| ());
    }
    list("after the reviews");
    for id in [a20, a21, a22, id(99)] {
        t.same("opened", |db| db.assessment_record(id), opened)
            .unwrap();
        t.same("its unit", |db| db.assessment_unit(id), Clone::clone)
            .unwrap();
    }
    let audit = t.same("audit", |db| db.audit("P"), timeless).unwrap();
    assert!(audit.iter().any(|e| e.action == "recognise"), "{audit:?}");
    // What the phones pull of it: reviews and the recognition.
    let a = cdht_server_db::DeviceRef {
        device_id: id(1),
        unit: cdht_core::ids::UnitCode::new("C1"),
        scope: cdht_core::sync::DeviceScope::OwnRecords,
    };
    t.same("a's pull", |db| db.pull(&a, 0, 100, true), timeless)
        .unwrap();
}

#[test]
fn two_reviewers_on_two_instances_never_both_act() {
    let (db, url) = support::storage();
    support::tree(&db);
    let device = support::records::enrol_one(&db, 1);
    db.apply_push(
        &device,
        &key(1, 1),
        &[
            person(10, 1, "A", None),
            assessment(20, 10, 1, DeviceState::Submitted),
        ],
    )
    .unwrap();
    let target: AssessmentId = id(20);
    let results: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|n| {
                let instance = PgStorage::open(&url, 1).unwrap();
                s.spawn(move || {
                    let action = if n % 2 == 0 {
                        ReviewAction::Approve
                    } else {
                        ReviewAction::Return {
                            reason: "no".into(),
                            from: ReviewState::Submitted,
                        }
                    };
                    instance.review(target, &format!("r{n}"), &action).is_ok()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    let reviews = db
        .audit("C1")
        .unwrap()
        .into_iter()
        .filter(|e| e.action != "push")
        .count();
    assert_eq!(reviews, 1);
}
