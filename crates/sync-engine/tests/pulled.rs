#![allow(clippy::unwrap_used)]
//! Two devices of one unit against the real server: records pulled by a
//! collector device (an officer bound to it), photos fetched on demand, an
//! edit going back, catalogs, parked photos, credentials in the store.

mod support;

use cdht_core::ids::{CatalogId, GroupId, IndicatorId, UnitCode};
use cdht_core::sync::DeviceScope;
use cdht_core::{Answer, AreaType};
use cdht_store::{AssessmentStatus, CccdUpdate, EvidenceMeta, PersonInput, Store};
use cdht_sync_client::{SyncClient, SyncError as ClientError};
use cdht_sync_engine::{SyncEngine, SyncErrorKind, CREDENTIALS_FILE};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use support::*;

const COLLECTOR: &str = "nhaplieu-x1-c1";

fn jpeg_meta() -> EvidenceMeta {
    EvidenceMeta {
        mime: "image/jpeg".to_owned(),
        width_px: Some(1200),
        height_px: Some(1600),
        taken_at_ms: None,
    }
}

#[tokio::test]
async fn a_collector_device_pulls_edits_and_hands_back_a_citizens_record() {
    let server = start().await;

    // Device A: a citizen's phone. Her profile (with her CCCD, by consent),
    // her assessment and one photo.
    let dir_a = tempfile::tempdir().unwrap();
    let mut a =
        SyncEngine::new(Store::open_with_key_file(dir_a.path()).unwrap(), config()).unwrap();
    a.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    assert_eq!(a.scope(), DeviceScope::OwnRecords);
    let person = a
        .store_mut()
        .upsert_person(&PersonInput {
            full_name: "Hà Thị Thu".to_owned(),
            unit_code: Some(UnitCode::new(UNIT)),
            is_self: true,
            birth_year: Some(1970),
            household_address: Some("Xóm Chợ".to_owned()),
            household_label: Some("Hộ bà Thu, xóm Chợ".to_owned()),
            cccd: CccdUpdate::Set {
                number: "001170012345".to_owned(),
                consent_given: true,
            },
            ..PersonInput::default()
        })
        .unwrap()
        .person_id;
    let assessment = a
        .store_mut()
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
        a.store_mut()
            .set_answer(
                assessment,
                &IndicatorId::new(indicator),
                &Answer::Points(8),
                None,
            )
            .unwrap();
    }
    let bytes = photo(42, 40_000);
    let evidence = a
        .store_mut()
        .add_evidence(assessment, &IndicatorId::new("1.1"), &bytes, &jpeg_meta())
        .unwrap();
    a.store_mut().submit_assessment(assessment).unwrap();
    let report = a.sync_once(|_| {}).await.unwrap();
    assert_eq!((report.acked, report.photos_uploaded), (3, 1), "{report:?}");

    // Device B: the branch's tablet. Enrolled, it sees nobody else's records.
    let dir_b = tempfile::tempdir().unwrap();
    let mut b =
        SyncEngine::new(Store::open_with_key_file(dir_b.path()).unwrap(), config()).unwrap();
    b.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    b.sync_once(|_| {}).await.unwrap();
    assert!(b.store().person(person).is_err());

    // Officer login on the tablet: a wrong password and a reviewer (not a
    // collector) are their own kinds and codes, which the UI words.
    let err = b.bind_officer(COLLECTOR, "sai-mat-khau").await.unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::BadCredentials, "{err}");
    assert_eq!(err.as_code(), cdht_core::Code::BadCredentials);
    let err = b
        .bind_officer(REVIEWER, &server.password(REVIEWER))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::ForbiddenRole, "{err}");
    assert_eq!(err.as_code(), cdht_core::Code::ForbiddenRole);
    assert_eq!(b.scope(), DeviceScope::OwnRecords);

    let bound = b
        .bind_officer(COLLECTOR, &server.password(COLLECTOR))
        .await
        .unwrap();
    assert_eq!(bound.scope, DeviceScope::UnitRecords);
    assert_eq!(b.scope(), DeviceScope::UnitRecords);
    assert_eq!(b.enrolment().unwrap().officer.as_deref(), Some(COLLECTOR));

    // The next round brings her records, pushed before the binding.
    let report = b.sync_once(|_| {}).await.unwrap();
    assert!(report.applied_changes >= 3, "{report:?}");
    let pulled = b.store().person(person).unwrap();
    assert_eq!(pulled.full_name, "Hà Thị Thu");
    assert_eq!(
        pulled.household_label.as_deref(),
        Some("Hộ bà Thu, xóm Chợ"),
        "the label travels with the person"
    );
    assert_eq!(pulled.cccd_masked, None, "the CCCD never comes back");
    assert_eq!(b.store().person_cccd(person).unwrap(), None);
    assert!(pulled.server_has_cccd);
    assert!(!pulled.is_self);
    let detail = b.store().assessment_detail(assessment).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
    assert_eq!(detail.answers.0.len(), INDICATORS.len());
    assert_eq!(detail.evidence.len(), 1);
    let remote = &detail.evidence[0];
    assert_eq!(remote.sha256, evidence.sha256);
    assert!(!remote.on_device);
    assert_eq!(b.store().pending_upload_count().unwrap(), 0);

    // Opening the photo fetches it, checked by its sha256.
    let path = b.fetch_evidence_photo(&evidence.sha256).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(b.store().evidence(remote.evidence_id).unwrap().on_device);
    // Opening it again costs no transfer.
    let requests = b.counters().unwrap().requests.load(Ordering::SeqCst);
    assert_eq!(
        b.fetch_evidence_photo(&evidence.sha256).await.unwrap(),
        path
    );
    assert_eq!(
        b.counters().unwrap().requests.load(Ordering::SeqCst),
        requests
    );

    // The reviewer returns it; the officer corrects an answer at the
    // household and submits: version 2, with her CCCD kept on the server.
    let reviewer = server.officer(REVIEWER).await;
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{assessment}/return"),
            &json!({ "reason": "Chỉ số 2.1 chưa đúng" }),
        )
        .await
        .unwrap();
    b.sync_once(|_| {}).await.unwrap();
    assert_eq!(
        b.store().assessment(assessment).unwrap().status,
        AssessmentStatus::Returned
    );
    b.store_mut()
        .set_answer(
            assessment,
            &IndicatorId::new("2.1"),
            &Answer::Points(6),
            None,
        )
        .unwrap();
    let entry = b.store_mut().submit_assessment(assessment).unwrap();
    assert_eq!(entry.version, 2);
    let report = b.sync_once(|_| {}).await.unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
    assert_eq!(report.pushed, 1, "only the assessment: {report:?}");

    // Device A pulls the new version over its own copy.
    a.sync_once(|_| {}).await.unwrap();
    let detail = a.store().assessment_detail(assessment).unwrap();
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
    assert!(detail
        .answers
        .0
        .contains(&(IndicatorId::new("2.1"), Answer::Points(6))));
    // Her own profile, photo and CCCD are untouched.
    let own = a.store().person(person).unwrap();
    assert!(own.is_self);
    assert!(own.cccd_masked.is_some());
    assert!(a.store().evidence(evidence.evidence_id).unwrap().on_device);

    // The officer unbinds before handing the tablet on.
    let unbound = b.unbind_officer().await.unwrap();
    assert_eq!(unbound.scope, DeviceScope::OwnRecords);
    assert_eq!(b.scope(), DeviceScope::OwnRecords);
    assert_eq!(b.enrolment().unwrap().officer, None);
}

