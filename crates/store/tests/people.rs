#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::PersonId;
use cdht_store::{CccdUpdate, ErrorKind, Gender, PersonInput, Store};
use common::*;

fn person(name: &str) -> PersonInput {
    PersonInput {
        full_name: name.to_owned(),
        unit_code: Some(unit_code()),
        ..PersonInput::default()
    }
}

#[test]
fn cccd_needs_consent_is_validated_and_masked() {
    let (_dir, mut store) = open_temp();
    join_unit(&mut store);

    let mut input = person("Lê Văn Cường");
    input.cccd = CccdUpdate::Set {
        number: "001099001234".to_owned(),
        consent_given: false,
    };
    assert_eq!(
        store.upsert_person(&input).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    input.cccd = CccdUpdate::Set {
        number: "00109900123".to_owned(),
        consent_given: true,
    };
    assert_eq!(
        store.upsert_person(&input).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );

    input.cccd = CccdUpdate::Set {
        number: "001 099 001234".to_owned(),
        consent_given: true,
    };
    let saved = store.upsert_person(&input).unwrap();
    assert_eq!(saved.cccd_masked.as_deref(), Some("••••••••1234"));
    let consent_at = saved.cccd_consent_at_ms.unwrap();
    assert_eq!(
        store.person_cccd(saved.person_id).unwrap().as_deref(),
        Some("001099001234")
    );

    // Editing other fields keeps the number and the consent time.
    let edit = PersonInput {
        person_id: Some(saved.person_id),
        gender: Some(Gender::Male),
        cccd: CccdUpdate::Keep,
        ..person("Lê Văn Cường")
    };
    let edited = store.upsert_person(&edit).unwrap();
    assert_eq!(edited.revision, 2);
    assert_eq!(edited.cccd_consent_at_ms, Some(consent_at));
    assert_eq!(edited.cccd_masked, saved.cccd_masked);

    // Withdrawn consent erases the number.
    let erase = PersonInput {
        cccd: CccdUpdate::Erase,
        ..edit
    };
    let erased = store.upsert_person(&erase).unwrap();
    assert_eq!(erased.cccd_masked, None);
    assert_eq!(erased.cccd_consent_at_ms, None);
    assert_eq!(store.person_cccd(saved.person_id).unwrap(), None);
}

#[test]
fn only_one_own_profile_and_unknown_unit_refused() {
    let (_dir, mut store) = open_temp();
    join_unit(&mut store);
    let me = PersonInput {
        is_self: true,
        ..person("Phạm Thị Dung")
    };
    let saved = store.upsert_person(&me).unwrap();
    assert_eq!(
        store.self_person().unwrap().unwrap().person_id,
        saved.person_id
    );
    // Updating the same profile is fine; a second one is not.
    let again = PersonInput {
        person_id: Some(saved.person_id),
        ..me.clone()
    };
    store.upsert_person(&again).unwrap();
    assert_eq!(
        store.upsert_person(&me).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );

    let elsewhere = PersonInput {
        unit_code: Some(cdht_core::ids::UnitCode::new("NOPE")),
        ..person("Hoàng Văn Em")
    };
    assert_eq!(
        store.upsert_person(&elsewhere).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        store.person(PersonId::new_v7()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

const FAMILY: [&str; 10] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
];
const MIDDLE: [&str; 5] = ["Văn", "Thị", "Đức", "Hữu", "Ngọc"];
const GIVEN: [&str; 20] = [
    "An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lan", "Linh",
    "Minh", "Nam", "Ngân", "Phúc", "Quân", "Sơn", "Thảo", "Yến",
];

fn seed_people(store: &mut Store, count: usize) {
    for i in 0..count {
        let name = format!(
            "{} {} {}",
            FAMILY[i % FAMILY.len()],
            MIDDLE[(i / FAMILY.len()) % MIDDLE.len()],
            GIVEN[(i / (FAMILY.len() * MIDDLE.len())) % GIVEN.len()]
        );
        store.upsert_person(&person(&name)).unwrap();
    }
}

#[test]
fn search_among_5000_people_with_and_without_diacritics() {
    let (dir, mut store) = open_temp();
    join_unit(&mut store);
    seed_people(&mut store, 5000);
    // 5000 / (10 × 5 × 20) = 5 people per distinct name.
    let with_marks = store.search_people("Nguyễn Văn", 1000).unwrap();
    let without = store.search_people("nguyen van", 1000).unwrap();
    let upper = store.search_people("NGUYEN VAN", 1000).unwrap();
    assert_eq!(with_marks.len(), 20 * 5);
    assert_eq!(with_marks, without);
    assert_eq!(with_marks, upper);
    assert!(without
        .iter()
        .all(|p| p.full_name.starts_with("Nguyễn Văn ")));

    // đ folds to d, both ways.
    let dat = store.search_people("dang duc dat", 100).unwrap();
    assert_eq!(dat.len(), 5);
    assert!(dat.iter().all(|p| p.full_name == "Đặng Đức Đạt"));
    assert_eq!(store.search_people("Đặng Đức Đạt", 100).unwrap(), dat);

    // Word starts anywhere in the name come after prefix matches.
    let van_an = store.search_people("van an", 100).unwrap();
    assert_eq!(van_an.len(), 10 * 5);
    assert!(van_an.iter().all(|p| p.full_name.ends_with("Văn An")));

    // Limit, and LIKE wildcards in the query are literal.
    assert_eq!(store.search_people("nguyen", 7).unwrap().len(), 7);
    assert!(store.search_people("%", 10).unwrap().is_empty());
    assert!(store.search_people("nguy_n", 10).unwrap().is_empty());

    // The prefix search is served by the folded-name index.
    let plan = store.explain_search("nguyen van").unwrap();
    assert!(
        plan.iter().any(|line| line.contains("people_by_name")),
        "{plan:?}"
    );
    let raw = common::raw(dir.path());
    let indexed: String = raw
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'people_by_name'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(indexed.contains("name_folded"));
}

#[test]
fn list_people_shows_this_years_status() {
    let (_dir, mut store) = open_temp();
    join_unit(&mut store);
    let a = add_person(&mut store, "Bùi Thị Hoa");
    let b = add_person(&mut store, "Âu Văn Tâm");
    let assessment = draft(&mut store, a);
    store.submit_assessment(assessment.assessment_id).unwrap();

    let list = store.list_people(YEAR, Some(&unit_code()), 50, 0).unwrap();
    assert_eq!(list.len(), 2);
    // Ordered by folded name: "au van tam" < "bui thi hoa".
    assert_eq!(list[0].person_id, b);
    assert!(list[0].assessment.is_none());
    assert_eq!(list[1].person_id, a);
    assert_eq!(
        list[1].assessment.as_ref().unwrap().status,
        cdht_store::AssessmentStatus::Submitted
    );
    let other_year = store.list_people(YEAR - 1, None, 50, 0).unwrap();
    assert!(other_year.iter().all(|p| p.assessment.is_none()));
    assert_eq!(store.list_people(YEAR, None, 1, 1).unwrap()[0].person_id, a);
}
