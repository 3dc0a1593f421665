#![allow(clippy::unwrap_used)]
//! The planner's delete rules (`cdht_core::sync::merge`), one example
//! apiece, as docs/sync-protocol.md states them ("Deletes").

use cdht_core::sync::merge::{
    person_removable, plan_delete, plan_delete_ack, plan_pull, DeleteAckOp, DeleteFacts, DeleteOp,
    HeldRecord, PullFacts, PullOp, PullSkip,
};
use cdht_core::sync::{
    AckOutcome, Deletable, RecordBody, RecordEnvelope, RecordKind, ReviewState, Tombstone,
    FEATURE_DELETE,
};
use cdht_core::Code;

const ID: &str = "019a0000-0000-7000-8000-0000000000b2";

fn tombstone(record: Deletable) -> RecordBody {
    RecordBody::Tombstone(Tombstone {
        id: ID.parse().unwrap(),
        record,
    })
}

fn assessment(sync_version: u32, state: ReviewState) -> DeleteFacts {
    DeleteFacts {
        sync_version,
        state: Some(state),
        live_assessments: false,
        deleting: false,
    }
}

fn person(sync_version: u32, live_assessments: bool) -> DeleteFacts {
    DeleteFacts {
        sync_version,
        state: None,
        live_assessments,
        deleting: false,
    }
}

#[test]
fn a_tombstone_is_a_version_of_the_record_it_deletes() {
    let body = tombstone(Deletable::Assessment);
    assert_eq!(body.kind(), RecordKind::Assessment);
    assert_eq!(body.id().to_string(), ID);
    assert!(body.is_tombstone());
    assert_eq!(tombstone(Deletable::Person).kind(), RecordKind::Person);
    // On the wire: its own kind, the id, and what it deletes.
    let json = String::from_utf8(body.canonical_json()).unwrap();
    assert_eq!(
        json,
        format!(r#"{{"kind":"tombstone","id":"{ID}","record":"assessment"}}"#)
    );
    let back: RecordBody = serde_json::from_str(&json).unwrap();
    assert_eq!(back, body);
    // Evidence goes with its assessment: no tombstone of its own.
    let evidence = format!(r#"{{"kind":"tombstone","id":"{ID}","record":"evidence"}}"#);
    assert!(serde_json::from_str::<RecordBody>(&evidence).is_err());
    assert_eq!(FEATURE_DELETE, "delete");
}

#[test]
fn a_record_the_server_never_had_goes_at_once() {
    assert_eq!(
        plan_delete(&assessment(0, ReviewState::Draft)),
        DeleteOp::Local
    );
    assert_eq!(plan_delete(&person(0, false)), DeleteOp::Local);
}

#[test]
fn a_record_the_server_has_is_deleted_by_a_tombstone_one_version_up() {
    for state in [ReviewState::Draft, ReviewState::Submitted] {
        assert_eq!(
            plan_delete(&assessment(3, state)),
            DeleteOp::Send { version: 4 }
        );
    }
    assert_eq!(
        plan_delete(&person(1, false)),
        DeleteOp::Send { version: 2 }
    );
    // Past the last version there is none to send.
    assert_eq!(
        plan_delete(&person(u32::MAX, false)),
        DeleteOp::Refuse(Code::RecordDeleted)
    );
}

#[test]
fn after_review_a_delete_is_refused() {
    for state in [
        ReviewState::Returned,
        ReviewState::Approved,
        ReviewState::Recognised,
    ] {
        assert_eq!(
            plan_delete(&assessment(2, state)),
            DeleteOp::Refuse(Code::DeleteAfterReview),
            "{state:?}"
        );
        // Even if the server never had this version (a pulled record).
        assert_eq!(
            plan_delete(&assessment(0, state)),
            DeleteOp::Refuse(Code::DeleteAfterReview)
        );
    }
}

#[test]
fn a_person_with_assessments_left_is_not_deleted() {
    assert_eq!(
        plan_delete(&person(1, true)),
        DeleteOp::Refuse(Code::PersonHasAssessments)
    );
    assert_eq!(
        plan_delete(&person(0, true)),
        DeleteOp::Refuse(Code::PersonHasAssessments)
    );
}

#[test]
fn a_delete_on_its_way_is_not_sent_twice() {
    let mut facts = assessment(4, ReviewState::Submitted);
    facts.deleting = true;
    assert_eq!(plan_delete(&facts), DeleteOp::Refuse(Code::RecordDeleted));
}

#[test]
fn the_servers_answer_removes_or_restores() {
    assert_eq!(plan_delete_ack(AckOutcome::Accepted), DeleteAckOp::Remove);
    assert_eq!(plan_delete_ack(AckOutcome::AlreadyHad), DeleteAckOp::Remove);
    // Reviewed meanwhile, or edited elsewhere first: shown again.
    assert_eq!(plan_delete_ack(AckOutcome::Rejected), DeleteAckOp::Restore);
    assert_eq!(
        plan_delete_ack(AckOutcome::Superseded),
        DeleteAckOp::Restore
    );
}

fn pull(held: Option<HeldRecord>, version: u32) -> PullOp {
    let facts = PullFacts {
        held,
        parent_held: true,
    };
    plan_pull(
        &facts,
        &RecordEnvelope::seal(tombstone(Deletable::Assessment), version),
    )
}

fn held(sync_version: u32) -> HeldRecord {
    HeldRecord {
        sync_version,
        ..HeldRecord::default()
    }
}

#[test]
fn a_pulled_tombstone_removes_what_is_held_and_nothing_else() {
    assert_eq!(pull(Some(held(1)), 2), PullOp::Remove);
    // Never held here: nothing to delete, nothing inserted.
    assert_eq!(pull(None, 2), PullOp::Skip(PullSkip::NotHeld));
    // Not above the version held: already applied.
    assert_eq!(pull(Some(held(2)), 2), PullOp::Skip(PullSkip::NotNewer));
    // This device's own edit is on its way: the server decides first.
    let mut pending = held(1);
    pending.unacked_push = true;
    assert_eq!(pull(Some(pending), 2), PullOp::Defer);
    // The delete won over this device's refused edit of the same version.
    let mut refused = held(2);
    refused.unsettled_refusals = vec![2];
    assert_eq!(pull(Some(refused), 2), PullOp::Remove);
}

#[test]
fn a_pulled_persons_tombstone_waits_for_their_assessments_here() {
    assert!(person_removable(false));
    assert!(!person_removable(true));
}
