#![allow(clippy::unwrap_used)]
//! Deletes on the device (docs/sync-protocol.md, "Deletes"), on real
//! database files: a record the server never had goes at once; any other
//! disappears from the lists at once, its tombstone queued, and goes for
//! good when the server acknowledges it, or shows again with the refusal;
//! a pulled tombstone removes what the device holds.

mod common;

use cdht_core::ids::IndicatorId;
use cdht_core::sync::{
    AckOutcome, Change, Deletable, PullResponse, RecordBody, RecordEnvelope, ServerChange,
    Tombstone,
};
use cdht_core::{Answer, AreaType, Code};
use cdht_store::{DeleteOutcome, ErrorKind, OutboxState, Store, StoreError};
use common::*;

fn listed(store: &Store) -> Vec<(String, bool)> {
    store
        .list_people(YEAR, None, 50, 0)
        .unwrap()
        .into_iter()
        .map(|p| (p.full_name, p.assessment.is_some()))
        .collect()
}

fn refused(err: &StoreError) -> Code {
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    err.code()
}

fn submit(store: &mut Store, id: cdht_core::ids::AssessmentId) {
    let indicator = IndicatorId::new("1.1");
    store
        .set_answer(id, &indicator, &Answer::Points(7), None)
        .unwrap();
    store.submit_assessment(id).unwrap();
}

fn draft_err(store: &mut Store, person: cdht_core::ids::PersonId) -> StoreError {
    store
        .create_or_get_assessment(
            person,
            YEAR,
            &cdht_core::ids::CatalogId::new("324-2023"),
            &cdht_core::ids::GroupId::new("residents"),
            AreaType::Normal,
        )
        .unwrap_err()
}

/// Sends the open batch and answers every record with `outcome`.
fn answer_all(store: &mut Store, outcome: AckOutcome, code: Option<&str>) -> usize {
    let batch = store.open_push_batch(200).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    let push = batch.to_push_batch().unwrap();
    assert!(push.features.iter().any(|f| f == "delete"));
    let mut response = cdht_test_support::accepted_all(&push);
    for ack in &mut response.acks {
        ack.outcome = outcome;
        ack.code = code.map(str::to_owned);
        ack.message = code.map(|_| "Bài đã được duyệt.".to_owned());
    }
    store.apply_push_response(&response).unwrap();
    batch.entries.len()
}

