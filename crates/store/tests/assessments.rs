#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::{CatalogId, GroupId, IndicatorId, LevelId};
use cdht_core::{Answer, AreaType};
use cdht_store::{
    AssessmentStatus, ErrorKind, OutboxState, RecordKind, Review, ScoreSummary, Store,
};
use common::*;

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

    let store = Store::open(dir.path()).unwrap();
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
    let raw = rusqlite::Connection::open(store.data_dir().join(cdht_store::DB_FILE_NAME)).unwrap();
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

#[test]
fn submit_freezes_an_outbox_row_and_a_later_edit_is_a_new_revision() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    store
        .set_answer(id, &ind("1.1"), &Answer::Points(8), None)
        .unwrap();
    let seq_before = store.next_push_seq().unwrap();
    let first = store.submit_assessment(id).unwrap();
    assert_eq!(first.record_kind, RecordKind::Assessment);
    assert_eq!(first.record_id, id.to_string());
    assert_eq!(first.state, OutboxState::Pending);
    assert_eq!(first.push_seq, seq_before);
    assert_eq!(first.revision, store.assessment(id).unwrap().revision);
    let payload: serde_json::Value = serde_json::from_str(&first.payload_json).unwrap();
    assert_eq!(payload["assessment_id"], id.to_string());
    assert_eq!(payload["revision"], first.revision);
    assert_eq!(payload["input"]["answers"]["1.1"], 8);
    assert_eq!(payload["person"]["full_name"], "Nguyễn Văn An");
    assert!(
        payload["person"].get("cccd").is_none(),
        "no CCCD without consent"
    );
    assert_eq!(payload["device_id"], store.device_id().to_string());
    assert_eq!(store.outbox_pending(10).unwrap(), vec![first.clone()]);

    // Sent, acknowledged, then returned by the officer.
    store.mark_outbox_sent(first.outbox_id).unwrap();
    store.mark_outbox_acked(first.outbox_id).unwrap();
    store.mark_outbox_acked(first.outbox_id).unwrap(); // replayed ack
    let returned = store
        .apply_review(
            id,
            &Review::Returned {
                reason: "Thiếu minh chứng cho chỉ số 1.1".to_owned(),
            },
        )
        .unwrap();
    assert_eq!(returned.status, AssessmentStatus::Returned);

    // Editable again; the edit is a new revision and leaves the sent payload alone.
    let saved = store
        .set_answer(id, &ind("1.1"), &Answer::Points(6), None)
        .unwrap();
    assert!(saved.revision > first.revision);
    let second = store.submit_assessment(id).unwrap();
    assert!(second.revision > saved.revision);
    assert!(second.push_seq > first.push_seq);
    assert_ne!(second.content_sha256, first.content_sha256);
    let first_now = store.outbox_entry(first.outbox_id).unwrap();
    assert_eq!(first_now.payload_json, first.payload_json);
    assert_eq!(first_now.content_sha256, first.content_sha256);
    assert_eq!(first_now.state, OutboxState::Acked);
    let payload: serde_json::Value = serde_json::from_str(&second.payload_json).unwrap();
    assert_eq!(payload["input"]["answers"]["1.1"], 6);
    assert_eq!(store.assessment(id).unwrap().return_reason, None);

    // The database refuses to rewrite a frozen payload or drop an unacked row.
    let raw = rusqlite::Connection::open(store.data_dir().join(cdht_store::DB_FILE_NAME)).unwrap();
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
fn push_sequence_is_a_counter_not_a_count() {
    let (_dir, mut store) = open_temp();
    join_unit(&mut store);
    let mut seqs = Vec::new();
    for name in ["Lò Văn Páo", "Lù Thị Mai", "Hà Văn Sinh"] {
        let person = add_person(&mut store, name);
        let a = draft(&mut store, person);
        seqs.push(store.submit_assessment(a.assessment_id).unwrap().push_seq);
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let next = store.next_push_seq().unwrap();
    assert_eq!(next, seqs[2] + 1);
    // Acked rows dropped (e.g. pruned) never make a number come back.
    for entry in store.outbox_pending(10).unwrap() {
        store.mark_outbox_sent(entry.outbox_id).unwrap();
        store.mark_outbox_acked(entry.outbox_id).unwrap();
    }
    let raw = rusqlite::Connection::open(store.data_dir().join(cdht_store::DB_FILE_NAME)).unwrap();
    raw.execute("DELETE FROM outbox", []).unwrap();
    let person = add_person(&mut store, "Mùa A Dính");
    let a = draft(&mut store, person);
    assert_eq!(
        store.submit_assessment(a.assessment_id).unwrap().push_seq,
        next
    );
}

#[test]
fn a_rejected_submission_is_parked_and_the_assessment_returned() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    let entry = store.submit_assessment(id).unwrap();
    store.mark_outbox_sent(entry.outbox_id).unwrap();
    store
        .mark_outbox_retry(entry.outbox_id, "timeout after 30 s")
        .unwrap();
    let retried = store.outbox_entry(entry.outbox_id).unwrap();
    assert_eq!(retried.state, OutboxState::Pending);
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.last_error.as_deref(), Some("timeout after 30 s"));

    store.mark_outbox_sent(entry.outbox_id).unwrap();
    store
        .mark_outbox_rejected(entry.outbox_id, "year 2025 is closed for this unit")
        .unwrap();
    assert!(store.outbox_pending(10).unwrap().is_empty());
    let parked = store.outbox_in_state(OutboxState::Rejected, 10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].attempts, 2);
    let assessment = store.assessment(id).unwrap();
    assert_eq!(assessment.status, AssessmentStatus::Returned);
    assert_eq!(
        assessment.return_reason.as_deref(),
        Some("year 2025 is closed for this unit")
    );
    assert_eq!(
        store.mark_outbox_acked(entry.outbox_id).unwrap_err().kind(),
        ErrorKind::Conflict
    );
}
