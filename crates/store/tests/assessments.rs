#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::{CatalogId, GroupId, IndicatorId, LevelId};
use cdht_core::sync::{
    AckOutcome, Change, DeviceState, PullResponse, PushResponse, RecordAck, RecordBody,
    ReviewState, ServerChange,
};
use cdht_core::{Answer, AreaType};
use cdht_store::{
    AssessmentStatus, ErrorKind, OutboxState, RecordKind, Review, ScoreSummary, Store,
};
use common::*;
use sha2::Digest;

fn ind(id: &str) -> IndicatorId {
    IndicatorId::new(id)
}

#[test]
fn autosave_round_trip_bumps_revision_and_survives_reopen() {
    let (dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    assert_eq!(a.revision, 1);
    assert_eq!(a.status, AssessmentStatus::Draft);

    let s1 = store
        .set_answer(id, &ind("1.1"), &Answer::Points(8), None)
        .unwrap();
    assert_eq!(s1.revision, 2);
    let s2 = store
        .set_answer(
            id,
            &ind("1.2"),
            &Answer::Level(LevelId::new("a")),
            Some(ScoreSummary {
                total_points: 18,
                passed: false,
            }),
        )
        .unwrap();
    assert_eq!(s2.revision, 3);
    assert!(s2.updated_at_ms >= s1.updated_at_ms);
    // Overwriting an answer keeps one row per indicator.
    store
        .set_answer(id, &ind("1.1"), &Answer::Points(10), None)
        .unwrap();
    store
        .set_answer(id, &ind("2.1"), &Answer::Points(5), None)
        .unwrap();
    let saved = store.clear_answer(id, &ind("2.1"), None).unwrap();
    assert_eq!(saved.revision, 6);
    drop(store);

    let store = Store::open_with_key_file(dir.path()).unwrap();
    let detail = store.assessment_detail(id).unwrap();
    assert_eq!(detail.assessment.revision, 6);
    assert_eq!(detail.assessment.updated_at_ms, saved.updated_at_ms);
    assert_eq!(
        detail.assessment.score,
        Some(ScoreSummary {
            total_points: 18,
            passed: false
        })
    );
    assert_eq!(
        detail.answers.0,
        vec![
            (ind("1.1"), Answer::Points(10)),
            (ind("1.2"), Answer::Level(LevelId::new("a"))),
        ]
    );
}

#[test]
fn invalid_answers_are_refused() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    for bad in [Answer::Points(-1), Answer::Points(101)] {
        let err = store.set_answer(id, &ind("1.1"), &bad, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    let err = store
        .set_answer(id, &ind(""), &Answer::Points(5), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let missing = cdht_core::ids::AssessmentId::new_v7();
    let err = store
        .set_answer(missing, &ind("1.1"), &Answer::Points(5), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(store.assessment(id).unwrap().revision, 1);
}

#[test]
fn one_assessment_per_person_and_year() {
    let (_dir, mut store, a) = store_with_draft();
    let again = store
        .create_or_get_assessment(
            a.person_id,
            YEAR,
            &CatalogId::new("244-2022"),
            &GroupId::new("farmers"),
            AreaType::Difficult,
        )
        .unwrap();
    assert_eq!(again.assessment_id, a.assessment_id);
    assert_eq!(
        again.catalog_id, a.catalog_id,
        "the existing one, unchanged"
    );

    let next_year = store
        .create_or_get_assessment(
            a.person_id,
            YEAR + 1,
            &a.catalog_id,
            &a.group_id,
            AreaType::Normal,
        )
        .unwrap();
    assert_ne!(next_year.assessment_id, a.assessment_id);
    let history = store.history(a.person_id).unwrap();
    assert_eq!(
        history.iter().map(|h| h.year).collect::<Vec<_>>(),
        [YEAR + 1, YEAR]
    );

    // The database itself refuses a second row for the same person and year.
    let raw = common::raw(store.data_dir());
    let err = raw
        .execute(
            "INSERT INTO assessments (assessment_id, person_id, year, catalog_id, group_id,
                 area_type, created_at_ms, updated_at_ms)
             VALUES ('x', ?1, ?2, 'c', 'g', 'normal', 0, 0)",
            (a.person_id.to_string(), YEAR),
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
}

#[test]
fn edits_are_refused_after_submit() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    store
        .set_answer(id, &ind("1.1"), &Answer::Points(8), None)
        .unwrap();
    store.submit_assessment(id).unwrap();
    let before = store.assessment_detail(id).unwrap();
    assert_eq!(before.assessment.status, AssessmentStatus::Submitted);
    assert!(before.assessment.submitted_at_ms.is_some());

    let err = store
        .set_answer(id, &ind("1.1"), &Answer::Points(2), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked);
    assert_eq!(
        store
            .clear_answer(id, &ind("1.1"), None)
            .unwrap_err()
            .kind(),
        ErrorKind::Locked
    );
    assert_eq!(
        store
            .add_evidence(id, &ind("1.1"), &fake_jpeg(1, 100), &jpeg_meta())
            .unwrap_err()
            .kind(),
        ErrorKind::Locked
    );
    assert_eq!(
        store.submit_assessment(id).unwrap_err().kind(),
        ErrorKind::Locked
    );
    assert_eq!(store.assessment_detail(id).unwrap(), before);

    // Approved and recognised stay locked.
    store.apply_review(id, &Review::Approved).unwrap();
    assert_eq!(
        store
            .set_answer(id, &ind("1.1"), &Answer::Points(2), None)
            .unwrap_err()
            .kind(),
        ErrorKind::Locked
    );
    let recognised = store
        .apply_review(
            id,
            &Review::Recognised {
                decision_number: "15/QĐ-KH".to_owned(),
                decision_date: chrono::NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
            },
        )
        .unwrap();
    assert_eq!(recognised.status, AssessmentStatus::Recognised);
    assert_eq!(recognised.decision_number.as_deref(), Some("15/QĐ-KH"));
    // A replayed decision is a no-op; one out of order is a conflict.
    store
        .apply_review(
            id,
            &Review::Recognised {
                decision_number: "15/QĐ-KH".to_owned(),
                decision_date: chrono::NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
            },
        )
        .unwrap();
    assert_eq!(
        store
            .apply_review(id, &Review::Approved)
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
}

/// Everything waiting is accepted by the server, all of it acked.
fn accept_all_acked(store: &mut Store) -> cdht_store::FrozenBatch {
    let (batch, acked) = accept_all(store);
    assert_eq!(acked, batch.entries.len());
    batch
}

#[test]
fn submit_freezes_an_outbox_row_and_a_later_edit_is_a_new_version() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    store
        .set_answer(id, &ind("1.1"), &Answer::Points(8), None)
        .unwrap();
    let first = store.submit_assessment(id).unwrap();
    assert_eq!(first.record_kind, RecordKind::Assessment);
    assert_eq!(first.record_id, id.to_string());
    assert_eq!(first.state, OutboxState::Pending);
    assert_eq!(first.version, 1);
    // The payload is the protocol's record body, hashed as the server checks it.
    let body: RecordBody = serde_json::from_str(&first.payload_json).unwrap();
    assert_eq!(body.canonical_json(), first.payload_json.as_bytes());
    assert_eq!(
        first.content_sha256,
        format!("{:x}", sha2::Sha256::digest(first.payload_json.as_bytes()))
    );
    let RecordBody::Assessment(record) = &body else {
        panic!("{body:?}")
    };
    assert_eq!(record.id, id);
    assert_eq!(record.state, DeviceState::Submitted);
    assert_eq!(record.answers.get("1.1"), Some(&Answer::Points(8)));
    // The person's profile goes first, without a CCCD (none was given).
    let queued = store.outbox_pending(10).unwrap();
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].record_kind, RecordKind::Person);
    assert!(!queued[0].payload_json.contains("\"cccd\":\""));
    assert_eq!(queued[1], first);

    // Pushed, accepted, then returned by the officer.
    let batch = accept_all_acked(&mut store);
    assert_eq!(batch.seq, 1);
    let returned = store
        .apply_review(
            id,
            &Review::Returned {
                reason: "Thiếu minh chứng cho chỉ số 1.1".to_owned(),
            },
        )
        .unwrap();
    assert_eq!(returned.status, AssessmentStatus::Returned);

    // Editable again; the resubmission is version 2 and leaves version 1 alone.
    store
        .set_answer(id, &ind("1.1"), &Answer::Points(6), None)
        .unwrap();
    let second = store.submit_assessment(id).unwrap();
    assert_eq!(second.version, 2);
    assert_ne!(second.content_sha256, first.content_sha256);
    let first_now = store.outbox_entry(first.outbox_id).unwrap();
    assert_eq!(first_now.payload_json, first.payload_json);
    assert_eq!(first_now.content_sha256, first.content_sha256);
    assert_eq!(first_now.state, OutboxState::Acked);
    // The profile did not change: not queued again.
    assert_eq!(store.outbox_pending(10).unwrap(), vec![second.clone()]);
    assert!(second.payload_json.contains("\"1.1\":6"));
    assert_eq!(store.assessment(id).unwrap().return_reason, None);
    let next = store.open_push_batch(200).unwrap().unwrap();
    assert_eq!(next.seq, 2);

    // The database refuses to rewrite a frozen payload or drop an unacked row.
    let raw = common::raw(store.data_dir());
    assert!(raw
        .execute(
            "UPDATE outbox SET payload_json = '{}' WHERE outbox_id = ?1",
            [second.outbox_id]
        )
        .is_err());
    assert!(raw
        .execute(
            "DELETE FROM outbox WHERE outbox_id = ?1",
            [second.outbox_id]
        )
        .is_err());
    assert_eq!(
        raw.execute("DELETE FROM outbox WHERE outbox_id = ?1", [first.outbox_id])
            .unwrap(),
        1
    );
}

#[test]
fn a_batch_is_frozen_until_answered_and_its_seq_is_a_counter() {
    let (_dir, mut store) = open_temp();
    join_unit(&mut store);
    for name in ["Lò Văn Páo", "Lù Thị Mai"] {
        let person = add_person(&mut store, name);
        let a = draft(&mut store, person);
        store.submit_assessment(a.assessment_id).unwrap();
    }
    let batch = store.open_push_batch(3).unwrap().unwrap();
    assert_eq!(batch.entries.len(), 3);
    assert_eq!(batch.seq, 1);
    // A retry (after a timeout, or a restart) gets the very same batch.
    store.mark_batch_sent(batch.batch_id).unwrap();
    store.mark_batch_retry(batch.batch_id, "timeout").unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    let again = store.open_push_batch(200).unwrap().unwrap();
    assert_eq!(again.batch_id, batch.batch_id);
    assert_eq!(again.seq, batch.seq);
    assert_eq!(
        again.to_push_batch().unwrap(),
        batch.to_push_batch().unwrap()
    );
    assert!(again.entries.iter().all(|e| e.attempts == 2));

    // A reinstall: the server already applied up to 41. The open batch is given
    // up and its rows go out again under a fresh number.
    store.note_server_push_seq(41).unwrap();
    store.note_server_push_seq(7).unwrap(); // never backwards
    assert_eq!(store.next_push_seq().unwrap(), 42);
    store.abandon_push_batch(batch.batch_id).unwrap();
    let fresh = store.open_push_batch(200).unwrap().unwrap();
    assert_ne!(fresh.batch_id, batch.batch_id);
    assert_eq!(fresh.seq, 42);
    assert_eq!(fresh.entries.len(), 4);
    assert_eq!(
        store.mark_batch_sent(batch.batch_id).unwrap_err().kind(),
        ErrorKind::Conflict
    );
}

#[test]
fn a_rejected_submission_is_parked_and_the_assessment_returned() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    store.submit_assessment(id).unwrap();
    let batch = store.open_push_batch(200).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    let request = batch.to_push_batch().unwrap();
    let acks = request
        .records
        .iter()
        .map(|r| {
            let rejected = r.body.kind() == cdht_core::sync::RecordKind::Assessment;
            RecordAck {
                id: r.body.id(),
                kind: r.body.kind(),
                version: r.version,
                outcome: if rejected {
                    AckOutcome::Rejected
                } else {
                    AckOutcome::Accepted
                },
                code: rejected.then(|| "missing_indicators".to_owned()),
                message: rejected.then(|| "Chưa trả lời đủ 10 chỉ số".to_owned()),
                score: None,
            }
        })
        .collect();
    let response = PushResponse {
        batch_id: request.batch_id,
        seq: request.seq,
        acks,
    };
    let outcome = store.apply_push_response(&response).unwrap();
    assert_eq!((outcome.acked, outcome.rejected), (1, 1));
    // A second delivery of the same answer changes nothing.
    assert_eq!(
        store.apply_push_response(&response).unwrap(),
        Default::default()
    );
    assert!(store.outbox_pending(10).unwrap().is_empty());
    let parked = store.outbox_in_state(OutboxState::Rejected, 10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].reject_code.as_deref(), Some("missing_indicators"));
    assert_eq!(store.open_refusals(10).unwrap(), parked);
    let assessment = store.assessment(id).unwrap();
    assert_eq!(assessment.status, AssessmentStatus::Returned);
    assert_eq!(
        assessment.return_reason.as_deref(),
        Some("Chưa trả lời đủ 10 chỉ số")
    );
    // Fixed and resubmitted: a new version, pushed in a new batch.
    store
        .set_answer(id, &ind("1.1"), &Answer::Points(9), None)
        .unwrap();
    assert_eq!(store.submit_assessment(id).unwrap().version, 2);
    assert!(
        store.open_refusals(10).unwrap().is_empty(),
        "resubmitted: the refusal no longer asks for a fix"
    );
    assert_eq!(
        store
            .outbox_in_state(OutboxState::Rejected, 10)
            .unwrap()
            .len(),
        1,
        "the refused row itself is kept"
    );
    assert!(store.open_push_batch(200).unwrap().unwrap().seq > batch.seq);
}