#[test]
fn a_record_never_sent_goes_at_once_and_nothing_is_queued() {
    let (dir, mut store, draft) = store_with_draft();
    let photo = store
        .add_evidence(
            draft.assessment_id,
            &IndicatorId::new("1.1"),
            &fake_jpeg(3, 2000),
            &jpeg_meta(),
        )
        .unwrap();
    let file = dir
        .path()
        .join("evidence")
        .join(&photo.sha256[..2])
        .join(format!("{}.jpg", photo.sha256));
    assert!(file.exists());
    // The person first: their assessment is left.
    let err = store.delete_person(draft.person_id).unwrap_err();
    assert_eq!(refused(&err), Code::PersonHasAssessments);
    assert_eq!(
        store.delete_assessment(draft.assessment_id).unwrap(),
        DeleteOutcome::Removed
    );
    assert!(!file.exists(), "the photo file went with it");
    assert_eq!(
        store.delete_person(draft.person_id).unwrap(),
        DeleteOutcome::Removed
    );
    assert!(listed(&store).is_empty());
    assert_eq!(store.outbox_count(OutboxState::Pending).unwrap(), 0);
    assert_eq!(
        store.person(draft.person_id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn a_sent_record_is_hidden_then_removed_when_the_server_acknowledges() {
    let (_dir, mut store, draft) = store_with_draft();
    let other = add_person(&mut store, "Trần Thị Bình");
    submit(&mut store, draft.assessment_id);
    assert_eq!(accept_all(&mut store).1, 2);

    // Version 2 of the assessment, a tombstone; hidden at once, not editable.
    assert_eq!(
        store.delete_assessment(draft.assessment_id).unwrap(),
        DeleteOutcome::Queued { version: 2 }
    );
    assert_eq!(
        listed(&store),
        vec![
            ("Nguyễn Văn An".to_owned(), false),
            ("Trần Thị Bình".to_owned(), false)
        ]
    );
    assert!(store.history(draft.person_id).unwrap().is_empty());
    let again = store.delete_assessment(draft.assessment_id).unwrap_err();
    assert_eq!(refused(&again), Code::RecordDeleted);
    // Neither opened nor made again for that year while the server has
    // not answered.
    let reopened = draft_err(&mut store, draft.person_id);
    assert_eq!(refused(&reopened), Code::RecordDeleted);
    // The person's tombstone goes after the assessment's, in one batch.
    assert_eq!(
        store.delete_person(draft.person_id).unwrap(),
        DeleteOutcome::Queued { version: 2 }
    );
    assert_eq!(listed(&store), vec![("Trần Thị Bình".to_owned(), false)]);
    let batch = store.open_push_batch(200).unwrap().unwrap();
    let push = batch.to_push_batch().unwrap();
    let bodies: Vec<&RecordBody> = push.records.iter().map(|r| &r.body).collect();
    assert!(matches!(
        bodies[..],
        [
            RecordBody::Tombstone(Tombstone {
                record: Deletable::Assessment,
                ..
            }),
            RecordBody::Tombstone(Tombstone {
                record: Deletable::Person,
                ..
            }),
        ]
    ));
    assert!(push.records.iter().all(RecordEnvelope::verify));
    store.abandon_push_batch(batch.batch_id).unwrap();

    assert_eq!(answer_all(&mut store, AckOutcome::Accepted, None), 2);
    assert_eq!(
        store.assessment(draft.assessment_id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        store.person(draft.person_id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(store.person(other).unwrap().full_name, "Trần Thị Bình");
    assert!(store.open_refusals(10).unwrap().is_empty());
}

#[test]
fn a_refused_delete_shows_the_record_again_with_the_reason() {
    let (_dir, mut store, draft) = store_with_draft();
    submit(&mut store, draft.assessment_id);
    accept_all(&mut store);
    store.delete_assessment(draft.assessment_id).unwrap();
    assert_eq!(listed(&store), vec![("Nguyễn Văn An".to_owned(), false)]);

    answer_all(
        &mut store,
        AckOutcome::Rejected,
        Some("delete_after_review"),
    );
    assert_eq!(listed(&store), vec![("Nguyễn Văn An".to_owned(), true)]);
    let refusals = store.open_refusals(10).unwrap();
    assert_eq!(refusals.len(), 1);
    assert_eq!(
        refusals[0].reject_code.as_deref(),
        Some("delete_after_review")
    );
    // Still submitted here (a refused delete does not hand it back), and
    // its answers are all there.
    let held = store.assessment_detail(draft.assessment_id).unwrap();
    assert_eq!(held.assessment.status.as_str(), "submitted");
    assert_eq!(held.answers.0.len(), 1);
}

#[test]
fn a_pulled_tombstone_removes_the_record_here() {
    let (_dir, mut store, draft) = store_with_draft();
    submit(&mut store, draft.assessment_id);
    accept_all(&mut store);
    let change = |seq: u64, id: uuid::Uuid, record: Deletable| ServerChange {
        seq,
        at: "2025-11-02T03:04:05Z".to_owned(),
        change: Change::Record {
            unit: unit_code(),
            area: AreaType::Normal,
            record: RecordEnvelope::seal(RecordBody::Tombstone(Tombstone { id, record }), 2),
        },
    };
    let stranger = uuid::Uuid::now_v7();
    let page = PullResponse {
        cursor: 3,
        more: false,
        changes: vec![
            change(1, stranger, Deletable::Assessment),
            change(2, *draft.assessment_id.as_uuid(), Deletable::Assessment),
            change(3, *draft.person_id.as_uuid(), Deletable::Person),
        ],
    };
    let outcome = store.apply_pull(&unit_code(), &page).unwrap();
    assert_eq!(outcome.applied, 2, "{outcome:?}");
    assert_eq!(outcome.cursor, 3);
    assert!(listed(&store).is_empty());
    assert_eq!(
        store.assessment(draft.assessment_id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Pulled again: nothing left to remove, nothing inserted.
    let again = store.apply_pull(&unit_code(), &page).unwrap();
    assert_eq!(again.applied, 0);
    assert!(listed(&store).is_empty());
}
