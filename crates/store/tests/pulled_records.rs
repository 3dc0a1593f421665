//! Pulled `record` and `catalog` changes, fed as hand-built pull pages to a
//! real database file; parked photo uploads; sync credentials.
#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::{AssessmentId, EvidenceId, IndicatorId, PersonId, UnitCode};
use cdht_core::sync::{
    AckOutcome, AssessmentRecord, Change, DeviceScope, DeviceState, EvidenceRecord, PersonRecord,
    PullResponse, PushResponse, RecordAck, RecordBody, RecordEnvelope, ReviewState, ServerChange,
};
use cdht_core::{Answer, Answers, AreaType};
use cdht_store::{
    AssessmentStatus, CccdUpdate, CheckDepth, OutboxState, PersonInput, Store, SyncCredentials,
};
use common::*;

const CHILD_UNIT: &str = "HD-TK-001-B2";

fn envelope(body: RecordBody, version: u32) -> RecordEnvelope {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(body.canonical_json());
    RecordEnvelope {
        version,
        hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
        body,
    }
}

fn record(seq: u64, body: RecordBody, version: u32) -> ServerChange {
    ServerChange {
        seq,
        at: "2025-11-02T03:04:05Z".to_owned(),
        change: Change::Record {
            unit: UnitCode::new(CHILD_UNIT),
            area: AreaType::Difficult,
            record: envelope(body, version),
        },
    }
}

fn page(cursor: u64, changes: Vec<ServerChange>) -> PullResponse {
    PullResponse {
        cursor,
        more: false,
        changes,
    }
}

fn person(id: PersonId, name: &str, keep_cccd: bool) -> RecordBody {
    RecordBody::Person(PersonRecord {
        id,
        full_name: name.to_owned(),
        birth_year: Some(1962),
        cccd: None,
        phone: Some("0912345678".to_owned()),
        address: Some("Thôn Đông".to_owned()),
        keep_cccd,
        household: None,
    })
}

fn answers(points: i64) -> Answers {
    Answers(
        ["1.1", "1.2", "1.3"]
            .iter()
            .map(|i| (IndicatorId::new(*i), Answer::Points(points)))
            .collect(),
    )
}

fn assessment(id: AssessmentId, person: PersonId, points: i64, state: DeviceState) -> RecordBody {
    RecordBody::Assessment(AssessmentRecord {
        id,
        person,
        year: 2025,
        catalog: "324-2023".into(),
        group: "residents".into(),
        answers: answers(points),
        state,
        device_total: None,
    })
}

fn evidence(id: EvidenceId, assessment: AssessmentId, sha256: &str, size: u64) -> RecordBody {
    RecordBody::Evidence(EvidenceRecord {
        id,
        assessment,
        indicator: IndicatorId::new("1.1"),
        sha256: sha256.to_owned(),
        size,
        content_type: "image/jpeg".to_owned(),
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ack_all(store: &mut Store) -> usize {
    accept_all(store).1
}

fn joined_store() -> (tempfile::TempDir, Store) {
    let (dir, mut store) = open_temp();
    join_unit(&mut store);
    (dir, store)
}

struct Pulled {
    person: PersonId,
    assessment: AssessmentId,
    evidence: EvidenceId,
    photo: Vec<u8>,
}

/// A person (server holds a CCCD), a submitted assessment and a photo
/// pushed by another device, pulled into `store` at version 1.
fn pull_one_household(store: &mut Store) -> Pulled {
    let p = PersonId::new_v7();
    let a = AssessmentId::new_v7();
    let e = EvidenceId::new_v7();
    let photo = fake_jpeg(7, 5000);
    let sha = sha256_hex(&photo);
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                3,
                vec![
                    record(1, person(p, "Lò Thị Mai", true), 1),
                    record(2, assessment(a, p, 7, DeviceState::Submitted), 1),
                    record(3, evidence(e, a, &sha, photo.len() as u64), 1),
                ],
            ),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.skipped), (3, 0));
    Pulled {
        person: p,
        assessment: a,
        evidence: e,
        photo,
    }
}

