#![allow(clippy::unwrap_used)]
//! Each rule of the device's sync planner (`cdht_core::sync::merge`), one
//! example apiece, as docs/sync-protocol.md states it ("Editing a pulled
//! record", "Push").

use cdht_core::ids::{CatalogId, GroupId, IndicatorId};
use cdht_core::sync::merge::{
    plan_ack, plan_freeze, plan_profile, plan_pull, plan_submission, queue_evidence, AckFacts,
    AckOp, FreezeOp, HeldRecord, PullFacts, PullOp, PullSkip, Replace,
};
use cdht_core::sync::{
    AckOutcome, AssessmentRecord, DeviceState, EvidenceRecord, PersonRecord, RecordBody,
    RecordEnvelope,
};
use cdht_core::{Answer, Answers};

fn answers(points: i64) -> Answers {
    ["1.1", "1.2"]
        .iter()
        .map(|i| (IndicatorId::new(*i), Answer::Points(points)))
        .collect()
}

fn person(keep_cccd: bool, household: Option<&str>) -> RecordBody {
    RecordBody::Person(PersonRecord {
        id: "019a0000-0000-7000-8000-0000000000a1".parse().unwrap(),
        full_name: "Nguyễn Thị Hoà".to_owned(),
        birth_year: Some(1958),
        cccd: None,
        phone: None,
        address: None,
        keep_cccd,
        household: household.map(str::to_owned),
    })
}

fn assessment(points: i64) -> RecordBody {
    RecordBody::Assessment(AssessmentRecord {
        id: "019a0000-0000-7000-8000-0000000000b2".parse().unwrap(),
        person: "019a0000-0000-7000-8000-0000000000a1".parse().unwrap(),
        year: 2025,
        catalog: CatalogId::new("244-2022"),
        group: GroupId::new("farmers"),
        answers: answers(points),
        state: DeviceState::Submitted,
        device_total: None,
    })
}

fn evidence() -> RecordBody {
    RecordBody::Evidence(EvidenceRecord {
        id: "019a0000-0000-7000-8000-0000000000c3".parse().unwrap(),
        assessment: "019a0000-0000-7000-8000-0000000000b2".parse().unwrap(),
        indicator: IndicatorId::new("1.1"),
        sha256: "a".repeat(64),
        size: 1000,
        content_type: "image/jpeg".to_owned(),
    })
}

fn held(sync_version: u32) -> HeldRecord {
    HeldRecord {
        sync_version,
        answers: answers(5),
        ..HeldRecord::default()
    }
}

fn pull(held: Option<HeldRecord>, body: RecordBody, version: u32) -> PullOp {
    let facts = PullFacts {
        held,
        parent_held: true,
    };
    plan_pull(&facts, &RecordEnvelope::seal(body, version))
}

#[test]
fn an_unknown_record_is_inserted_and_a_higher_version_replaces() {
    assert_eq!(pull(None, assessment(7), 1), PullOp::Insert);
    assert_eq!(pull(None, evidence(), 1), PullOp::Insert);
    assert!(matches!(
        pull(Some(held(1)), assessment(7), 2),
        PullOp::Replace(_)
    ));
    assert_eq!(
        pull(Some(held(2)), assessment(7), 2),
        PullOp::Skip(PullSkip::NotNewer)
    );
    assert_eq!(
        pull(Some(held(3)), assessment(7), 2),
        PullOp::Skip(PullSkip::NotNewer)
    );
    assert_eq!(
        pull(Some(held(1)), assessment(7), 0),
        PullOp::Skip(PullSkip::NoVersion)
    );
}

#[test]
fn an_unacknowledged_local_edit_goes_first() {
    let mut local = held(1);
    local.unacked_push = true;
    assert_eq!(pull(Some(local.clone()), assessment(7), 2), PullOp::Defer);
    // Not newer: nothing to wait for.
    assert_eq!(
        pull(Some(local), assessment(7), 1),
        PullOp::Skip(PullSkip::NotNewer)
    );
}

#[test]
fn the_winner_of_a_refused_version_replaces_and_keeps_the_answers() {
    let mut local = held(2);
    local.unsettled_refusals = vec![2];
    let PullOp::Replace(replace) = pull(Some(local.clone()), assessment(7), 2) else {
        panic!("the winner of version 2 replaces the refused one");
    };
    assert!(replace.keep_local_answers);
    // The same answers as pulled: nothing to keep.
    let PullOp::Replace(replace) = pull(Some(local), assessment(5), 2) else {
        panic!("replaced");
    };
    assert!(!replace.keep_local_answers);
}