#[tokio::test]
async fn a_catalog_added_on_the_server_reaches_the_store() {
    let (server, _dir, mut engine) = synced_device_without_pulled_catalogs().await;

    let mut corrected = cdht_core::embedded_catalog("244-2022")
        .unwrap()
        .unwrap()
        .clone();
    corrected.revision += 1;
    let json = serde_json::to_string(&corrected).unwrap();
    let storage = std::sync::Arc::clone(&server.state.storage);
    tokio::task::spawn_blocking(move || {
        cdht_server::catalogs::add(storage.as_ref(), "244-2022.json", &json).unwrap()
    })
    .await
    .unwrap();

    engine.sync_once(|_| {}).await.unwrap();
    // As devices receive it: the options applied (`Catalog::for_devices`).
    let corrected = corrected.for_devices();
    assert_eq!(engine.store().catalogs().unwrap(), vec![corrected.clone()]);
    let merged = cdht_core::merge_catalogs(
        cdht_core::embedded_catalogs().unwrap(),
        &engine.store().catalogs().unwrap(),
    );
    assert!(merged.contains(&corrected));
}

#[tokio::test]
async fn a_refused_photo_is_parked_and_not_sent_again() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    let good = photo(1, 20_000);
    let bad = photo(2, 20_000);
    let (_, assessment) = collect(
        engine.store_mut(),
        "Vũ Văn Nam",
        "244-2022",
        &[good, bad.clone()],
    );
    // The file of one photo is damaged after it was taken (same size, other
    // bytes): the server finds the hash wrong once it has them all.
    let bad_sha = cdht_sync_client::sha256_hex(&bad);
    let path = engine.store().evidence_path(&bad_sha);
    let mut damaged = bad.clone();
    damaged[10_000] ^= 0xFF;
    std::fs::write(&path, &damaged).unwrap();

    let report = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.photos_uploaded, 1, "{report:?}");
    let refused: Vec<_> = report
        .rejected
        .iter()
        .filter(|r| r.kind == "photo")
        .collect();
    assert_eq!(refused.len(), 1, "{report:?}");
    assert_eq!(refused[0].id, bad_sha);
    assert_eq!(refused[0].code.as_deref(), Some("hash_mismatch"));

    let parked = engine.store().parked_uploads().unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].sha256, bad_sha);
    assert_eq!(parked[0].assessment_id, assessment);
    assert_eq!(parked[0].indicator_id, IndicatorId::new("1.1"));
    assert_eq!(parked[0].code, "hash_mismatch");
    assert!(!parked[0].reason.is_empty());

    // The next round does not send it again.
    let sent = engine
        .counters()
        .unwrap()
        .evidence_bytes_sent
        .load(Ordering::SeqCst);
    let again = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(again.uploaded_bytes, 0, "{again:?}");
    assert!(again.rejected.is_empty(), "{again:?}");
    assert_eq!(
        engine
            .counters()
            .unwrap()
            .evidence_bytes_sent
            .load(Ordering::SeqCst),
        sent
    );
    assert_eq!(engine.store().parked_uploads().unwrap().len(), 1);
}

