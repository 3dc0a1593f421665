//! After recognition: certificates and their verification, decision lists,
//! exemplary titles; and the reviewers' queue.

use crate::db::queue::{parse_cursor, QueueFilter};
use crate::db::{ExemplaryGrant, ExemplaryTitle, Recognition, Refusal, ReviewAction, Storage};
use crate::fixture::{assert_refused, enrol, push_accepted, tree, Device};
use crate::Backend;
use cdht_core::ids::{AssessmentId, PersonId};
use cdht_core::sync::{DeviceState, RecordEnvelope};
use cdht_core::ExemplaryStatus;
use cdht_test_support::records::{assessment_of_year, person, v1};

/// A person with a recognised assessment in each of `years` (decision
/// `QĐ-<year>`); returns them and the assessments.
fn recognised(
    s: &dyn Storage,
    device: &Device,
    seq: u64,
    name: &str,
    years: &[u16],
) -> (PersonId, Vec<AssessmentId>) {
    let (pid, body) = person(name, None);
    let ids: Vec<AssessmentId> = years.iter().map(|_| AssessmentId::new_v7()).collect();
    let mut records: Vec<RecordEnvelope> = vec![v1(body)];
    for (id, year) in ids.iter().zip(years) {
        records.push(v1(assessment_of_year(
            *id,
            pid,
            *year,
            DeviceState::Submitted,
            [8; 10],
        )));
    }
    push_accepted(s, device, seq, records);
    for (id, year) in ids.iter().zip(years) {
        s.review(*id, "lan", &ReviewAction::Approve).unwrap();
        s.recognise(device.r.unit.as_str(), "chu-tich", &decision(*year, *id))
            .unwrap();
    }
    (pid, ids)
}

fn decision(year: u16, id: AssessmentId) -> Recognition {
    Recognition {
        decision_no: format!("QĐ-{year}"),
        decision_date: format!("{year}-12-01"),
        assessments: vec![id],
    }
}