#[test]
fn answers_edited_here_and_not_sent_are_kept() {
    let mut local = held(1);
    let PullOp::Replace(replace) = pull(Some(local.clone()), assessment(7), 2) else {
        panic!("replaced");
    };
    assert!(!replace.keep_local_answers, "sent answers are not kept");
    local.edited_since_sync = true;
    let PullOp::Replace(replace) = pull(Some(local.clone()), assessment(7), 2) else {
        panic!("replaced");
    };
    assert!(replace.keep_local_answers);
    local.answers = Answers::default();
    let PullOp::Replace(replace) = pull(Some(local), assessment(7), 2) else {
        panic!("replaced");
    };
    assert!(!replace.keep_local_answers, "nothing typed, nothing kept");
}

#[test]
fn keep_cccd_and_an_absent_household_label_leave_the_local_ones() {
    let keep = pull(Some(held(1)), person(true, None), 2);
    assert_eq!(
        keep,
        PullOp::Replace(Replace {
            keep_local_answers: false,
            erase_local_cccd: false,
            keep_household_label: true,
        })
    );
    let erase = pull(Some(held(1)), person(false, Some("Hộ bà Hoà")), 2);
    assert_eq!(
        erase,
        PullOp::Replace(Replace {
            keep_local_answers: false,
            erase_local_cccd: true,
            keep_household_label: false,
        })
    );
}

#[test]
fn a_person_comes_before_its_assessments_and_photos_are_not_fetched() {
    let facts = PullFacts {
        held: None,
        parent_held: false,
    };
    let op = |body| plan_pull(&facts, &RecordEnvelope::seal(body, 1));
    assert_eq!(op(assessment(7)), PullOp::Skip(PullSkip::ParentNotHeld));
    assert_eq!(op(evidence()), PullOp::Skip(PullSkip::ParentNotHeld));
    assert_eq!(op(person(false, None)), PullOp::Insert);
    // An evidence record never changes once held.
    assert_eq!(
        pull(Some(held(1)), evidence(), 2),
        PullOp::Skip(PullSkip::EvidenceUnchanging)
    );
}

#[test]
fn the_outbox_queues_new_versions_and_freezes_batches() {
    assert_eq!(plan_profile(false, 3, false), None);
    assert_eq!(plan_profile(true, 3, false), Some(4));
    assert_eq!(plan_profile(true, 0, true), None, "not on the server yet");
    assert_eq!(plan_profile(true, 0, false), Some(1));
    let plan = plan_submission(true, 0, 2).unwrap();
    assert_eq!(
        (plan.profile_version, plan.assessment_version),
        (Some(1), 3)
    );
    assert_eq!(plan_submission(false, 0, u32::MAX), None);
    assert!(queue_evidence(false, false));
    assert!(!queue_evidence(true, false));
    assert!(
        !queue_evidence(false, true),
        "pulled evidence is on the server"
    );
    assert_eq!(plan_freeze(true, 50, 10), FreezeOp::Resend);
    assert_eq!(plan_freeze(false, 50, 10), FreezeOp::Freeze { records: 10 });
    assert_eq!(
        plan_freeze(false, 500, 1000),
        FreezeOp::Freeze { records: 200 }
    );
    assert_eq!(plan_freeze(false, 3, 0), FreezeOp::Freeze { records: 1 });
    assert_eq!(plan_freeze(false, 0, 10), FreezeOp::Idle);
}

#[test]
fn acks_park_refusals_and_mark_superseded_answers_unsent() {
    let current = AckFacts {
        at_version: true,
        submitted: true,
    };
    let pulled_since = AckFacts::default();
    let returned_since = AckFacts {
        at_version: true,
        submitted: false,
    };
    let park = |return_assessment| AckOp::Park { return_assessment };
    let ack = |unsent| AckOp::Acknowledge { unsent };
    assert_eq!(plan_ack(AckOutcome::Rejected, current), park(true));
    assert_eq!(plan_ack(AckOutcome::Rejected, pulled_since), park(false));
    assert_eq!(plan_ack(AckOutcome::Rejected, returned_since), park(false));
    assert_eq!(plan_ack(AckOutcome::Accepted, current), ack(false));
    assert_eq!(plan_ack(AckOutcome::AlreadyHad, current), ack(false));
    assert_eq!(plan_ack(AckOutcome::Superseded, current), ack(true));
    // A review pulled meanwhile does not make the answers sent.
    assert_eq!(plan_ack(AckOutcome::Superseded, returned_since), ack(true));
    assert_eq!(plan_ack(AckOutcome::Superseded, pulled_since), ack(false));
}

#[test]
fn a_sealed_envelope_verifies_and_a_changed_body_does_not() {
    let mut sealed = RecordEnvelope::seal(assessment(7), 1);
    assert!(sealed.verify());
    assert_eq!(sealed.hash, sealed.body.hash_v1());
    sealed.body = assessment(8);
    assert!(!sealed.verify());
}
