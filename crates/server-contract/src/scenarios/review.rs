//! Review and recognition by officers, and the audit log they leave.

use crate::db::{Recognition, Refusal, ReviewAction};
use crate::fixture::{assert_refused, enrol, person_with_assessment, pull_all, tree};
use crate::Backend;
use cdht_core::ids::AssessmentId;
use cdht_core::sync::{Change, DeviceState, ReviewState};

fn return_from(from: ReviewState) -> ReviewAction {
    ReviewAction::Return {
        reason: "Thiếu minh chứng".into(),
        from,
    }
}

fn state(s: &dyn crate::db::Storage, id: AssessmentId) -> String {
    s.assessment_record(id).unwrap().unwrap().state
}

/// Approve moves `submitted` to `approved`; a second reviewer acting on
/// the state they saw is refused (`wrong_state`) and overwrites nothing;
/// an approval may be withdrawn by a return; the phone hears of it.
pub fn review_approve_and_return(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (_, aid) = person_with_assessment(
        &*s,
        &phone,
        1,
        "Lò Văn E",
        None,
        2025,
        DeviceState::Submitted,
    );
    let (_, draft) =
        person_with_assessment(&*s, &phone, 2, "Lò Văn F", None, 2025, DeviceState::Draft);

    s.review(aid, "lan", &ReviewAction::Approve).unwrap();
    assert_eq!(state(&*s, aid), "approved");
    let last = s
        .assessment_record(aid)
        .unwrap()
        .unwrap()
        .last_review
        .expect("reviewed");
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("lan", "approve")
    );
    assert_refused(
        s.review(aid, "minh", &ReviewAction::Approve),
        Refusal::Conflict,
        "wrong_state",
    );
    assert_refused(
        s.review(aid, "minh", &return_from(ReviewState::Submitted)),
        Refusal::Conflict,
        "wrong_state",
    );
    assert_eq!(
        state(&*s, aid),
        "approved",
        "the stale view changed nothing"
    );
    s.review(aid, "minh", &return_from(ReviewState::Approved))
        .unwrap();
    let listed = s.list_assessments("C1").unwrap();
    let summary = listed.iter().find(|a| a.id == aid).unwrap();
    assert_eq!(summary.state, "returned");
    assert_eq!(summary.return_reason.as_deref(), Some("Thiếu minh chứng"));
    let last = s
        .assessment_record(aid)
        .unwrap()
        .unwrap()
        .last_review
        .unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("minh", "return")
    );

    assert_refused(
        s.review(draft, "lan", &ReviewAction::Approve),
        Refusal::Conflict,
        "wrong_state",
    );
    assert_refused(
        s.review(AssessmentId::new_v7(), "lan", &ReviewAction::Approve),
        Refusal::NotFound,
        "not_found",
    );

    let heard: Vec<(ReviewState, Option<String>)> = pull_all(&*s, &phone, 0, 100)
        .into_iter()
        .filter_map(|c| match c.change {
            Change::Review {
                assessment,
                state,
                reason,
            } if assessment == aid => Some((state, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        heard,
        vec![
            (ReviewState::Approved, None),
            (ReviewState::Returned, Some("Thiếu minh chứng".to_owned()))
        ]
    );
}

fn decision(assessments: Vec<AssessmentId>) -> Recognition {
    Recognition {
        decision_no: "12/QĐ-UBND".into(),
        decision_date: "2026-05-20".into(),
        assessments,
    }
}

/// Recognition takes approved assessments of the unit's subtree, all or
/// none, records the decision and tells the phone; anything not approved,
/// or outside the subtree, refuses the whole decision.
pub fn recognition(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (_, one) =
        person_with_assessment(&*s, &phone, 1, "Một", None, 2025, DeviceState::Submitted);
    let (_, two) =
        person_with_assessment(&*s, &phone, 2, "Hai", None, 2025, DeviceState::Submitted);
    let far = enrol(&*s, "C2");
    let (_, three) = person_with_assessment(&*s, &far, 1, "Ba", None, 2025, DeviceState::Submitted);
    for id in [one, three] {
        s.review(id, "lan", &ReviewAction::Approve).unwrap();
    }
    assert_refused(
        s.recognise("C1", "chu-tich", &decision(vec![one, two])),
        Refusal::Conflict,
        "wrong_state",
    );
    assert_eq!(state(&*s, one), "approved", "all or none");
    assert_refused(
        s.recognise("C1", "chu-tich", &decision(vec![one, three])),
        Refusal::NotFound,
        "not_found",
    );
    assert_eq!(state(&*s, one), "approved");

    s.recognise("D", "chu-tich", &decision(vec![one, three]))
        .unwrap();
    let record = s.assessment_record(one).unwrap().unwrap();
    assert_eq!(record.state, "recognised");
    assert_eq!(record.decision_no.as_deref(), Some("12/QĐ-UBND"));
    assert_eq!(record.decision_date.as_deref(), Some("2026-05-20"));
    assert_eq!(record.last_review.unwrap().action, "recognise");
    assert_eq!(state(&*s, three), "recognised");
    assert_refused(
        s.recognise("D", "chu-tich", &decision(vec![one])),
        Refusal::Conflict,
        "wrong_state",
    );

    let heard: Vec<(AssessmentId, String)> = pull_all(&*s, &phone, 0, 100)
        .into_iter()
        .filter_map(|c| match c.change {
            Change::Recognition {
                assessment,
                decision_no,
                ..
            } => Some((assessment, decision_no)),
            _ => None,
        })
        .collect();
    assert_eq!(
        heard,
        vec![(one, "12/QĐ-UBND".to_owned())],
        "only its own person's"
    );
}

/// A person (by keyed CCCD) recognised in one unit this year is not
/// recognised again elsewhere the same year; another year is fine.
pub fn recognised_elsewhere(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let cccd = Some("001088004321");
    let here = enrol(&*s, "C1");
    let there = enrol(&*s, "C2");
    let (_, first) = person_with_assessment(
        &*s,
        &here,
        1,
        "Lò Văn G",
        cccd,
        2025,
        DeviceState::Submitted,
    );
    let (_, second) = person_with_assessment(
        &*s,
        &there,
        1,
        "Lò Văn G",
        cccd,
        2025,
        DeviceState::Submitted,
    );
    let (_, next_year) = person_with_assessment(
        &*s,
        &there,
        2,
        "Lò Văn G",
        cccd,
        2026,
        DeviceState::Submitted,
    );
    for id in [first, second, next_year] {
        s.review(id, "lan", &ReviewAction::Approve).unwrap();
    }
    s.recognise("C1", "chu-tich", &decision(vec![first]))
        .unwrap();
    assert_refused(
        s.recognise("C2", "chu-tich", &decision(vec![second])),
        Refusal::Conflict,
        "already_recognised_elsewhere",
    );
    assert_eq!(state(&*s, second), "approved");
    s.recognise("C2", "chu-tich", &decision(vec![next_year]))
        .unwrap();
    assert_eq!(state(&*s, next_year), "recognised");
}

/// Pushes, reviews and recognitions are in the audit log of the unit and
/// of every unit above it, in order, with who, what and from which state;
/// never in another unit's.
pub fn audit_trail(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (_, aid) = person_with_assessment(
        &*s,
        &phone,
        1,
        "Lò Văn H",
        None,
        2025,
        DeviceState::Submitted,
    );
    s.review(aid, "lan", &ReviewAction::Approve).unwrap();
    s.recognise("C1", "chu-tich", &decision(vec![aid])).unwrap();
    let entries = s.audit("C1").unwrap();
    let about: Vec<_> = entries
        .iter()
        .filter(|e| e.assessment.as_deref() == Some(aid.to_string().as_str()))
        .map(|e| {
            (
                e.action.as_str(),
                e.from_state.as_deref(),
                e.to_state.as_deref(),
                e.unit.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        about,
        vec![
            ("push", None, Some("submitted"), Some("C1")),
            ("approve", Some("submitted"), Some("approved"), Some("C1")),
            (
                "recognise",
                Some("approved"),
                Some("recognised"),
                Some("C1")
            ),
        ]
    );
    let push = entries.iter().find(|e| e.action == "push").unwrap();
    assert_eq!(push.actor, format!("device:{}", phone.id()));
    let recognise = entries.iter().find(|e| e.action == "recognise").unwrap();
    assert_eq!(recognise.actor, "chu-tich");
    assert!(recognise
        .detail
        .as_deref()
        .unwrap_or_default()
        .contains("12/QĐ-UBND"));
    assert!(entries.iter().all(|e| !e.at.is_empty()));
    assert_eq!(
        s.audit("P").unwrap().len(),
        entries.len(),
        "the province sees its subtree"
    );
    assert!(s.audit("C2").unwrap().is_empty());
}
