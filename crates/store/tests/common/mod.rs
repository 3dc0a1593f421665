//! Shared fixtures: real database files in a temp folder.
#![allow(clippy::unwrap_used, dead_code)]

use cdht_core::ids::{CatalogId, GroupId, PersonId, UnitCode};
use cdht_core::AreaType;
use cdht_store::{
    Assessment, EvidenceMeta, JoinUnit, KeyFile, KeyStore, PersonInput, Store, DB_FILE_NAME,
};
use std::path::Path;
use tempfile::TempDir;

pub const YEAR: i32 = 2025;

/// A connection of its own on `data_dir`'s encrypted database, with the key
/// of its key file (the store must have been opened there first).
pub fn raw(data_dir: &Path) -> rusqlite::Connection {
    let key = KeyFile::in_data_dir(data_dir).load().unwrap().unwrap();
    cdht_store::open_connection(&data_dir.join(DB_FILE_NAME), &key).unwrap()
}

pub fn open_temp() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with_key_file(dir.path()).unwrap();
    (dir, store)
}

pub fn unit_code() -> UnitCode {
    UnitCode::new("HD-TK-001")
}

pub fn join_unit(store: &mut Store) {
    store
        .join_unit(&JoinUnit {
            unit_code: unit_code(),
            name: "Chi hội khuyến học thôn Đông".to_owned(),
            server_url: "https://cdht.example.vn".to_owned(),
            join_payload: serde_json::json!({"unit": "HD-TK-001", "v": 1}),
            area_type: AreaType::Normal,
        })
        .unwrap();
}

pub fn add_person(store: &mut Store, name: &str) -> PersonId {
    store
        .upsert_person(&PersonInput {
            full_name: name.to_owned(),
            unit_code: Some(unit_code()),
            birth_year: Some(1970),
            household_label: Some("Hộ 12".to_owned()),
            ..PersonInput::default()
        })
        .unwrap()
        .person_id
}

pub fn draft(store: &mut Store, person: PersonId) -> Assessment {
    store
        .create_or_get_assessment(
            person,
            YEAR,
            &CatalogId::new("324-2023"),
            &GroupId::new("residents"),
            AreaType::Normal,
        )
        .unwrap()
}

/// A person with a draft assessment in a fresh store with one unit.
pub fn store_with_draft() -> (TempDir, Store, Assessment) {
    let (dir, mut store) = open_temp();
    join_unit(&mut store);
    let person = add_person(&mut store, "Nguyễn Văn An");
    let assessment = draft(&mut store, person);
    (dir, store, assessment)
}

/// Bytes that pass the JPEG signature check; content varies with `seed`.
pub fn fake_jpeg(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..len).map(|i| seed.wrapping_add((i % 251) as u8)));
    bytes.extend([0xFF, 0xD9]);
    bytes
}

pub fn jpeg_meta() -> EvidenceMeta {
    EvidenceMeta {
        mime: "image/jpeg".to_owned(),
        width_px: Some(1280),
        height_px: Some(960),
        taken_at_ms: Some(1_750_000_000_000),
    }
}

/// Sends what waits in the outbox (one batch of up to 200) and applies the
/// server's answer accepting every record; the batch and how many were acked.
pub fn accept_all(store: &mut Store) -> (cdht_store::FrozenBatch, usize) {
    let batch = store.open_push_batch(200).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    let response = cdht_test_support::accepted_all(&batch.to_push_batch().unwrap());
    let acked = store.apply_push_response(&response).unwrap().acked;
    (batch, acked)
}
