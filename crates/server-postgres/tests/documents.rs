//! The review queue, certificates, decision lists, exemplary titles, report
//! facts and person names on PostgreSQL and on SQLite given the same calls.
#![allow(clippy::unwrap_used)]

mod support;

use cdht_core::ids::{AssessmentId, PersonId};
use cdht_core::sync::DeviceState;
use cdht_core::ExemplaryStatus;
use cdht_server_db::facts::ReportFacts;
use cdht_server_db::queue::QueueFilter;
use cdht_server_db::{
    ExemplaryCandidate, ExemplaryGrant, ExemplaryTitle, Recognition, ReviewAction, Storage,
    StorageResult,
};
use support::records::{assessment, enrol, id, key, person, push};
use support::twins::{timeless, Twins};

/// Three people of C1, two recognised by one decision, one submitted.
fn story(t: &Twins) {
    for db in [&t.sqlite as &dyn Storage, &t.pg] {
        support::tree(db);
    }
    let a = enrol(t, 1, "C1", "key-C1");
    push(
        t,
        "a",
        &a,
        &key(100, 1),
        &[
            person(10, 1, "An", Some("001")),
            assessment(20, 10, 1, DeviceState::Submitted),
            person(11, 1, "Bình", None),
            assessment(21, 11, 1, DeviceState::Submitted),
            person(12, 1, "Chi", Some("001")),
            assessment(22, 12, 1, DeviceState::Submitted),
            person(13, 1, "Dũng", None),
            assessment(23, 13, 1, DeviceState::Draft),
        ],
    );
    let (a20, a21): (AssessmentId, AssessmentId) = (id(20), id(21));
    for db in [&t.sqlite as &dyn Storage, &t.pg] {
        db.review(a20, "r", &ReviewAction::Approve).unwrap();
        db.review(a21, "r", &ReviewAction::Approve).unwrap();
        db.recognise(
            "P",
            "chair",
            &Recognition {
                decision_no: "7/QĐ".into(),
                decision_date: "2026-11-30".into(),
                assessments: vec![a20, a21],
            },
        )
        .unwrap();
    }
}

/// Report facts with people named by id, so the two backends' numbering
/// of people (an internal matter) does not count.
fn named(f: &ReportFacts) -> String {
    let who = |n: u32| f.people[n as usize].clone();
    let mut assessments: Vec<String> = f
        .assessments
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {} {:?} {} {:?}",
                who(a.person),
                f.units[a.unit as usize].code,
                f.groups[a.group as usize],
                f.catalogs[a.catalog as usize],
                a.state,
                a.passed,
                a.points
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| **p != cdht_server_db::facts::NO_POINTS)
                    .map(|(i, p)| format!("{}={p}", f.indicators[i]))
                    .collect::<Vec<_>>()
            )
        })
        .collect();
    assessments.sort();
    let mut members: Vec<String> = f
        .members
        .iter()
        .map(|m| {
            format!(
                "{} {} {:?} {:?}",
                who(m.person),
                f.units[m.unit as usize].code,
                m.birth_year,
                m.household
            )
        })
        .collect();
    members.sort();
    let mut earlier: Vec<String> = f
        .earlier_recognised
        .iter()
        .map(|(p, years)| format!("{} {years:?}", who(*p)))
        .collect();
    earlier.sort();
    let units: Vec<String> = f
        .units
        .iter()
        .map(|u| format!("{} {} {:?}", u.code, u.name, u.parent))
        .collect();
    format!(
        "{} {units:?}\n{assessments:#?}\n{members:#?}\n{earlier:?}\nlegacy {}",
        f.year,
        f.legacy.len()
    )
}