#[test]
fn pulled_records_are_stored_without_queuing_anything() {
    let (dir, mut store) = joined_store();
    let pulled = pull_one_household(&mut store);

    let person = store.person(pulled.person).unwrap();
    assert_eq!(person.full_name, "Lò Thị Mai");
    assert_eq!(person.unit_code, Some(unit_code()));
    assert_eq!(person.server_unit_code, Some(UnitCode::new(CHILD_UNIT)));
    assert!(person.server_has_cccd);
    assert_eq!(person.cccd_masked, None);
    assert_eq!(store.person_cccd(pulled.person).unwrap(), None);

    let detail = store.assessment_detail(pulled.assessment).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
    assert_eq!(detail.assessment.area_type, AreaType::Difficult);
    assert_eq!(detail.answers, answers(7));
    assert_eq!(detail.evidence.len(), 1);
    let photo = &detail.evidence[0];
    assert_eq!(photo.evidence_id, pulled.evidence);
    assert!(!photo.on_device);
    assert!(!store.evidence_path(&photo.sha256).exists());

    // Nothing to push, nothing to upload, and the missing file is no damage.
    assert_eq!(store.outbox_count(OutboxState::Pending).unwrap(), 0);
    assert_eq!(store.pending_upload_count().unwrap(), 0);
    let check = store
        .self_check_with_age(CheckDepth::Full, std::time::Duration::ZERO)
        .unwrap();
    assert!(check.broken_evidence.is_empty(), "{check:?}");
    assert!(!store.evidence(pulled.evidence).unwrap().on_device);

    // The photo fetched later: refused unless it is the right bytes.
    let sha = photo.sha256.clone();
    assert!(store
        .save_fetched_evidence(&sha, &fake_jpeg(8, 5000))
        .is_err());
    let path = store.save_fetched_evidence(&sha, &pulled.photo).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), pulled.photo);
    assert!(store.evidence(pulled.evidence).unwrap().on_device);
    drop(store);
    let store = Store::open_with_key_file(dir.path()).unwrap();
    assert!(store.evidence(pulled.evidence).unwrap().on_device);
    assert_eq!(store.list_people(2025, None, 10, 0).unwrap().len(), 1);
}

#[test]
fn orphans_are_skipped_and_a_replayed_page_changes_nothing() {
    let (_dir, mut store) = joined_store();
    let unknown_person = PersonId::new_v7();
    let unknown_assessment = AssessmentId::new_v7();
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                9,
                vec![
                    record(
                        7,
                        assessment(
                            AssessmentId::new_v7(),
                            unknown_person,
                            5,
                            DeviceState::Draft,
                        ),
                        1,
                    ),
                    record(
                        8,
                        evidence(
                            EvidenceId::new_v7(),
                            unknown_assessment,
                            &"ab".repeat(32),
                            10,
                        ),
                        1,
                    ),
                    // Invalid: an empty name. Skipped, not an error.
                    record(9, person(PersonId::new_v7(), "  ", false), 1),
                ],
            ),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.skipped), (0, 3));
    assert_eq!(outcome.cursor, 9);

    let pulled = pull_one_household(&mut store);
    let before = store.assessment(pulled.assessment).unwrap();
    let again = store
        .apply_pull(
            &unit_code(),
            &page(
                3,
                vec![
                    record(1, person(pulled.person, "Lò Thị Mai", true), 1),
                    record(
                        2,
                        assessment(pulled.assessment, pulled.person, 7, DeviceState::Submitted),
                        1,
                    ),
                ],
            ),
        )
        .unwrap();
    assert_eq!((again.applied, again.skipped), (0, 2));
    assert_eq!(store.assessment(pulled.assessment).unwrap(), before);
}

