//! What the app asked of the store: one evidence row by id, outbox counts
//! without loading rows, and joining a unit whose name is not known yet.
#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::{EvidenceId, IndicatorId, UnitCode};
use cdht_core::AreaType;
use cdht_store::{ErrorKind, JoinUnit, OutboxState, Store, DB_FILE_NAME};
use common::*;

fn offline_join(code: &str) -> JoinUnit {
    JoinUnit {
        unit_code: UnitCode::new(code),
        name: String::new(),
        server_url: "https://cdht.example.vn".to_owned(),
        join_payload: serde_json::json!({"unit": code, "v": 1}),
        area_type: AreaType::Normal,
    }
}

#[test]
fn one_evidence_row_is_read_by_id() {
    let (_dir, mut store, a) = store_with_draft();
    let ind = IndicatorId::new("2.1");
    let added = store
        .add_evidence(a.assessment_id, &ind, &fake_jpeg(9, 3000), &jpeg_meta())
        .unwrap();
    let read = store.evidence(added.evidence_id).unwrap();
    assert_eq!(read, added);
    assert_eq!(read.assessment_id, a.assessment_id);
    assert_eq!(read.indicator_id, ind);

    store.remove_evidence(added.evidence_id).unwrap();
    let err = store.evidence(added.evidence_id).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let unknown = EvidenceId::new_v7();
    assert_eq!(
        store.evidence(unknown).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn outbox_counts_match_the_rows_in_each_state() {
    let (_dir, mut store, a) = store_with_draft();
    for state in [
        OutboxState::Pending,
        OutboxState::Sent,
        OutboxState::Acked,
        OutboxState::Rejected,
    ] {
        assert_eq!(store.outbox_count(state).unwrap(), 0, "{state:?}");
    }
    assert_eq!(store.pending_upload_count().unwrap(), 0);

    store
        .add_evidence(
            a.assessment_id,
            &IndicatorId::new("1.1"),
            &fake_jpeg(1, 4000),
            &jpeg_meta(),
        )
        .unwrap();
    store
        .add_evidence(
            a.assessment_id,
            &IndicatorId::new("1.2"),
            &fake_jpeg(2, 4000),
            &jpeg_meta(),
        )
        .unwrap();
    store.submit_assessment(a.assessment_id).unwrap();
    let pending = store.outbox_pending(100).unwrap().len() as u64;
    assert!(pending >= 3);
    assert_eq!(store.outbox_count(OutboxState::Pending).unwrap(), pending);
    assert_eq!(store.pending_upload_count().unwrap(), 2);
    assert_eq!(
        store.pending_upload_count().unwrap(),
        store.pending_uploads(100).unwrap().len() as u64
    );

    let batch = store.open_push_batch(2).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    assert_eq!(store.outbox_count(OutboxState::Sent).unwrap(), 2);
    assert_eq!(
        store.outbox_count(OutboxState::Pending).unwrap(),
        pending - 2
    );

    let first = store.pending_uploads(1).unwrap().remove(0);
    store.mark_upload_complete(&first.sha256).unwrap();
    assert_eq!(store.pending_upload_count().unwrap(), 1);
}

#[test]
fn a_unit_joined_offline_has_no_name_until_one_arrives() {
    let (_dir, mut store) = open_temp();
    let unit = store.join_unit(&offline_join("HD-TK-002")).unwrap();
    assert!(!unit.name_known);
    assert_eq!(unit.name, "HD-TK-002", "the code stands in for the name");

    // Joined again with the real name (the sync's enrolment): it is kept.
    let mut named = offline_join("HD-TK-002");
    named.name = "Chi hội khuyến học thôn Tây".to_owned();
    named.area_type = AreaType::Difficult;
    let unit = store.join_unit(&named).unwrap();
    assert!(unit.name_known);
    assert_eq!(unit.name, "Chi hội khuyến học thôn Tây");

    // Scanning the QR code again offline does not forget it.
    let unit = store.join_unit(&offline_join("HD-TK-002")).unwrap();
    assert!(unit.name_known);
    assert_eq!(unit.name, "Chi hội khuyến học thôn Tây");
    assert_eq!(unit.area_type, AreaType::Difficult);
    assert!(unit.active);

    // A name of spaces is no name either.
    let mut blank = offline_join("HD-TK-003");
    blank.name = "   ".to_owned();
    let unit = store.join_unit(&blank).unwrap();
    assert!(!unit.name_known);
    assert_eq!(unit.name, "HD-TK-003");
}

#[test]
fn units_joined_before_migration_3_with_the_code_as_name_are_marked_unnamed() {
    let dir = tempfile::tempdir().unwrap();
    {
        // A database of schema 2, with what the app wrote then.
        let raw = rusqlite::Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        raw.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        raw.execute_batch(include_str!("../migrations/0002_lock_reviewed_answers.sql"))
            .unwrap();
        raw.execute_batch(
            "INSERT INTO units (unit_code, name, server_url, join_payload, joined_at_ms, area_type)
             VALUES ('HD-A', 'HD-A', 'https://x.vn', '{}', 1, 'normal'),
                    ('HD-B', 'Chi hội B', 'https://x.vn', '{}', 2, 'normal');
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = Store::open_with_key_file(dir.path()).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        cdht_store::latest_version()
    );
    let a = store.unit(&UnitCode::new("HD-A")).unwrap();
    let b = store.unit(&UnitCode::new("HD-B")).unwrap();
    assert!(!a.name_known);
    assert!(b.name_known);
    assert_eq!(b.name, "Chi hội B");
}

#[test]
fn the_officer_list_groups_people_by_household() {
    let (_dir, mut store) = open_temp();
    join_unit(&mut store);
    for (name, household) in [
        ("Vũ Thị Yến", Some("Hộ ông Bình")),
        ("Đỗ Văn Khoa", None),
        ("Trần Văn Bình", Some("Hộ ông Bình")),
        ("Nguyễn Thị Ánh", Some("hộ bà Ánh")),
        ("Lê Văn Ánh", Some("Hộ bà Ánh")),
        ("Phạm Văn An", Some("Hộ ông Cường")),
    ] {
        store
            .upsert_person(&cdht_store::PersonInput {
                full_name: name.to_owned(),
                unit_code: Some(unit_code()),
                household_label: household.map(str::to_owned),
                ..cdht_store::PersonInput::default()
            })
            .unwrap();
    }
    let me = store
        .upsert_person(&cdht_store::PersonInput {
            full_name: "Cán bộ Hà".to_owned(),
            is_self: true,
            ..cdht_store::PersonInput::default()
        })
        .unwrap();
    let list = store.list_people_by_household(YEAR, None, 50, 0).unwrap();
    let rows: Vec<(&str, Option<&str>)> = list
        .iter()
        .map(|p| (p.full_name.as_str(), p.household_label.as_deref()))
        .collect();
    assert_eq!(rows[0].0, me.full_name, "own profile first");
    let households: Vec<Option<&str>> = rows[1..].iter().map(|r| r.1).collect();
    // Households together, by label (case-insensitive), people without one last.
    assert_eq!(
        households
            .iter()
            .map(|h| h.map(str::to_lowercase))
            .collect::<Vec<_>>(),
        [
            Some("hộ bà ánh".to_owned()),
            Some("hộ bà ánh".to_owned()),
            Some("hộ ông bình".to_owned()),
            Some("hộ ông bình".to_owned()),
            Some("hộ ông cường".to_owned()),
            None,
        ]
    );
    // Inside a household, by name.
    assert_eq!(rows[3].0, "Trần Văn Bình");
    assert_eq!(rows[4].0, "Vũ Thị Yến");
    assert_eq!(rows[6].0, "Đỗ Văn Khoa");
    // Pages continue where the last one stopped.
    let second = store.list_people_by_household(YEAR, None, 3, 3).unwrap();
    assert_eq!(second[0].full_name, rows[3].0);
}