#[tokio::test]
async fn credentials_survive_reopening_and_an_old_token_file_is_moved_into_the_store() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    engine
        .bind_officer(COLLECTOR, &server.password(COLLECTOR))
        .await
        .unwrap();
    let enrolment = engine.enrolment().unwrap();
    drop(engine);

    // Reopened: same enrolment and scope, and it still talks to the server.
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    assert_eq!(engine.enrolment(), Some(enrolment));
    assert_eq!(engine.scope(), DeviceScope::UnitRecords);
    engine.sync_once(|_| {}).await.unwrap();
    engine.probe().await.unwrap();
    let creds = engine.store().sync_credentials().unwrap().unwrap();
    drop(engine);

    // What an older app left: the token in sync-device.json, none in the store.
    let mut store = Store::open_with_key_file(dir.path()).unwrap();
    store.clear_sync_credentials().unwrap();
    drop(store);
    let file = dir.path().join(CREDENTIALS_FILE);
    std::fs::write(
        &file,
        serde_json::to_vec(&json!({
            "server": creds.server_url,
            "unit": creds.unit_code.as_str(),
            "device_id": creds.device_id,
            "token": creds.device_token,
        }))
        .unwrap(),
    )
    .unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    assert!(!file.exists(), "the file is gone once the store holds it");
    let moved = engine.store().sync_credentials().unwrap().unwrap();
    assert_eq!(moved.device_token, creds.device_token);
    assert_eq!(moved.server_url, creds.server_url);
    assert_eq!(engine.enrolment().unwrap().unit.as_str(), UNIT);
    engine.sync_once(|_| {}).await.unwrap();
}

#[tokio::test]
async fn probe_tells_a_reachable_server_from_a_dead_one_quickly() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    let err = engine.probe().await.unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::AuthExpired);
    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    engine.probe().await.unwrap();

    // A link that is down: offline, to retry.
    let link = cdht_test_support::down_link::DownLink::start().await;
    let client = SyncClient::new(&link.url, &[]).unwrap();
    let started = std::time::Instant::now();
    let err = client.healthz().await.unwrap_err();
    assert!(err.is_retry_later(), "{err}");
    assert!(matches!(err, ClientError::Network(_)), "{err:?}");
    assert!(started.elapsed() < cdht_sync_client::HEALTHZ_TIMEOUT * 2);

    // Nothing listening at the address while the network works: no server
    // there, said at once (not a network to wait for).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let client = SyncClient::new(&dead, &[]).unwrap();
    let err = client.healthz().await.unwrap_err();
    assert!(matches!(err, ClientError::NoServer(_)), "{err:?}");
    assert!(started.elapsed() < cdht_sync_client::HEALTHZ_TIMEOUT * 2);
}