/// A recognised assessment's certificate keeps the first token it was
/// given, which verifies it; an assessment not recognised has none.
pub fn certificates_and_decision_list(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (_, x) = recognised(&*s, &phone, 1, "Lò Văn Xuân", &[2025]);
    let (_, y) = recognised(&*s, &phone, 2, "Cà Thị Yến", &[2025]);
    let (_, pending) = crate::fixture::person_with_assessment(
        &*s,
        &phone,
        3,
        "Chờ",
        None,
        2025,
        DeviceState::Submitted,
    );

    let facts = s.certificate(x[0], "token-1").unwrap().expect("recognised");
    assert_eq!(facts.assessment, x[0].to_string());
    assert_eq!(facts.full_name, "Lò Văn Xuân");
    assert_eq!(
        (facts.unit_code.as_str(), facts.unit_name.as_str()),
        ("C1", "Đơn vị C1")
    );
    assert_eq!((facts.year, facts.decision_no.as_str()), (2025, "QĐ-2025"));
    assert_eq!(facts.decision_date, "2025-12-01");
    assert_eq!(facts.token, "token-1");
    let again = s.certificate(x[0], "token-2").unwrap().unwrap();
    assert_eq!(again.token, "token-1", "the first token is kept");
    let verified = s.verify_certificate("token-1").unwrap().expect("verifies");
    assert_eq!(
        (verified.assessment, verified.token),
        (x[0].to_string(), "token-1".into())
    );
    assert!(s.verify_certificate("token-2").unwrap().is_none());
    assert!(s
        .certificate(AssessmentId::new_v7(), "t")
        .unwrap()
        .is_none());
    assert_refused(
        s.certificate(pending, "t"),
        Refusal::Conflict,
        "not_recognised",
    );

    let rows = s.decision_list("D", "QĐ-2025").unwrap();
    let mut names: Vec<&str> = rows.iter().map(|r| r.full_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Cà Thị Yến", "Lò Văn Xuân"]);
    assert!(rows
        .iter()
        .all(|r| r.unit_code == "C1" && r.year == 2025 && r.group == "farmers"));
    let total = s.assessment_record(y[0]).unwrap().unwrap().total;
    assert!(rows
        .iter()
        .any(|r| r.full_name == "Cà Thị Yến" && r.total == total));
    assert!(s.decision_list("C2", "QĐ-2025").unwrap().is_empty());
    assert!(s.decision_list("D", "QĐ-khác").unwrap().is_empty());
}

/// The persons recognised in a year, paged by person id, with every year
/// they were recognised in; a title is granted only to eligible ones, once
/// per year, the same decision again a no-op, another one refused.
pub fn exemplary_candidates_and_grant(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (x, x_ids) = recognised(&*s, &phone, 1, "Hai năm", &[2024, 2025]);
    let (y, _) = recognised(&*s, &phone, 2, "Một năm", &[2025]);
    let (z, _) = crate::fixture::person_with_assessment(
        &*s,
        &phone,
        3,
        "Chưa",
        None,
        2025,
        DeviceState::Submitted,
    );

    let page = s.exemplary_candidates("D", 2025, None, 100).unwrap();
    assert!(page.next.is_none());
    let mut expected = vec![x, y];
    expected.sort_unstable();
    let persons: Vec<PersonId> = page.candidates.iter().map(|c| c.person).collect();
    assert_eq!(persons, expected, "by person id");
    let cx = page.candidates.iter().find(|c| c.person == x).unwrap();
    assert_eq!(cx.recognised_years, vec![2024, 2025]);
    assert_eq!((cx.assessment, cx.unit.as_str()), (x_ids[1], "C1"));
    assert_eq!((cx.catalog.as_str(), cx.title.as_ref()), ("244-2022", None));
    let first = s.exemplary_candidates("D", 2025, None, 1).unwrap();
    assert_eq!(first.candidates.len(), 1);
    let rest = s.exemplary_candidates("D", 2025, first.next, 1).unwrap();
    assert_eq!(
        (first.candidates[0].person, rest.candidates[0].person),
        (expected[0], expected[1])
    );
    assert!(rest.next.is_none());
    assert!(s
        .exemplary_candidates("C2", 2025, None, 100)
        .unwrap()
        .candidates
        .is_empty());
    assert!(s
        .exemplary_candidates("C1", 2023, None, 100)
        .unwrap()
        .candidates
        .is_empty());

    // Two years in a row make a person eligible (the rule is the caller's).
    let status = |c: &crate::db::ExemplaryCandidate| {
        let streak = c.recognised_years.len() as u32;
        Ok(ExemplaryStatus {
            year: 2025,
            streak,
            required: 2,
            eligible: streak >= 2,
            years_to_go: 2u32.saturating_sub(streak),
            provisional: false,
        })
    };
    let title = |no: &str| ExemplaryTitle {
        decision_no: no.to_owned(),
        decision_date: "2026-01-15".to_owned(),
    };
    let grant = |persons: Vec<PersonId>, no: &str| ExemplaryGrant {
        year: 2025,
        title: title(no),
        persons,
    };
    assert_refused(
        s.grant_exemplary("C1", "chu-tich", &grant(vec![x, y], "GT-1"), &status),
        Refusal::Conflict,
        "not_eligible",
    );
    let held = |p: PersonId| {
        let page = s.exemplary_candidates("C1", 2025, None, 100).unwrap();
        page.candidates
            .into_iter()
            .find(|c| c.person == p)
            .unwrap()
            .title
    };
    assert_eq!(held(x), None, "all or none");
    s.grant_exemplary("C1", "chu-tich", &grant(vec![x], "GT-1"), &status)
        .unwrap();
    assert_eq!(held(x), Some(title("GT-1")));
    s.grant_exemplary("C1", "chu-tich", &grant(vec![x], "GT-1"), &status)
        .unwrap();
    assert_refused(
        s.grant_exemplary("C1", "chu-tich", &grant(vec![x], "GT-2"), &status),
        Refusal::Conflict,
        "already_granted",
    );
    assert_eq!(held(x), Some(title("GT-1")));
    assert_refused(
        s.grant_exemplary("C1", "chu-tich", &grant(vec![z], "GT-1"), &status),
        Refusal::Conflict,
        "not_eligible",
    );
    assert_refused(
        s.grant_exemplary(
            "C1",
            "chu-tich",
            &grant(vec![PersonId::new_v7()], "GT-1"),
            &status,
        ),
        Refusal::NotFound,
        "not_found",
    );
    assert_refused(
        s.grant_exemplary("C2", "chu-tich", &grant(vec![x], "GT-1"), &status),
        Refusal::NotFound,
        "not_found",
    );
    let granted = s
        .audit("C1")
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "grant_exemplary")
        .count();
    assert_eq!(granted, 1);
}

