//! A person's household label over sync: pushed in the person record of
//! batches that name the `household` feature, written back when pulled, kept
//! when a pulled record leaves it out. A real database file.
#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::PersonId;
use cdht_core::sync::{
    Change, PersonRecord, PullResponse, RecordBody, RecordEnvelope, ServerChange, FEATURE_HOUSEHOLD,
};
use cdht_core::AreaType;
use cdht_store::Store;
use common::*;

fn pulled_person(id: PersonId, version: u32, household: Option<&str>) -> PullResponse {
    let body = RecordBody::Person(PersonRecord {
        id,
        full_name: "Lò Thị Mai".to_owned(),
        birth_year: Some(1963),
        cccd: None,
        phone: None,
        address: Some("Thôn Đông".to_owned()),
        keep_cccd: false,
        household: household.map(str::to_owned),
    });
    let seq = u64::from(version);
    PullResponse {
        cursor: seq,
        more: false,
        changes: vec![ServerChange {
            seq,
            at: "2025-11-02T03:04:05Z".to_owned(),
            change: Change::Record {
                unit: unit_code(),
                area: AreaType::Normal,
                record: RecordEnvelope {
                    version,
                    hash: "00".repeat(32),
                    body,
                },
            },
        }],
    }
}

fn label(store: &Store, id: PersonId) -> Option<String> {
    store.person(id).unwrap().household_label
}

#[test]
fn the_label_is_pushed_with_the_feature_and_pulled_back() {
    let (_dir, mut store) = open_temp();
    join_unit(&mut store);
    // A person entered here: the first push carries the label and names the
    // feature, so the server takes it.
    let mine = add_person(&mut store, "Lê Văn Tám");
    let a = draft(&mut store, mine);
    store.submit_assessment(a.assessment_id).unwrap();
    let batch = store.open_push_batch(200).unwrap().unwrap();
    let sent = batch.to_push_batch().unwrap();
    assert_eq!(sent.features, vec![FEATURE_HOUSEHOLD.to_owned()]);
    let RecordBody::Person(p) = &sent.records[0].body else {
        panic!("{:?}", sent.records[0])
    };
    assert_eq!(p.household.as_deref(), Some("Hộ 12"));
    // A retry resends the batch as frozen.
    let again = store.open_push_batch(200).unwrap().unwrap();
    assert_eq!(again.to_push_batch().unwrap(), sent);

    // A pulled person with a label gets it here; a newer version without
    // one (a server that holds none) keeps it; a newer label replaces it.
    let theirs = PersonId::new_v7();
    store
        .apply_pull(&unit_code(), &pulled_person(theirs, 1, Some("Hộ bà Mai")))
        .unwrap();
    assert_eq!(label(&store, theirs).as_deref(), Some("Hộ bà Mai"));
    store
        .apply_pull(&unit_code(), &pulled_person(theirs, 2, None))
        .unwrap();
    assert_eq!(label(&store, theirs).as_deref(), Some("Hộ bà Mai"));
    store
        .apply_pull(&unit_code(), &pulled_person(theirs, 3, Some("Hộ ông Tư")))
        .unwrap();
    assert_eq!(label(&store, theirs).as_deref(), Some("Hộ ông Tư"));
}