#[test]
fn a_higher_version_replaces_unless_a_local_edit_is_unacknowledged() {
    let (_dir, mut store) = joined_store();
    let pulled = pull_one_household(&mut store);
    let (p, a) = (pulled.person, pulled.assessment);

    // Version 2 from another device: replaces the copy, answers and all.
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                5,
                vec![
                    record(4, person(p, "Lò Thị Mai (mẹ)", true), 2),
                    record(5, assessment(a, p, 9, DeviceState::Draft), 2),
                ],
            ),
        )
        .unwrap();
    assert_eq!(outcome.applied, 2);
    assert_eq!(store.person(p).unwrap().full_name, "Lò Thị Mai (mẹ)");
    let detail = store.assessment_detail(a).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Draft);
    assert_eq!(detail.answers, answers(9));
    // The pulled evidence of version 1 stays with it.
    assert_eq!(detail.evidence.len(), 1);
    assert_eq!(store.outbox_count(OutboxState::Pending).unwrap(), 0);

    // A local edit of the pulled draft, submitted: version 3 waits to be pushed.
    store
        .set_answer(a, &IndicatorId::new("1.2"), &Answer::Points(4), None)
        .unwrap();
    let entry = store.submit_assessment(a).unwrap();
    assert_eq!(entry.version, 3);
    // The pulled photo is not queued again: the server has it.
    let pending = store.outbox_pending(10).unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");

    // Version 3 from elsewhere while ours is unacknowledged: our push decides.
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                6,
                vec![record(6, assessment(a, p, 1, DeviceState::Draft), 3)],
            ),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.skipped), (0, 1));
    let detail = store.assessment_detail(a).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
    assert_eq!(
        detail.answers.0.iter().find(|(i, _)| i.as_str() == "1.2"),
        Some(&(IndicatorId::new("1.2"), Answer::Points(4)))
    );

    // Acknowledged: a later version replaces it again.
    assert_eq!(ack_all(&mut store), 1);
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                7,
                vec![record(7, assessment(a, p, 2, DeviceState::Submitted), 4)],
            ),
        )
        .unwrap();
    assert_eq!(outcome.applied, 1);
    let detail = store.assessment_detail(a).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
    assert_eq!(detail.answers, answers(2));
}

#[test]
fn a_pulled_person_edited_here_keeps_the_servers_cccd() {
    let (_dir, mut store) = joined_store();
    let pulled = pull_one_household(&mut store);
    let (p, a) = (pulled.person, pulled.assessment);

    // The reviewer returns it; the officer on this device corrects the profile
    // and the answers, and submits.
    store
        .apply_pull(
            &unit_code(),
            &page(
                4,
                vec![ServerChange {
                    seq: 4,
                    at: "2025-11-03T00:00:00Z".to_owned(),
                    change: Change::Review {
                        assessment: a,
                        state: ReviewState::Returned,
                        reason: Some("Thiếu ảnh".to_owned()),
                    },
                }],
            ),
        )
        .unwrap();
    let mut input = PersonInput {
        person_id: Some(p),
        unit_code: Some(unit_code()),
        full_name: "Lò Thị Mai".to_owned(),
        birth_year: Some(1963),
        household_address: Some("Thôn Đông".to_owned()),
        ..PersonInput::default()
    };
    store.upsert_person(&input).unwrap();
    store
        .set_answer(a, &IndicatorId::new("1.3"), &Answer::Points(8), None)
        .unwrap();
    let entry = store.submit_assessment(a).unwrap();
    assert_eq!(entry.version, 2, "pulled version + 1");

    let pending = store.outbox_pending(10).unwrap();
    let kinds: Vec<_> = pending
        .iter()
        .map(|e| (e.record_kind.as_str(), e.version))
        .collect();
    assert_eq!(kinds, vec![("person", 2), ("assessment", 2)]);
    let body: RecordBody = serde_json::from_str(&pending[0].payload_json).unwrap();
    let RecordBody::Person(sent) = body else {
        panic!("not a person: {body:?}")
    };
    assert_eq!(sent.cccd, None);
    assert!(sent.keep_cccd, "the server's CCCD must be kept");
    assert_eq!(sent.birth_year, Some(1963));
    assert_eq!(sent.phone.as_deref(), Some("0912345678"));
    ack_all(&mut store);

    // An explicit erase withdraws it: the next version says so.
    input.cccd = CccdUpdate::Erase;
    store.upsert_person(&input).unwrap();
    assert!(!store.person(p).unwrap().server_has_cccd);

    // A profile-only edit (no submission) still reaches the server: the next
    // batch carries it as one new version, however many saves it took.
    input.full_name = "Lò Thị Mai Anh".to_owned();
    store.upsert_person(&input).unwrap();
    let batch = store
        .open_push_batch(200)
        .unwrap()
        .expect("the edit is queued");
    let versions: Vec<_> = batch
        .entries
        .iter()
        .map(|e| (e.record_kind.as_str(), e.version))
        .collect();
    assert_eq!(versions, vec![("person", 3)]);
    let RecordBody::Person(sent) = serde_json::from_str(&batch.entries[0].payload_json).unwrap()
    else {
        panic!("not a person")
    };
    assert_eq!(sent.full_name, "Lò Thị Mai Anh");
    assert!(!sent.keep_cccd, "erased: the server must drop its CCCD too");
    ack_all(&mut store);
    assert!(
        store.open_push_batch(200).unwrap().is_none(),
        "nothing new to send"
    );
}

