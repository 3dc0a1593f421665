//! A household as a device collects it (a person, a submitted assessment
//! with every indicator answered, two photos), written into a real device
//! store; and the ledger of what each device collected, to check the server
//! against.

use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId, PersonId, UnitCode};
use cdht_core::{Answer, AreaType};
use cdht_store::{EvidenceMeta, PersonInput, Store};
use cdht_sync_client::sha256_hex;
use cdht_test_support::{photo, INDICATORS};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const PHOTOS_PER_ROUND: usize = 2;
pub const PHOTO_BYTES: usize = 40 * 1024;

/// What one device collected, as the parent recorded it.
#[derive(Default)]
pub struct Ledger {
    pub persons: BTreeSet<String>,
    pub assessments: BTreeSet<String>,
    /// sha256 → size.
    pub photos: BTreeMap<String, usize>,
}

pub fn collect(dir: &Path, unit: &str, round: usize, ledger: &mut Ledger) {
    let mut store = Store::open_with_key_file(dir).unwrap();
    let person: PersonId = store
        .upsert_person(&PersonInput {
            full_name: format!("Hộ số {round}"),
            unit_code: Some(UnitCode::new(unit)),
            birth_year: Some(1960 + (round % 40) as i32),
            household_address: Some("Bản Phố".to_owned()),
            ..PersonInput::default()
        })
        .unwrap()
        .person_id;
    let assessment: AssessmentId = store
        .create_or_get_assessment(
            person,
            2025,
            &CatalogId::new("244-2022"),
            &GroupId::new("farmers"),
            AreaType::Normal,
        )
        .unwrap()
        .assessment_id;
    for indicator in INDICATORS {
        store
            .set_answer(
                assessment,
                &IndicatorId::new(indicator),
                &Answer::Points(8),
                None,
            )
            .unwrap();
    }
    for p in 0..PHOTOS_PER_ROUND {
        let bytes = photo((round * 10 + p) as u64, PHOTO_BYTES);
        store
            .add_evidence(
                assessment,
                &IndicatorId::new("1.1"),
                &bytes,
                &EvidenceMeta {
                    mime: "image/jpeg".to_owned(),
                    width_px: Some(1280),
                    height_px: Some(960),
                    taken_at_ms: None,
                },
            )
            .unwrap();
        ledger.photos.insert(sha256_hex(&bytes), bytes.len());
    }
    store.submit_assessment(assessment).unwrap();
    ledger.persons.insert(person.to_string());
    ledger.assessments.insert(assessment.to_string());
}