#[test]
fn pull_applies_reviews_and_moves_the_cursor_together() {
    let (dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    store.submit_assessment(id).unwrap();
    accept_all_acked(&mut store);
    assert_eq!(store.pull_cursor(&unit_code()).unwrap(), 0);
    let change = |seq: u64, change: Change| ServerChange {
        seq,
        at: "2025-11-02T03:04:05Z".to_owned(),
        change,
    };
    let page = PullResponse {
        cursor: 12,
        more: false,
        changes: vec![
            change(
                10,
                Change::Review {
                    assessment: id,
                    state: ReviewState::Approved,
                    reason: None,
                },
            ),
            // Another device's assessment: not held here.
            change(
                11,
                Change::Review {
                    assessment: cdht_core::ids::AssessmentId::new_v7(),
                    state: ReviewState::Returned,
                    reason: Some("x".to_owned()),
                },
            ),
            change(
                12,
                Change::Recognition {
                    assessment: id,
                    decision_no: "07/QĐ-HKH".to_owned(),
                    decision_date: "2025-12-01".to_owned(),
                },
            ),
        ],
    };
    let outcome = store.apply_pull(&unit_code(), &page).unwrap();
    assert_eq!(
        (outcome.applied, outcome.not_held, outcome.skipped),
        (2, 1, 0)
    );
    assert_eq!(outcome.cursor, 12);
    // Replaying the page is harmless: the stale approval is skipped, not applied
    // over the recognition, and nothing fails.
    let again = store.apply_pull(&unit_code(), &page).unwrap();
    assert_eq!((again.applied, again.not_held, again.skipped), (1, 1, 1));
    drop(store);

    let store = Store::open_with_key_file(dir.path()).unwrap();
    assert_eq!(store.pull_cursor(&unit_code()).unwrap(), 12);
    let assessment = store.assessment(id).unwrap();
    assert_eq!(assessment.status, AssessmentStatus::Recognised);
    assert_eq!(assessment.decision_number.as_deref(), Some("07/QĐ-HKH"));
}