#[tokio::test]
async fn the_loser_of_a_version_conflict_gets_the_winner_in_the_same_round() {
    let server = start().await;
    let dir_a = tempfile::tempdir().unwrap();
    let mut a =
        SyncEngine::new(Store::open_with_key_file(dir_a.path()).unwrap(), config()).unwrap();
    a.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    let (_, assessment) = collect(a.store_mut(), "Đinh Văn Tư", "244-2022", &[]);
    a.sync_once(|_| {}).await.unwrap();

    let dir_b = tempfile::tempdir().unwrap();
    let mut b =
        SyncEngine::new(Store::open_with_key_file(dir_b.path()).unwrap(), config()).unwrap();
    b.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    b.bind_officer(COLLECTOR, &server.password(COLLECTOR))
        .await
        .unwrap();
    b.sync_once(|_| {}).await.unwrap();

    let reviewer = server.officer(REVIEWER).await;
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{assessment}/return"),
            &json!({ "reason": "Xem lại chỉ số 3.1" }),
        )
        .await
        .unwrap();
    a.sync_once(|_| {}).await.unwrap();
    b.sync_once(|_| {}).await.unwrap();

    // Both edit version 1; the tablet's version 2 arrives first.
    for (engine, points) in [(&mut a, 2), (&mut b, 5)] {
        engine
            .store_mut()
            .set_answer(
                assessment,
                &IndicatorId::new("3.1"),
                &Answer::Points(points),
                None,
            )
            .unwrap();
        assert_eq!(
            engine
                .store_mut()
                .submit_assessment(assessment)
                .unwrap()
                .version,
            2
        );
    }
    let report = b.sync_once(|_| {}).await.unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
    let report = a.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].code.as_deref(), Some("version_conflict"));

    // The phone now shows the winner (its person re-edits if needed).
    let detail = a.store().assessment_detail(assessment).unwrap();
    assert!(detail
        .answers
        .0
        .contains(&(IndicatorId::new("3.1"), Answer::Points(5))));
    assert_eq!(detail.assessment.status, AssessmentStatus::Submitted);
}

/// A server upgraded to a build that ships a corrected revision (2 or later) tells
/// the devices already enrolled (which shipped revision 1): they pull it as
/// a catalog change and score and show with its corrected names.
#[tokio::test]
async fn devices_enrolled_before_an_upgrade_pull_the_shipped_revision() {
    let (server, _dir, mut engine) = synced_device_without_pulled_catalogs().await;

    // The database as a build of revision 1 left it: nothing announced.
    let storage = std::sync::Arc::clone(&server.state.storage);
    tokio::task::spawn_blocking(move || {
        for id in ["244-2022", "324-2023"] {
            storage
                .set_setting(&format!("catalog_announced:{id}"), "1")
                .unwrap();
        }
    })
    .await
    .unwrap();
    // The upgraded server starts on the same data folder.
    let data_dir = server.state.config.data_dir.clone();
    drop(cdht_server::AppState::open(cdht_server::Config::new(data_dir.clone())).unwrap());
    // A second start announces nothing more.
    drop(cdht_server::AppState::open(cdht_server::Config::new(data_dir)).unwrap());

    let report = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.applied_changes, 2, "{report:?}");
    let pulled = engine.store().catalogs().unwrap();
    let shipped = cdht_core::embedded_catalogs().unwrap();
    assert_eq!(pulled.len(), 2);
    for catalog in &pulled {
        let same_id = shipped.iter().find(|c| c.id == catalog.id).unwrap();
        assert!(catalog.revision >= 2);
        // As devices receive it: options applied, in the shape every build reads.
        assert_eq!(catalog, &same_id.for_devices());
    }
    // What the device scores and shows with: the corrected names.
    let merged = cdht_core::merge_catalogs(&[], &pulled);
    let c244 = merged.iter().find(|c| c.id.as_str() == "244-2022").unwrap();
    let workers = c244
        .groups
        .iter()
        .find(|g| g.id.as_str() == "workers")
        .unwrap();
    assert_eq!(
        workers.name.vi,
        "Công nhân, lao động tiểu thủ công, thợ sửa chữa thiết bị gia dụng"
    );
    let input = cdht_core::AssessmentInput {
        catalog: "244-2022".into(),
        group: "workers".into(),
        area: cdht_core::AreaType::Normal,
        answers: cdht_core::Answers(
            INDICATORS
                .iter()
                .map(|i| {
                    (
                        cdht_core::ids::IndicatorId::new(*i),
                        cdht_core::Answer::Points(8),
                    )
                })
                .collect(),
        ),
    };
    let result = cdht_core::score_with(&merged, &input, cdht_core::Completeness::Complete).unwrap();
    assert_eq!((result.total, result.passed), (80, true));
}

/// A server and a device of it that synced once and pulled no catalog.
async fn synced_device_without_pulled_catalogs() -> (TestServer, tempfile::TempDir, SyncEngine) {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    engine.sync_once(|_| {}).await.unwrap();
    assert!(engine.store().catalogs().unwrap().is_empty());
    (server, dir, engine)
}