#[test]
fn documents_exemplary_and_reports_match_the_sqlite_backend() {
    let t = Twins::new();
    story(&t);
    for state in ["submitted", "recognised", "draft"] {
        for (group, passed, duplicate) in [
            (None, None, None),
            (Some("individual".to_owned()), Some(false), None),
            (None, None, Some(true)),
        ] {
            let filter = QueueFilter {
                year: 2026,
                state: state.into(),
                group: group.clone(),
                passed,
                duplicate,
                after: None,
                limit: 1,
            };
            // Page by page to the end on each; the order is by update time,
            // which is each backend's own, so the pages are compared as a set.
            let walk = |db: &dyn Storage| {
                let mut f = filter.clone();
                let mut items = Vec::new();
                loop {
                    let page = db.review_queue("P", &f).unwrap();
                    items.extend(page.items.iter().map(|i| timeless(i).to_string()));
                    match page
                        .next
                        .as_deref()
                        .and_then(cdht_server_db::queue::parse_cursor)
                    {
                        Some(after) => f.after = Some(after),
                        None => break,
                    }
                }
                items.sort();
                items
            };
            assert_eq!(
                walk(&t.sqlite),
                walk(&t.pg),
                "{state} queue {group:?} {passed:?} {duplicate:?}"
            );
        }
    }
    let (a20, a22): (AssessmentId, AssessmentId) = (id(20), id(22));
    let cert = t
        .same(
            "certificate",
            |db| db.certificate(a20, "tok-1"),
            Clone::clone,
        )
        .unwrap()
        .unwrap();
    assert_eq!(cert.token, "tok-1");
    // Kept: a second token is not made.
    t.same(
        "certificate again",
        |db| db.certificate(a20, "tok-2"),
        Clone::clone,
    )
    .unwrap();
    let _ = t.same(
        "not recognised",
        |db| db.certificate(a22, "tok-3"),
        Clone::clone,
    );
    t.same(
        "unknown",
        |db| db.certificate(id(99), "tok-4"),
        Clone::clone,
    )
    .unwrap();
    t.same("verify", |db| db.verify_certificate("tok-1"), Clone::clone)
        .unwrap()
        .unwrap();
    t.same(
        "verify unknown",
        |db| db.verify_certificate("nope"),
        Clone::clone,
    )
    .unwrap();
    let list = t
        .same("decision", |db| db.decision_list("P", "7/QĐ"), Clone::clone)
        .unwrap();
    assert_eq!(list.len(), 2);
    // Exemplary: candidates page by page, then a grant (all or none).
    let mut after: Option<PersonId> = None;
    loop {
        let page = t
            .same(
                "candidates",
                |db| db.exemplary_candidates("P", 2026, after, 1),
                |p| {
                    p.candidates
                        .iter()
                        .map(|c| format!("{c:?}"))
                        .collect::<Vec<_>>()
                },
            )
            .unwrap();
        if page.next.is_none() {
            break;
        }
        after = page.next;
    }
    let yes = |c: &ExemplaryCandidate| -> StorageResult<ExemplaryStatus> {
        Ok(ExemplaryStatus {
            year: 2026,
            streak: u32::try_from(c.recognised_years.len()).unwrap(),
            required: 1,
            eligible: true,
            years_to_go: 0,
            provisional: false,
        })
    };
    let title = ExemplaryTitle {
        decision_no: "9/QĐ".into(),
        decision_date: "2026-12-01".into(),
    };
    for (what, persons) in [
        ("grant with a person not recognised", vec![id(10), id(12)]),
        ("grant with an unknown person", vec![id(10), id(98)]),
        ("grant", vec![id(10), id(11)]),
        ("grant again", vec![id(10)]),
    ] {
        let grant = ExemplaryGrant {
            year: 2026,
            title: title.clone(),
            persons,
        };
        let _ = t.same(
            what,
            |db| db.grant_exemplary("P", "chair", &grant, &yes),
            |()| (),
        );
    }
    let other = ExemplaryGrant {
        year: 2026,
        title: ExemplaryTitle {
            decision_no: "10/QĐ".into(),
            decision_date: "2026-12-02".into(),
        },
        persons: vec![id(10)],
    };
    let _ = t.same(
        "granted by another decision",
        |db| db.grant_exemplary("P", "chair", &other, &yes),
        |()| (),
    );
    t.same(
        "candidates with titles",
        |db| db.exemplary_candidates("D", 2026, None, 10),
        |p| format!("{:?}", p.candidates),
    )
    .unwrap();
    for unit in ["P", "C1", "nope"] {
        for year in [2025, 2026] {
            let facts = t
                .same(
                    &format!("report facts {unit} {year}"),
                    |db| db.report_facts(unit, year),
                    named,
                )
                .unwrap();
            if (unit, year) == ("P", 2026) {
                assert_eq!(facts.assessments.len(), 4);
                assert_eq!(facts.members.len(), 4);
                assert_eq!(facts.earlier_recognised.len(), 0);
            }
        }
    }
    let names = t
        .same(
            "names",
            |db| db.person_names(&[id::<PersonId>(10).to_string(), "nope".into()]),
            |m| {
                let mut v: Vec<_> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                v.sort();
                v
            },
        )
        .unwrap();
    assert_eq!(names.len(), 1);
    t.same("audit", |db| db.audit("P"), timeless).unwrap();
}
