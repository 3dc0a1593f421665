#![allow(clippy::unwrap_used)]
//! `SyncEngine` against the real server on 127.0.0.1 with real store files.

mod support;

use cdht_store::{AssessmentStatus, OutboxState, Store, SyncCredentials};
use cdht_sync_engine::{SyncEngine, SyncErrorKind, SyncPhase, CREDENTIALS_FILE};
use cdht_test_support::down_link::DownLink;
use serde_json::{json, Value};
use support::*;

#[tokio::test]
async fn offline_collection_reaches_the_server_exactly_once_and_a_second_sync_sends_nothing() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    let unit = engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    assert_eq!(unit.unit_code.as_str(), UNIT);

    // The token is in the store's credentials, never in the unit's stored
    // payload, and no side file is written any more.
    assert!(!dir.path().join(CREDENTIALS_FILE).exists());
    let creds = engine.store().sync_credentials().unwrap().unwrap();
    assert_eq!(creds.unit_code.as_str(), UNIT);
    assert!(!unit.join_payload.to_string().contains(&creds.device_token));

    // Offline: three households, five photos.
    let mut total_bytes = 0u64;
    for (i, name) in ["Nguyễn Thị Lan", "Trần Văn Bình", "Lê Thị Cúc"]
        .iter()
        .enumerate()
    {
        let photos: Vec<Vec<u8>> = (0..(i + 1).min(2))
            .map(|p| photo((i * 10 + p) as u64, 30_000 + p * 1000))
            .collect();
        total_bytes += photos.iter().map(|p| p.len() as u64).sum::<u64>();
        collect(engine.store_mut(), name, "244-2022", &photos);
    }

    let mut seen = Vec::new();
    let report = engine.sync_once(|p| seen.push(p)).await.unwrap();
    assert_eq!(report.pushed, 3 + 3 + 5, "{report:?}");
    assert_eq!(report.acked, 11);
    assert!(report.rejected.is_empty());
    assert_eq!(report.photos_uploaded, 5);
    assert_eq!(report.uploaded_bytes, total_bytes);

    // Progress: items and bytes, ending done with everything counted.
    let last = *seen.last().unwrap();
    assert_eq!(last.phase, SyncPhase::Done);
    assert_eq!((last.items_done, last.items_total), (16, 16));
    assert_eq!(
        (last.bytes_done, last.bytes_total),
        (total_bytes, total_bytes)
    );
    assert!(seen.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done));

    let stats = server.stats().await;
    assert_eq!(stats.persons, 3);
    assert_eq!(stats.assessments, 3);
    assert_eq!(stats.evidence_records, 5);
    assert_eq!(stats.blobs_complete, 5);
    assert_eq!(stats.evidence_bytes_accepted, total_bytes);

    // A second round sends nothing.
    let sent_before = engine
        .counters()
        .unwrap()
        .evidence_bytes_sent
        .load(std::sync::atomic::Ordering::SeqCst);
    let again = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(
        (again.pushed, again.batches, again.uploaded_bytes),
        (0, 0, 0)
    );
    assert_eq!(
        engine
            .counters()
            .unwrap()
            .evidence_bytes_sent
            .load(std::sync::atomic::Ordering::SeqCst),
        sent_before
    );
    assert_eq!(server.stats().await, stats);

    // A new engine on the same folder (app restart) is still enrolled.
    drop(engine);
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    assert_eq!(engine.enrolment().unwrap().unit.as_str(), UNIT);
    let third = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!((third.pushed, third.uploaded_bytes), (0, 0));
}

