//! Deletes (docs/sync-protocol.md, "Deletes"): a tombstone version of a
//! person or an assessment entered by mistake, allowed only before review.

use crate::db::ReviewAction;
use crate::fixture::{
    acks, collector, enrol, person_with_assessment, pull_all, push, push_batch, rejected, tree,
};
use crate::Backend;
use cdht_core::sync::{
    AckOutcome, Change, Deletable, DeviceState, RecordBody, RecordEnvelope, Tombstone,
    FEATURE_DELETE,
};
use cdht_test_support::records;

/// A tombstone version, sealed as a device sends it.
fn tombstone(id: uuid::Uuid, record: Deletable, version: u32) -> RecordEnvelope {
    RecordEnvelope::seal(RecordBody::Tombstone(Tombstone { id, record }), version)
}

fn deleting(seq: u64, records: Vec<RecordEnvelope>) -> cdht_core::sync::PushBatch {
    let mut b = records::batch(seq, records);
    b.features = vec![FEATURE_DELETE.to_owned()];
    b
}

/// Before review an assessment, then its person, are deleted: gone from
/// the lists, pulled as tombstones by a device that held them; a replay is
/// `already_had`, a later edit `record_deleted`; after review the delete is
/// refused (`delete_after_review`), and a person with an assessment left
/// cannot go (`person_has_assessments`).
pub fn deletes_before_review_only(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let watcher = collector(&*s, "C1");
    let (pid, aid) = person_with_assessment(
        &*s,
        &phone,
        1,
        "Nhập Nhầm",
        None,
        2025,
        DeviceState::Submitted,
    );
    let (kept_pid, reviewed) = person_with_assessment(
        &*s,
        &phone,
        2,
        "Giữ Lại",
        None,
        2025,
        DeviceState::Submitted,
    );
    let (pid_uuid, aid_uuid, reviewed_uuid) = (*pid.as_uuid(), *aid.as_uuid(), *reviewed.as_uuid());
    let held_before = pull_all(&*s, &watcher, 0, 100).len();
    assert!(held_before >= 4);

    // A person with an assessment left cannot go.
    let refused = acks(&push_batch(
        &*s,
        &phone,
        &deleting(3, vec![tombstone(pid_uuid, Deletable::Person, 2)]),
    ));
    assert_eq!(rejected(&refused[0]), "person_has_assessments");
    // The assessment, then the person.
    let done = acks(&push_batch(
        &*s,
        &phone,
        &deleting(
            4,
            vec![
                tombstone(aid_uuid, Deletable::Assessment, 2),
                tombstone(pid_uuid, Deletable::Person, 2),
            ],
        ),
    ));
    assert!(
        done.iter().all(|a| a.outcome == AckOutcome::Accepted),
        "{done:?}"
    );
    let listed: Vec<_> = s
        .list_assessments("C1")
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, vec![reviewed], "the deleted assessment is gone");
    assert!(s.assessment_record(aid).unwrap().is_none());
    assert_eq!(s.stats().unwrap().persons, 1);
    // The watcher pulls both tombstones, after what it held.
    let after = pull_all(&*s, &watcher, 0, 100);
    let gone: Vec<_> = after
        .iter()
        .filter_map(|c| match &c.change {
            Change::Record { record, .. } if record.body.is_tombstone() => Some(record.body.id()),
            _ => None,
        })
        .collect();
    assert_eq!(gone, vec![aid_uuid, pid_uuid]);
    // A replay in a new batch is already had; an edit of the deleted id is refused.
    let again = acks(&push_batch(
        &*s,
        &phone,
        &deleting(5, vec![tombstone(aid_uuid, Deletable::Assessment, 2)]),
    ));
    assert_eq!(again[0].outcome, AckOutcome::AlreadyHad, "{again:?}");
    let edit = push(
        &*s,
        &phone,
        6,
        vec![RecordEnvelope::seal(
            records::assessment(aid, kept_pid, DeviceState::Submitted, [9; 10]),
            3,
        )],
    );
    assert_eq!(rejected(&edit[0]), "record_deleted");

    // After review: refused, and the assessment stays.
    s.review(reviewed, "lan", &ReviewAction::Approve).unwrap();
    let locked = acks(&push_batch(
        &*s,
        &phone,
        &deleting(7, vec![tombstone(reviewed_uuid, Deletable::Assessment, 2)]),
    ));
    assert_eq!(rejected(&locked[0]), "delete_after_review");
    assert_eq!(
        s.assessment_record(reviewed).unwrap().unwrap().state,
        "approved"
    );
}
