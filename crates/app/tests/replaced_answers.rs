//! Answers a person edited on the device and had not sent, replaced by a newer
//! version another device pushed first (docs/sync-protocol.md, "Editing a
//! pulled record"): the first to reach the server wins, and the person is
//! shown what was kept, can use it again while the assessment is editable,
//! and says "Đã xem".
#![allow(clippy::unwrap_used)]

use cdht_app::{App, ProfileForm};
use cdht_core::ids::{AssessmentId, IndicatorId, LevelId, PersonId};
use cdht_core::sync::{
    AssessmentRecord, Change, DeviceState, PullResponse, RecordBody, ServerChange,
};
use cdht_core::{Answer, Answers, AreaType};
use cdht_store::{Review, Store};
use cdht_test_support::records::v1;
use cdht_test_support::INDICATORS;

const UNIT: &str = "HD-TK-001";

/// The server's state of the assessment, as another device pushed it.
fn pulled(
    seq: u64,
    view: &cdht_app::AssessmentView,
    person: PersonId,
    level: &str,
    state: DeviceState,
    version: u32,
) -> PullResponse {
    let a = &view.assessment;
    let mut record = v1(RecordBody::Assessment(AssessmentRecord {
        id: a.assessment_id,
        person,
        year: u16::try_from(a.year).unwrap(),
        catalog: a.catalog_id.clone(),
        group: a.group_id.clone(),
        answers: Answers(
            INDICATORS
                .iter()
                .map(|i| (IndicatorId::new(*i), Answer::Level(LevelId::new(level))))
                .collect(),
        ),
        state,
        device_total: None,
    }));
    record.version = version;
    PullResponse {
        cursor: seq,
        more: false,
        changes: vec![ServerChange {
            seq,
            at: "2025-11-03T00:00:00Z".to_owned(),
            change: Change::Record {
                unit: UNIT.into(),
                area: AreaType::Normal,
                record,
            },
        }],
    }
}

/// The sync loop's connection: the server accepted everything queued.
fn accept_all(sync: &mut Store) {
    let batch = sync.open_push_batch(200).unwrap().unwrap();
    sync.mark_batch_sent(batch.batch_id).unwrap();
    sync.apply_push_response(&cdht_test_support::accepted_all(
        &batch.to_push_batch().unwrap(),
    ))
    .unwrap();
}

#[test]
fn unsent_answers_replaced_by_another_device_are_shown_used_again_and_dismissed() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit_typed("https://cdht.example.vn", UNIT, "ABCDEF12")
        .unwrap();
    let group = app.current_catalog().unwrap().groups[0].id.clone();
    let me = app
        .save_profile(&ProfileForm {
            full_name: "Hoàng Văn Bình".into(),
            target_group: Some(group),
            ..ProfileForm::default()
        })
        .unwrap();
    let view = app
        .open_assessment(me.person_id, App::current_year())
        .unwrap();
    let id: AssessmentId = view.assessment.assessment_id;
    for indicator in INDICATORS {
        app.set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
            .unwrap();
    }
    app.submit_assessment(id).unwrap();
    let mut sync = Store::open_with_key_file(dir.path()).unwrap();
    accept_all(&mut sync);
    sync.apply_review(
        id,
        &Review::Returned {
            reason: "Chỉ số 2.1 cần sửa.".into(),
        },
    )
    .unwrap();

    // The person corrects 2.1 here and has not sent it yet.
    app.set_answer(id, &IndicatorId::new("2.1"), Answer::Level("b".into()))
        .unwrap();
    assert!(app.assessment_view(id).unwrap().replaced_answers.is_empty());

    // An officer's device sent its own correction first (a draft there).
    let outcome = sync
        .apply_pull(
            &UNIT.into(),
            &pulled(1, &view, me.person_id, "a", DeviceState::Draft, 2),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.replaced_local_edits), (1, 1));

    let view = app.assessment_view(id).unwrap();
    assert_eq!(
        view.answers.get("2.1"),
        Some(&Answer::Level("a".into())),
        "the first to reach the server wins"
    );
    assert_eq!(view.replaced_answers.len(), 1);
    let kept = &view.replaced_answers[0];
    assert!(kept.can_restore, "the pulled draft is editable here");
    // Only what differs from the answers now, with its label and points.
    assert_eq!(kept.rows.len(), 1, "{:?}", kept.rows);
    let row = &kept.rows[0];
    assert_eq!(row.indicator_id.as_str(), "2.1");
    assert_eq!(row.answer, Answer::Level("b".into()));
    assert!(row.indicator_title.is_some());
    assert!(row.level_label.is_some());
    assert!(row.points.is_some());
    assert_eq!(row.current, Some(Answer::Level("a".into())));

    // "Dùng lại câu trả lời của tôi": one autosave, scored.
    let restored = app.restore_replaced_answers(id, kept.replaced_id).unwrap();
    assert_eq!(
        restored.answers.get("2.1"),
        Some(&Answer::Level("b".into()))
    );
    assert!(restored.replaced_answers.is_empty());
    assert!(restored.score.total < view.score.total);
    assert_eq!(
        app.store()
            .assessment(id)
            .unwrap()
            .score
            .unwrap()
            .total_points,
        i64::from(restored.score.total)
    );

    // Still unsent: the officer resubmits first again, now as submitted.
    let outcome = sync
        .apply_pull(
            &UNIT.into(),
            &pulled(2, &view, me.person_id, "a", DeviceState::Submitted, 3),
        )
        .unwrap();
    assert_eq!(outcome.replaced_local_edits, 1);
    let view = app.assessment_view(id).unwrap();
    assert!(!view.editable);
    let kept = &view.replaced_answers[0];
    assert!(
        !kept.can_restore,
        "submitted elsewhere: nothing to edit here"
    );
    let refused = app
        .restore_replaced_answers(id, kept.replaced_id)
        .unwrap_err();
    assert_eq!(*refused.code, cdht_core::Code::Locked, "{refused:?}");

    // "Đã xem".
    let seen = app.dismiss_replaced_answers(id).unwrap();
    assert!(seen.replaced_answers.is_empty());
    assert!(app.assessment_view(id).unwrap().replaced_answers.is_empty());
}