#[test]
fn catalogs_keep_the_highest_valid_revision() {
    let (_dir, mut store) = joined_store();
    let mut catalog = cdht_core::embedded_catalogs().unwrap()[0].clone();
    catalog.revision = 2;
    let mut older = catalog.clone();
    older.revision = 1;
    let mut broken = catalog.clone();
    broken.revision = 5;
    broken.groups.clear();
    let change = |seq: u64, catalog: &cdht_core::Catalog| ServerChange {
        seq,
        at: "2025-11-02T00:00:00Z".to_owned(),
        change: Change::Catalog {
            catalog: catalog.clone(),
        },
    };
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                3,
                vec![change(1, &catalog), change(2, &older), change(3, &broken)],
            ),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.skipped), (1, 2));
    assert_eq!(store.catalogs().unwrap(), vec![catalog.clone()]);
    let mut newer = catalog.clone();
    newer.revision = 3;
    assert!(store.save_catalog(&newer).unwrap());
    assert!(!store.save_catalog(&catalog).unwrap());
    assert_eq!(store.catalogs().unwrap(), vec![newer]);
}

#[test]
fn a_refused_photo_is_parked_until_replaced() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    let photo = fake_jpeg(3, 4000);
    let evidence = store
        .add_evidence(id, &IndicatorId::new("1.1"), &photo, &jpeg_meta())
        .unwrap();
    store.submit_assessment(id).unwrap();
    assert_eq!(store.pending_upload_count().unwrap(), 1);

    store
        .park_upload(&evidence.sha256, "invalid_evidence", "Ảnh không hợp lệ")
        .unwrap();
    assert_eq!(store.pending_upload_count().unwrap(), 0);
    assert!(store.pending_uploads(10).unwrap().is_empty());
    let parked = store.parked_uploads().unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].evidence_id, evidence.evidence_id);
    assert_eq!(parked[0].assessment_id, id);
    assert_eq!(parked[0].indicator_id, IndicatorId::new("1.1"));
    assert_eq!(parked[0].code, "invalid_evidence");
    assert_eq!(parked[0].reason, "Ảnh không hợp lệ");
    assert!(store.park_upload(&"0".repeat(64), "x", "y").is_err());
}

