//! A catalog the server sent (stored by the sync loop's own connection) is
//! what the app shows and scores with, merged with the shipped ones the same
//! way the server merges them (`cdht_core::merge_catalogs`).
#![allow(clippy::unwrap_used)]

use cdht_app::{App, ProfileForm};
use cdht_core::ids::IndicatorId;
use cdht_core::{Answer, Completeness};
use cdht_store::Store;

#[test]
fn a_pulled_catalog_revision_is_shown_and_scored_with() {
    let dir = tempfile::tempdir().unwrap();
    let year = App::current_year();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let shipped = app.current_catalog().unwrap().clone();
    assert_eq!(app.overview().unwrap().catalog.title, shipped.title);

    // The server corrects the catalog: revision 2, a stricter threshold.
    let mut corrected = shipped.clone();
    corrected.revision = shipped.revision + 1;
    corrected.title.vi = format!("{} (sửa đổi)", shipped.title.vi);
    corrected.rules.pass_threshold = 85;
    assert!(Store::open_with_key_file(dir.path())
        .unwrap()
        .save_catalog(&corrected)
        .unwrap());

    // The next screen that opens reads it.
    let overview = app.overview().unwrap();
    assert!(overview.catalog.title.vi.ends_with("(sửa đổi)"));
    let me = app
        .save_profile(&ProfileForm {
            full_name: "Phạm Thị Lụa".into(),
            target_group: Some(shipped.groups[0].id.clone()),
            ..ProfileForm::default()
        })
        .unwrap();
    let view = app.open_assessment(me.person_id, year).unwrap();
    assert_eq!(view.rules.pass_threshold, 85);
    assert!(view.catalog_title.vi.ends_with("(sửa đổi)"));
    let id = view.assessment.assessment_id;
    let mut last = None;
    for indicator in [
        "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
    ] {
        last = Some(
            app.set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
                .unwrap(),
        );
    }
    let score = last.unwrap().score;
    assert_eq!(score.threshold, 85);
    // The same as the server's scoring with the same merged catalogs.
    let merged = cdht_core::merge_catalogs(cdht_core::embedded_catalogs().unwrap(), &[corrected]);
    assert_eq!(app.catalogs(), merged.as_slice());
    let detail = app.store().assessment_detail(id).unwrap();
    let server = cdht_core::score_with(
        &merged,
        &cdht_core::AssessmentInput {
            catalog: detail.assessment.catalog_id.clone(),
            group: detail.assessment.group_id.clone(),
            area: detail.assessment.area_type,
            answers: detail.answers.clone(),
        },
        Completeness::Complete,
    )
    .unwrap();
    assert_eq!(server.total, score.total);
    assert_eq!(server.threshold, 85);
    assert_eq!(app.history(me.person_id).unwrap().entries.len(), 1);
}