#[tokio::test]
async fn a_returned_decision_reaches_the_device_and_a_rejected_record_is_parked() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();

    let (_, good) = collect(
        engine.store_mut(),
        "Phạm Văn Dũng",
        "244-2022",
        &[photo(1, 5000)],
    );
    // A catalog the server does not know: that assessment is rejected.
    let (_, bad) = collect(engine.store_mut(), "Hoàng Thị Em", "999-2099", &[]);
    let (_, other) = collect(engine.store_mut(), "Vũ Văn Giang", "244-2022", &[]);

    let report = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let rejected = &report.rejected[0];
    assert_eq!(rejected.kind, "assessment");
    assert_eq!(rejected.id, bad.to_string());
    assert!(rejected.code.is_some());
    assert!(!rejected.reason.is_empty());
    // The rest went through: three people, two assessments, one photo.
    assert_eq!(report.acked, 3 + 2 + 1);
    assert_eq!(report.photos_uploaded, 1);
    let stats = server.stats().await;
    assert_eq!(
        (stats.persons, stats.assessments, stats.blobs_complete),
        (3, 2, 1)
    );

    // Parked in the store with the reason, and the assessment is back with the person.
    let parked = engine.parked(10).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].state, OutboxState::Rejected);
    assert_eq!(parked[0].record_id, bad.to_string());
    assert_eq!(
        parked[0].reject_reason.as_deref(),
        Some(rejected.reason.as_str())
    );
    let bad_now = engine.store().assessment(bad).unwrap();
    assert_eq!(bad_now.status, AssessmentStatus::Returned);

    // A reviewer returns the good one with a reason; the next round pulls it.
    let reviewer = server.officer(REVIEWER).await;
    let reason = "Ảnh minh chứng chỉ số 1.1 bị mờ, bác chụp lại giúp";
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{good}/return"),
            &json!({ "reason": reason }),
        )
        .await
        .unwrap();
    reviewer
        .post_json::<_, Value>(&format!("/api/v1/assessments/{other}/approve"), &json!({}))
        .await
        .unwrap();
    let report = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(
        report.pushed, 0,
        "the parked record is not retried: {report:?}"
    );
    assert_eq!(report.pulled_changes, 2);
    assert_eq!(report.applied_changes, 2);
    let good_now = engine.store().assessment(good).unwrap();
    assert_eq!(good_now.status, AssessmentStatus::Returned);
    assert_eq!(good_now.return_reason.as_deref(), Some(reason));
    assert_eq!(
        engine.store().assessment(other).unwrap().status,
        AssessmentStatus::Approved
    );
}

#[tokio::test]
async fn offline_auth_and_not_enrolled_are_told_apart_and_lose_nothing() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();

    // Never enrolled: re-enrol, not "offline".
    let err = engine.sync_once(|_| {}).await.unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::AuthExpired);

    // A bad QR is a rejection with the QR's code.
    let err = engine
        .enrol_from_qr("https://example.com/hello")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::Rejected);
    assert_eq!(err.as_code(), cdht_core::Code::QrNotCdht);

    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    collect(
        engine.store_mut(),
        "Đỗ Thị Hoa",
        "244-2022",
        &[photo(9, 3000)],
    );

    // The server is unreachable: Offline, everything kept.
    let good: SyncCredentials = engine.store().sync_credentials().unwrap().unwrap();
    // The link to the server is down: offline. (A port where nothing
    // listens is not offline: the network works and no server is there.)
    let link = DownLink::start().await;
    let dead = link.url.clone();
    let write_creds = |creds: &SyncCredentials| {
        Store::open_with_key_file(dir.path())
            .unwrap()
            .save_sync_credentials(creds)
            .unwrap();
    };
    write_creds(&SyncCredentials {
        server_url: dead,
        ..good.clone()
    });
    let mut offline =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    let err = offline.sync_once(|_| {}).await.unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::Offline, "{err}");
    assert!(err.is_retry_later());
    assert_eq!(err.as_code(), cdht_core::Code::Offline);
    assert_eq!(offline.store().outbox_pending(100).unwrap().len(), 3);
    drop(offline);

    // A token the server does not know: AuthExpired, not offline; nothing lost.
    write_creds(&SyncCredentials {
        device_token: "0".repeat(64),
        ..good
    });
    let mut stale =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    let err = stale.sync_once(|_| {}).await.unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::AuthExpired, "{err}");
    assert!(!err.is_retry_later());
    assert_eq!(stale.store().outbox_pending(100).unwrap().len(), 3);

    // Re-enrol by QR: the same store continues and sends everything once.
    stale.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    let report = stale.sync_once(|_| {}).await.unwrap();
    assert_eq!((report.acked, report.photos_uploaded), (3, 1));
    let stats = server.stats().await;
    assert_eq!(
        (stats.persons, stats.assessments, stats.blobs_complete),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn scanning_the_poster_again_keeps_the_device_id_and_its_token_proves_it() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(dir.path()).unwrap(), config()).unwrap();
    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    let first = engine.store().sync_credentials().unwrap().unwrap();
    // The server re-enrols a known device id only with its current token
    // (the join key is public); the engine sends it, so the id stays.
    engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
    let again = engine.store().sync_credentials().unwrap().unwrap();
    assert_eq!(again.device_id, first.device_id);
    assert_ne!(again.device_token, first.device_token);
    // Another device claiming that id over the same poster gets a new one.
    let mut thief = cdht_sync_client::SyncClient::new(&server.url, &[]).unwrap();
    let qr = cdht_core::qr::JoinPayload::parse(&server.qr_url(UNIT)).unwrap();
    let stolen = thief
        .enrol(&qr, first.device_id.parse().unwrap(), None)
        .await
        .unwrap();
    assert_ne!(stolen.device_id.to_string(), first.device_id);
}