#[test]
fn credentials_and_scope_live_in_the_store() {
    let (dir, mut store) = joined_store();
    assert_eq!(store.sync_credentials().unwrap(), None);
    assert!(store
        .set_sync_scope(DeviceScope::UnitRecords, Some("lan"))
        .is_err());
    let creds = SyncCredentials {
        server_url: "https://cdht.example.vn".to_owned(),
        unit_code: unit_code(),
        device_id: "dev".to_owned(),
        device_token: "secret-token".to_owned(),
        scope: DeviceScope::OwnRecords,
        officer_username: None,
        updated_at_ms: 0,
    };
    store.save_sync_credentials(&creds).unwrap();
    assert!(!format!("{creds:?}").contains("secret-token"));
    #[cfg(unix)]
    {
        // The database now holds the token: owner-only, like the file was.
        use std::os::unix::fs::PermissionsExt;
        let db = dir.path().join(cdht_store::DB_FILE_NAME);
        let mode = std::fs::metadata(db).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    pull_one_household(&mut store);
    assert_eq!(store.pull_cursor(&unit_code()).unwrap(), 3);

    // Binding an officer widens the scope: the pull starts over.
    assert!(store
        .set_sync_scope(DeviceScope::UnitRecords, None)
        .is_err());
    store
        .set_sync_scope(DeviceScope::UnitRecords, Some("lan"))
        .unwrap();
    assert_eq!(store.pull_cursor(&unit_code()).unwrap(), 0);
    drop(store);

    let mut store = Store::open_with_key_file(dir.path()).unwrap();
    let saved = store.sync_credentials().unwrap().unwrap();
    assert_eq!(saved.device_token, "secret-token");
    assert_eq!(saved.scope, DeviceScope::UnitRecords);
    assert_eq!(saved.officer_username.as_deref(), Some("lan"));
    store.set_sync_scope(DeviceScope::OwnRecords, None).unwrap();
    let saved = store.sync_credentials().unwrap().unwrap();
    assert_eq!(
        (saved.scope, saved.officer_username),
        (DeviceScope::OwnRecords, None)
    );
}

#[test]
fn replayed_reviews_do_not_undo_a_resubmission() {
    let (_dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    store.submit_assessment(id).unwrap();
    ack_all(&mut store);
    let returned = ServerChange {
        seq: 4,
        at: "2025-11-03T00:00:00Z".to_owned(),
        change: Change::Review {
            assessment: id,
            state: ReviewState::Returned,
            reason: Some("Thiếu ảnh".to_owned()),
        },
    };
    store
        .apply_pull(&unit_code(), &page(4, vec![returned.clone()]))
        .unwrap();
    store.submit_assessment(id).unwrap();
    ack_all(&mut store);
    store
        .save_sync_credentials(&SyncCredentials {
            server_url: "https://cdht.example.vn".to_owned(),
            unit_code: unit_code(),
            device_id: "dev".to_owned(),
            device_token: "t".to_owned(),
            scope: DeviceScope::OwnRecords,
            officer_username: None,
            updated_at_ms: 0,
        })
        .unwrap();
    store
        .set_sync_scope(DeviceScope::UnitRecords, Some("lan"))
        .unwrap();
    let outcome = store
        .apply_pull(&unit_code(), &page(4, vec![returned]))
        .unwrap();
    assert_eq!(outcome.skipped, 1);
    assert_eq!(
        store.assessment(id).unwrap().status,
        AssessmentStatus::Submitted
    );
}

#[test]
fn the_winner_of_a_version_conflict_replaces_the_refused_edit() {
    let (_dir, mut store) = joined_store();
    let pulled = pull_one_household(&mut store);
    let (p, a) = (pulled.person, pulled.assessment);
    store
        .apply_pull(
            &unit_code(),
            &page(
                4,
                vec![ServerChange {
                    seq: 4,
                    at: "2025-11-03T00:00:00Z".to_owned(),
                    change: Change::Review {
                        assessment: a,
                        state: ReviewState::Returned,
                        reason: Some("Sửa chỉ số 1.2".to_owned()),
                    },
                }],
            ),
        )
        .unwrap();
    store
        .set_answer(a, &IndicatorId::new("1.2"), &Answer::Points(3), None)
        .unwrap();
    assert_eq!(store.submit_assessment(a).unwrap().version, 2);

    // Another device pushed its version 2 first: ours is refused.
    let batch = store.open_push_batch(200).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    let request = batch.to_push_batch().unwrap();
    store
        .apply_push_response(&PushResponse {
            batch_id: request.batch_id,
            seq: request.seq,
            acks: request
                .records
                .iter()
                .map(|r| RecordAck {
                    id: r.body.id(),
                    kind: r.body.kind(),
                    version: r.version,
                    outcome: AckOutcome::Rejected,
                    code: Some("version_conflict".to_owned()),
                    message: Some("Phiếu đã được sửa trên máy khác".to_owned()),
                    score: None,
                })
                .collect(),
        })
        .unwrap();
    assert_eq!(
        store.open_refusals(10).unwrap().len(),
        1,
        "the refusal needs a person until the winner arrives"
    );

    // The winner arrives by pull and replaces the refused edit.
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                5,
                vec![record(5, assessment(a, p, 9, DeviceState::Submitted), 2)],
            ),
        )
        .unwrap();
    assert_eq!(outcome.applied, 1, "{outcome:?}");
    let detail = store.assessment_detail(a).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
    assert_eq!(detail.answers, answers(9));
    // The refused answers never reached the server: kept for the person.
    assert_eq!(outcome.replaced_local_edits, 1);
    let kept = store.replaced_answers(a).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].answers.get("1.2"), Some(&Answer::Points(3)));
    assert!(
        store.open_refusals(10).unwrap().is_empty(),
        "settled by the winner: nothing left to fix"
    );
    // Replaying it changes nothing more.
    let again = store
        .apply_pull(
            &unit_code(),
            &page(
                5,
                vec![record(5, assessment(a, p, 9, DeviceState::Submitted), 2)],
            ),
        )
        .unwrap();
    assert_eq!((again.applied, again.skipped), (0, 1));
}