fn queue(state: &str, limit: u32) -> QueueFilter {
    QueueFilter {
        year: 2025,
        state: state.to_owned(),
        group: None,
        passed: None,
        duplicate: None,
        after: None,
        limit,
    }
}

/// The review queue lists a subtree's assessments of a year in one state,
/// newest first, narrowed by passing and by likely duplicates, and pages
/// through them with its cursor.
pub fn review_queue_pages(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let mut submitted = Vec::new();
    for seq in 1..=4 {
        let (pid, body) = person(
            &format!("Người {seq}"),
            Some(&format!("00108800700{}", seq % 3)),
        );
        let aid = AssessmentId::new_v7();
        // The last one fails: no points at all.
        let points = if seq == 4 { [0; 10] } else { [8; 10] };
        push_accepted(
            &*s,
            &phone,
            seq,
            vec![
                v1(body),
                v1(assessment_of_year(
                    aid,
                    pid,
                    2025,
                    DeviceState::Submitted,
                    points,
                )),
            ],
        );
        submitted.push(aid);
    }
    s.review(submitted[1], "lan", &ReviewAction::Approve)
        .unwrap();

    let whole = s.review_queue("D", &queue("submitted", 100)).unwrap();
    assert!(whole.next.is_none());
    let ids: Vec<String> = whole.items.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for id in [submitted[0], submitted[2], submitted[3]] {
        assert!(ids.contains(&id.to_string()));
    }
    for pair in whole.items.windows(2) {
        assert!(
            (&pair[0].updated_at, &pair[0].id) > (&pair[1].updated_at, &pair[1].id),
            "newest first"
        );
    }
    let approved = s.review_queue("C1", &queue("approved", 100)).unwrap();
    assert_eq!(approved.items.len(), 1);
    assert_eq!(approved.items[0].id, submitted[1].to_string());
    assert!(s
        .review_queue("C2", &queue("submitted", 100))
        .unwrap()
        .items
        .is_empty());

    let failing = s
        .review_queue(
            "C1",
            &QueueFilter {
                passed: Some(false),
                ..queue("submitted", 100)
            },
        )
        .unwrap();
    assert_eq!(failing.items.len(), 1);
    assert_eq!(failing.items[0].id, submitted[3].to_string());
    assert!(!failing.items[0].passed);
    // CCCD numbers 1, 2, 0, 1: the first and the fourth are one person.
    let duplicates = s
        .review_queue(
            "C1",
            &QueueFilter {
                duplicate: Some(true),
                ..queue("submitted", 100)
            },
        )
        .unwrap();
    let mut dup_ids: Vec<String> = duplicates.items.iter().map(|i| i.id.clone()).collect();
    dup_ids.sort_unstable();
    let mut expected = vec![submitted[0].to_string(), submitted[3].to_string()];
    expected.sort_unstable();
    assert_eq!(dup_ids, expected);
    assert!(duplicates.items.iter().all(|i| i.duplicate));

    let mut walked = Vec::new();
    let mut filter = queue("submitted", 1);
    for _ in 0..10 {
        let page = s.review_queue("D", &filter).unwrap();
        assert!(page.items.len() <= 1);
        walked.extend(page.items.iter().map(|i| i.id.clone()));
        match page.next {
            Some(next) => filter.after = Some(parse_cursor(&next).expect("a cursor")),
            None => break,
        }
    }
    assert_eq!(walked, ids, "pages of one");
}
