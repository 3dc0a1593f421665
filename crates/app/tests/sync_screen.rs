//! The sync screen's data: what the server refused ("Cần sửa"), named so a
//! person recognises it, with the server's stable code and reason. The
//! refusals are written the way the sync engine writes them: through a second
//! store connection on the same files.
#![allow(clippy::unwrap_used)]

use cdht_app::{App, PersonForm, ProfileForm};
use cdht_core::ids::IndicatorId;
use cdht_core::sync::{AckOutcome, PushResponse, RecordAck, RecordKind};
use cdht_core::Answer;
use cdht_store::Store;
use cdht_test_support::INDICATORS;

fn kind_of(text: cdht_store::RecordKind) -> RecordKind {
    match text {
        cdht_store::RecordKind::Person => RecordKind::Person,
        cdht_store::RecordKind::Assessment => RecordKind::Assessment,
        cdht_store::RecordKind::Evidence => RecordKind::Evidence,
    }
}

/// Pushes what waits and answers it as the server would: the assessment
/// refused with `code`, everything else accepted.
fn refuse_assessment(dir: &std::path::Path, code: &str, message: &str) {
    let mut store = Store::open_with_key_file(dir).unwrap();
    let batch = store.open_push_batch(200).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    let acks = batch
        .entries
        .iter()
        .map(|e| {
            let refused = e.record_kind == cdht_store::RecordKind::Assessment;
            RecordAck {
                id: e.record_id.parse().unwrap(),
                kind: kind_of(e.record_kind),
                version: e.version,
                outcome: if refused {
                    AckOutcome::Rejected
                } else {
                    AckOutcome::Accepted
                },
                code: refused.then(|| code.to_owned()),
                message: refused.then(|| message.to_owned()),
                score: None,
            }
        })
        .collect();
    store
        .apply_push_response(&PushResponse {
            batch_id: batch.batch_id,
            seq: batch.seq,
            acks,
        })
        .unwrap();
}

#[test]
fn a_refused_record_is_listed_once_named_with_its_code_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let year = App::current_year();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit_typed("https://cdht.example.vn", "HD-CG-001", "7K3Q9XPA")
        .unwrap();
    let group = app.current_catalog().unwrap().groups[0].id.clone();
    app.save_profile(&ProfileForm {
        full_name: "Trần Văn Bình".into(),
        target_group: Some(group.clone()),
        ..ProfileForm::default()
    })
    .unwrap();
    let person = app
        .save_person(&PersonForm {
            full_name: "Lê Thị Hạnh".into(),
            target_group: Some(group),
            household_label: Some("Hộ ông Lê Văn Tám, xóm 3".into()),
            ..PersonForm::default()
        })
        .unwrap();
    let view = app.open_assessment(person.person_id, year).unwrap();
    let id = view.assessment.assessment_id;
    for indicator in INDICATORS {
        app.set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
            .unwrap();
    }
    app.submit_assessment(id).unwrap();

    refuse_assessment(
        dir.path(),
        "locked_after_review",
        "Bản đánh giá đã được cán bộ duyệt hoặc công nhận nên không sửa được nữa.",
    );

    let sync = app.sync_status().unwrap();
    assert_eq!(sync.rejected.len(), 1, "{:?}", sync.rejected);
    let parked = &sync.rejected[0];
    assert_eq!(parked.record_kind, "assessment");
    assert_eq!(parked.record_id, id.to_string());
    assert_eq!(parked.code.as_deref(), Some("locked_after_review"));
    assert!(parked.reason.as_deref().unwrap().contains("không sửa được"));
    assert_eq!(parked.person_id, Some(person.person_id));
    assert_eq!(parked.person_name.as_deref(), Some("Lê Thị Hạnh"));
    assert_eq!(parked.year, Some(year));
    // Accepted records no longer wait; the refused one is not "waiting" either.
    assert_eq!(sync.waiting_records, 0);
    assert!(sync.waiting.is_empty());
}

#[test]
fn a_photo_the_server_refused_is_listed_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let year = App::current_year();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let group = app.current_catalog().unwrap().groups[0].id.clone();
    let me = app
        .save_profile(&ProfileForm {
            full_name: "Vũ Văn Lâm".into(),
            target_group: Some(group),
            ..ProfileForm::default()
        })
        .unwrap();
    let id = app
        .open_assessment(me.person_id, year)
        .unwrap()
        .assessment
        .assessment_id;
    let image = image::ImageBuffer::from_fn(200, 150, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 7u8])
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let added = app
        .add_evidence(id, &IndicatorId::new("2.3"), &jpeg)
        .unwrap();
    assert!(app.sync_status().unwrap().refused_photos.is_empty());

    // What the engine does on a 422 for this photo.
    Store::open_with_key_file(dir.path())
        .unwrap()
        .park_upload(
            &added.evidence.evidence.sha256,
            "invalid_evidence",
            "Tệp gửi lên không phải ảnh JPEG.",
        )
        .unwrap();
    let sync = app.sync_status().unwrap();
    assert_eq!(sync.refused_photos.len(), 1);
    let refused = &sync.refused_photos[0];
    assert_eq!(refused.code, "invalid_evidence");
    assert_eq!(refused.indicator_id.as_str(), "2.3");
    assert_eq!(refused.year, year);
    assert_eq!(refused.person_id, me.person_id);
    assert_eq!(refused.person_name.as_deref(), Some("Vũ Văn Lâm"));
    assert_eq!(refused.assessment_id, id);
    assert_eq!(refused.evidence_id, added.evidence.evidence.evidence_id);
    // It is not counted as waiting any more.
    assert_eq!(sync.waiting_photos, 0);
}