/// A pulled household whose assessment an officer returned (seq 4).
fn pull_returned_household(store: &mut Store) -> Pulled {
    let pulled = pull_one_household(store);
    store
        .apply_pull(
            &unit_code(),
            &page(
                4,
                vec![ServerChange {
                    seq: 4,
                    at: "2025-11-03T00:00:00Z".to_owned(),
                    change: Change::Review {
                        assessment: pulled.assessment,
                        state: ReviewState::Returned,
                        reason: Some("Sửa chỉ số 1.2".to_owned()),
                    },
                }],
            ),
        )
        .unwrap();
    pulled
}

#[test]
fn unsent_answers_replaced_by_another_devices_version_are_kept() {
    let (_dir, mut store) = joined_store();
    let pulled = pull_returned_household(&mut store);
    let (p, a) = (pulled.person, pulled.assessment);
    assert!(store.replaced_answers(a).unwrap().is_empty());

    // Edited here, not submitted: nothing in the outbox.
    store
        .set_answer(a, &IndicatorId::new("1.2"), &Answer::Points(3), None)
        .unwrap();
    assert_eq!(store.outbox_count(OutboxState::Pending).unwrap(), 0);
    let mine = store.assessment_detail(a).unwrap().answers;

    // An officer corrected and resubmitted it on another device first.
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                5,
                vec![record(5, assessment(a, p, 9, DeviceState::Submitted), 2)],
            ),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.replaced_local_edits), (1, 1));
    // The first to reach the server wins…
    let detail = store.assessment_detail(a).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
    assert_eq!(detail.answers, answers(9));
    // …and the person's unsent answers are kept, not lost.
    let kept = store.replaced_answers(a).unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].answers, mine);
    assert_eq!(kept[0].by_version, 2);
    assert_eq!(kept[0].assessment_id, a);

    // Replaying the page keeps nothing more.
    let again = store
        .apply_pull(
            &unit_code(),
            &page(
                5,
                vec![record(5, assessment(a, p, 9, DeviceState::Submitted), 2)],
            ),
        )
        .unwrap();
    assert_eq!((again.applied, again.replaced_local_edits), (0, 0));
    // No edit since the pull: a later version keeps nothing.
    let later = store
        .apply_pull(
            &unit_code(),
            &page(
                6,
                vec![record(6, assessment(a, p, 8, DeviceState::Draft), 3)],
            ),
        )
        .unwrap();
    assert_eq!((later.applied, later.replaced_local_edits), (1, 0));
    assert_eq!(store.replaced_answers(a).unwrap().len(), 1);
    let before = store.assessment(a).unwrap();
    assert_eq!(before.status, AssessmentStatus::Draft);

    // Used again on the (editable) pulled draft: one autosave, not queued.
    let replaced_id = store.replaced_answers(a).unwrap()[0].replaced_id;
    let saved = store
        .restore_replaced_answers(a, replaced_id, None)
        .unwrap();
    assert_eq!(saved.revision, before.revision + 1);
    assert_eq!(store.assessment_detail(a).unwrap().answers, mine);
    assert!(store.replaced_answers(a).unwrap().is_empty());
    assert_eq!(store.outbox_count(OutboxState::Pending).unwrap(), 0);
    assert!(store
        .restore_replaced_answers(a, replaced_id, None)
        .is_err());

    // Those are unsent edits again: a newer version keeps them again.
    store
        .apply_pull(
            &unit_code(),
            &page(
                7,
                vec![record(7, assessment(a, p, 9, DeviceState::Submitted), 4)],
            ),
        )
        .unwrap();
    assert_eq!(store.replaced_answers(a).unwrap()[0].answers, mine);
    // Submitted elsewhere: not editable here, so not used again.
    let replaced_id = store.replaced_answers(a).unwrap()[0].replaced_id;
    assert_eq!(
        store
            .restore_replaced_answers(a, replaced_id, None)
            .unwrap_err()
            .kind(),
        cdht_store::ErrorKind::Locked
    );

    // Seen: they go.
    assert_eq!(store.dismiss_replaced_answers(a).unwrap(), 1);
    assert!(store.replaced_answers(a).unwrap().is_empty());
    assert_eq!(store.dismiss_replaced_answers(a).unwrap(), 0);
}

