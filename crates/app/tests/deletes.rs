//! Deleting a person or an assessment entered by mistake through the app's
//! commands (docs/sync-protocol.md, "Deletes"), on real SQLite files.
#![allow(clippy::unwrap_used)]

use cdht_app::{App, PersonForm};
use cdht_core::ids::IndicatorId;
use cdht_core::{Answer, Code};
use cdht_store::DeleteOutcome;
use cdht_test_support::INDICATORS;

fn first_group() -> cdht_core::ids::GroupId {
    let shipped = cdht_core::embedded_catalogs().unwrap();
    let newest = shipped.iter().max_by_key(|c| c.issued_on.clone()).unwrap();
    newest.groups[0].id.clone()
}

fn person(app: &mut App, name: &str) -> cdht_core::ids::PersonId {
    app.save_person(&PersonForm {
        full_name: name.into(),
        birth_year: Some(1965),
        target_group: Some(first_group()),
        ..PersonForm::default()
    })
    .unwrap()
    .person_id
}

fn names(app: &App) -> Vec<(String, bool)> {
    app.list_people(50, 0)
        .unwrap()
        .into_iter()
        .map(|p| (p.full_name.clone(), p.assessment.is_some()))
        .collect()
}

#[test]
fn a_mistaken_record_is_deleted_and_a_person_with_assessments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit_from_qr_text("https://cdht.example.vn/j/HD-CG-001?v=1#k=7K3Q9XPA")
        .unwrap();
    let year = App::current_year();
    let wrong = person(&mut app, "Lò Văn Nhầm");
    let right = person(&mut app, "Lò Văn Đúng");
    let draft = app
        .open_assessment(wrong, year)
        .unwrap()
        .assessment
        .assessment_id;
    let kept = app
        .open_assessment(right, year)
        .unwrap()
        .assessment
        .assessment_id;
    for indicator in INDICATORS {
        app.set_answer(
            kept,
            &IndicatorId::new(indicator),
            Answer::Level("a".into()),
        )
        .unwrap();
    }
    app.submit_assessment(kept).unwrap();

    // The person first: refused with the reason's code, nothing changed.
    let refused = app.delete_person(wrong).unwrap_err();
    assert_eq!(*refused.code, Code::PersonHasAssessments);
    assert_eq!(refused.kind, "person_has_assessments");
    // A draft the server never had goes at once, then its person.
    assert_eq!(
        app.delete_assessment(draft).unwrap(),
        DeleteOutcome::Removed
    );
    assert_eq!(app.delete_person(wrong).unwrap(), DeleteOutcome::Removed);
    assert_eq!(names(&app), vec![("Lò Văn Đúng".to_owned(), true)]);

    // A submitted assessment waits for the server: hidden now, a tombstone
    // queued, not to be deleted twice.
    assert_eq!(
        app.delete_assessment(kept).unwrap(),
        DeleteOutcome::Queued { version: 2 }
    );
    assert_eq!(names(&app), vec![("Lò Văn Đúng".to_owned(), false)]);
    let twice = app.delete_assessment(kept).unwrap_err();
    assert_eq!(*twice.code, Code::RecordDeleted);
}