#[test]
fn without_unsent_edits_a_newer_version_keeps_nothing() {
    let (_dir, mut store) = joined_store();
    let pulled = pull_returned_household(&mut store);
    let (p, a) = (pulled.person, pulled.assessment);

    // Edited, submitted and acknowledged: the server has it.
    store
        .set_answer(a, &IndicatorId::new("1.2"), &Answer::Points(3), None)
        .unwrap();
    assert_eq!(store.submit_assessment(a).unwrap().version, 2);
    assert_eq!(ack_all(&mut store), 1);
    let outcome = store
        .apply_pull(
            &unit_code(),
            &page(
                5,
                vec![record(5, assessment(a, p, 9, DeviceState::Submitted), 3)],
            ),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.replaced_local_edits), (1, 0));
    assert!(store.replaced_answers(a).unwrap().is_empty());

    // An edit that ends where the pulled record is (nothing would be lost).
    let (_dir2, mut other) = joined_store();
    let pulled = pull_returned_household(&mut other);
    let (p, a) = (pulled.person, pulled.assessment);
    other
        .set_answer(a, &IndicatorId::new("1.2"), &Answer::Points(7), None)
        .unwrap();
    let outcome = other
        .apply_pull(
            &unit_code(),
            &page(
                5,
                vec![record(5, assessment(a, p, 7, DeviceState::Submitted), 2)],
            ),
        )
        .unwrap();
    assert_eq!((outcome.applied, outcome.replaced_local_edits), (1, 0));
    assert!(other.replaced_answers(a).unwrap().is_empty());
}
