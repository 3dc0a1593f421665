#![allow(clippy::unwrap_used)]
//! The real server on 127.0.0.1 (temporary data dir, demo tree) against the
//! real sync client.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{AckOutcome, Change, DeviceState, ReviewState};
use cdht_sync_client::{envelope, SyncError};
use serde_json::{json, Value};
use support::*;

const PASSING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const FAILING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 4];

#[tokio::test]
async fn enrol_by_qr_push_review_and_pull_the_decisions() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let (person_id, person_body) = person("Nguyễn Thị Lan", Some("001190012345"));
    let aid = AssessmentId::new_v7();
    let response = device
        .push(&batch(
            1,
            vec![
                v1(person_body),
                v1(assessment(aid, person_id, DeviceState::Submitted, FAILING)),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(response.acks.len(), 2);
    assert!(response
        .acks
        .iter()
        .all(|a| a.outcome == AckOutcome::Accepted));
    // The device claimed 100; the server scored 76 and a fail (3.2 below 5).
    let score = response.acks[1].score.unwrap();
    assert_eq!(
        (score.total, score.passed, score.threshold),
        (76, false, 80)
    );

    let reviewer = server.officer("kiemtra-x1").await;
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{aid}/return"),
            &json!({"reason": "Thiếu ảnh minh chứng cho chỉ số 1.1"}),
        )
        .await
        .unwrap();
    let (changes, cursor) = device.pull_all(0).await.unwrap();
    assert_eq!(changes.len(), 1);
    match &changes[0].change {
        Change::Review {
            assessment,
            state,
            reason,
        } => {
            assert_eq!(*assessment, aid);
            assert_eq!(*state, ReviewState::Returned);
            assert_eq!(
                reason.as_deref(),
                Some("Thiếu ảnh minh chứng cho chỉ số 1.1")
            );
        }
        other => panic!("{other:?}"),
    }

    // The person fixes it and resubmits as version 2; the officer approves,
    // the commune recognises.
    let fixed = device
        .push(&batch(
            2,
            vec![envelope(
                assessment(aid, person_id, DeviceState::Submitted, PASSING),
                2,
            )],
        ))
        .await
        .unwrap();
    assert_eq!(fixed.acks[0].outcome, AckOutcome::Accepted);
    assert!(fixed.acks[0].score.unwrap().passed);
    reviewer
        .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/approve"), &json!({}))
        .await
        .unwrap();
    let recogniser = server.officer("congnhan-x1").await;
    recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/recognitions",
            &json!({"decision_no": "12/QĐ-KH", "decision_date": "2025-11-20", "assessments": [aid]}),
        )
        .await
        .unwrap();
    let (changes, _) = device.pull_all(cursor).await.unwrap();
    let kinds: Vec<_> = changes
        .iter()
        .map(|c| match &c.change {
            Change::Review { state, .. } => state.as_str().to_owned(),
            Change::Recognition { decision_no, .. } => decision_no.clone(),
            Change::Unit { .. } => "unit".into(),
            Change::Record { .. } => "record".into(),
            Change::Catalog { .. } => "catalog".into(),
        })
        .collect();
    assert_eq!(kinds, ["approved", "12/QĐ-KH"]);

    let list: Vec<Value> = reviewer
        .get_json("/api/v1/units/DEMO-X1/assessments")
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "recognised");
    assert_eq!(list[0]["total"], 80);
    let audit: Vec<Value> = reviewer
        .get_json("/api/v1/units/DEMO-X1/audit")
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["push", "return", "push", "approve", "recognise"]);
    assert_eq!(audit[1]["actor"], "kiemtra-x1");
}

#[tokio::test]
async fn a_replayed_batch_gets_the_original_acks_and_stores_nothing_twice() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let (pid, body) = person("Trần Văn Minh", None);
    let b = batch(
        1,
        vec![
            v1(body),
            v1(assessment(
                AssessmentId::new_v7(),
                pid,
                DeviceState::Submitted,
                PASSING,
            )),
        ],
    );
    let first = device.push(&b).await.unwrap();
    let again = device.push(&b).await.unwrap();
    assert_eq!(first, again);
    let stats = server.stats().await;
    assert_eq!((stats.persons, stats.assessments, stats.batches), (1, 1, 1));

    // The same batch id with another payload is a conflict, not a silent overwrite.
    let mut changed = b.clone();
    changed.records.pop();
    let err = device.push(&changed).await.unwrap_err();
    assert_eq!(err.code(), Some("batch_conflict"), "{err}");
    // A new batch must carry a higher sequence number.
    let err = device.push(&batch(1, vec![])).await.unwrap_err();
    assert_eq!(err.code(), Some("seq_out_of_order"), "{err}");
    assert!(!err.is_retry_later());
    // Re-enrolling (app reinstalled) tells the device where its sequence stands.
    let mut again = cdht_sync_client::SyncClient::new(&server.url, &[]).unwrap();
    let qr = server.qr("DEMO-X1-C1");
    let enrolled = again
        .enrol(&qr, cdht_core::ids::DeviceId::new_v7(), None)
        .await
        .unwrap();
    assert_eq!(enrolled.last_push_seq, 0);
}

#[tokio::test]
async fn review_states_win_over_device_edits_by_one_rule() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    // A collector's tablet: it may write the phone's people (an `own_records`
    // device may not).
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    let (pid, body) = person("Lê Thị Hoa", None);
    let aid = AssessmentId::new_v7();
    phone
        .push(&batch(
            1,
            vec![
                v1(body.clone()),
                v1(assessment(aid, pid, DeviceState::Submitted, PASSING)),
            ],
        ))
        .await
        .unwrap();

    // Same version, different content from another device: the first wins.
    let acks = tablet
        .push(&batch(
            1,
            vec![v1(assessment(aid, pid, DeviceState::Submitted, FAILING))],
        ))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Rejected);
    assert_eq!(acks[0].code.as_deref(), Some("version_conflict"));

    // Profile fields: last writer by version.
    let cdht_core::sync::RecordBody::Person(mut p) = body else {
        unreachable!()
    };
    p.full_name = "Lê Thị Hoa (Hòa)".into();
    let newer = envelope(cdht_core::sync::RecordBody::Person(p.clone()), 3);
    p.full_name = "stale".into();
    let older = envelope(cdht_core::sync::RecordBody::Person(p), 2);
    let acks = tablet
        .push(&batch(2, vec![newer, older]))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Accepted);
    assert_eq!(acks[1].outcome, AckOutcome::Superseded);

    // Once approved, a device edit is rejected with a reason, never merged.
    let reviewer = server.officer("kiemtra-x1").await;
    reviewer
        .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/approve"), &json!({}))
        .await
        .unwrap();
    let acks = phone
        .push(&batch(
            2,
            vec![envelope(
                assessment(aid, pid, DeviceState::Submitted, FAILING),
                2,
            )],
        ))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Rejected);
    assert_eq!(acks[0].code.as_deref(), Some("locked_after_review"));
    assert!(acks[0].message.as_deref().unwrap().contains("duyệt"));
    let list: Vec<Value> = reviewer
        .get_json("/api/v1/units/DEMO-X1/assessments")
        .await
        .unwrap();
    assert_eq!(list[0]["state"], "approved");
    assert_eq!(list[0]["total"], 80);
    assert_eq!(list[0]["person_name"], "Lê Thị Hoa (Hòa)");
}

#[tokio::test]
async fn the_same_person_in_two_units_is_flagged_to_both_and_counted_once() {
    let server = start().await;
    let east = server.device("DEMO-X1-C1").await;
    let mountain = server.device("DEMO-X2-C1").await;
    let cccd = "034085001234";
    let (_, a) =
        push_person_with_assessment(&east, 1, "Phạm Văn Nam", Some(cccd), DeviceState::Submitted)
            .await;
    let (_, b) = push_person_with_assessment(
        &mountain,
        1,
        "Pham Van Nam",
        Some(cccd),
        DeviceState::Submitted,
    )
    .await;
    for (officer, unit, mine, other) in [
        ("kiemtra-x1", "DEMO-X1", a, b),
        ("kiemtra-x2", "DEMO-X2", b, a),
    ] {
        let reviewer = server.officer(officer).await;
        let page: Value = reviewer
            .get_json(&format!("/api/v1/units/{unit}/duplicates"))
            .await
            .unwrap();
        let groups = page["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{officer}");
        assert_eq!(groups[0]["count"], 2);
        // The unit's own assessment first.
        assert_eq!(groups[0]["assessments"][0]["assessment"], mine.to_string());
        assert_eq!(groups[0]["assessments"][1]["assessment"], other.to_string());
        assert!(page["next"].is_null());
        reviewer
            .post_json::<_, Value>(&format!("/api/v1/assessments/{mine}/approve"), &json!({}))
            .await
            .unwrap();
    }
    // Both are kept (never merged): each unit still lists its own.
    let stats = server.stats().await;
    assert_eq!((stats.persons, stats.assessments), (2, 2));
    // The CCCD itself is nowhere in the database.
    let db = std::fs::read(server.state.config.data_dir.join("cdht.sqlite3")).unwrap();
    let wal =
        std::fs::read(server.state.config.data_dir.join("cdht.sqlite3-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!bytes.windows(cccd.len()).any(|w| w == cccd.as_bytes()));
    }
    // Counted once: the second recognition of the same person is refused.
    let rec = |unit: &str, aid: AssessmentId| json!({"decision_no": format!("{unit}/QĐ"), "decision_date": "2025-12-01", "assessments": [aid]});
    server
        .officer("congnhan-x2")
        .await
        .post_json::<_, Value>("/api/v1/units/DEMO-X2/recognitions", &rec("X2", b))
        .await
        .unwrap();
    let err = server
        .officer("congnhan-x1")
        .await
        .post_json::<_, Value>("/api/v1/units/DEMO-X1/recognitions", &rec("X1", a))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("already_recognised_elsewhere"), "{err}");
}

#[tokio::test]
async fn officers_and_devices_stay_inside_their_units() {
    let server = start().await;
    let device_b = server.device("DEMO-X2-C1").await;
    let (pid, body) = person("Lò Văn Sáng", None);
    let b_assessment = AssessmentId::new_v7();
    device_b
        .push(&batch(
            1,
            vec![
                v1(body),
                v1(assessment(
                    b_assessment,
                    pid,
                    DeviceState::Submitted,
                    PASSING,
                )),
            ],
        ))
        .await
        .unwrap();

    let officer_a = server.officer("kiemtra-x1").await;
    // Read B: 403 out of scope.
    for path in [
        "/api/v1/units/DEMO-X2/assessments",
        "/api/v1/units/DEMO-X2-C1/assessments",
        "/api/v1/units/DEMO-X2/duplicates",
        "/api/v1/units/DEMO-X2/audit",
        "/api/v1/units/DEMO-X2",
    ] {
        let err = officer_a.get_json::<Value>(path).await.unwrap_err();
        assert!(matches!(err, SyncError::Forbidden { .. }), "{path}: {err}");
        assert_eq!(err.code(), Some("out_of_scope"));
    }
    // Write B: 403 too, and nothing changed.
    let err = officer_a
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{b_assessment}/approve"),
            &json!({}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("out_of_scope"), "{err}");
    let err = officer_a
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X2/recognitions",
            &json!({"decision_no": "1", "decision_date": "2025-12-01", "assessments": [b_assessment]}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Forbidden { .. }), "{err}");
    // A's own subtree works; a viewer of the province reads both.
    officer_a
        .get_json::<Value>("/api/v1/units/DEMO-X1-C2/assessments")
        .await
        .unwrap();
    let all: Vec<Value> = server
        .officer("xem-tinh")
        .await
        .get_json("/api/v1/units/DEMO-T/assessments")
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["state"], "submitted");
    // The viewer may not approve (wrong role).
    let err = server
        .officer("xem-tinh")
        .await
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{b_assessment}/approve"),
            &json!({}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden_role"), "{err}");

    // A device of unit A cannot touch B's record, and pulls only A's changes.
    let device_a = server.device("DEMO-X1-C1").await;
    let acks = device_a
        .push(&batch(
            1,
            vec![envelope(
                assessment(b_assessment, pid, DeviceState::Draft, PASSING),
                5,
            )],
        ))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].code.as_deref(), Some("out_of_scope"));
    server
        .officer("kiemtra-x2")
        .await
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{b_assessment}/approve"),
            &json!({}),
        )
        .await
        .unwrap();
    assert!(device_a.pull_all(0).await.unwrap().0.is_empty());
    assert_eq!(device_b.pull_all(0).await.unwrap().0.len(), 1);
    // A device token is not an officer's.
    let err = device_a
        .get_json::<Value>("/api/v1/units/DEMO-X1-C1/assessments")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden_role"), "{err}");
    // 401 is for a missing or unknown token, told apart from 403.
    let stale = cdht_sync_client::SyncClient::new(&server.url, &[])
        .unwrap()
        .with_token("0".repeat(64));
    let err = stale.pull(0).await.unwrap_err();
    assert!(matches!(err, SyncError::Unauthenticated { .. }), "{err}");
    assert!(!err.is_retry_later());
    // A wrong join key is refused, and repeated failures are rate-limited.
    let mut qr = server.qr("DEMO-X1-C1");
    qr.join_key = "WRONGKEY22".into();
    let mut last = None;
    for _ in 0..12 {
        let mut c = cdht_sync_client::SyncClient::new(&server.url, &[])
            .unwrap()
            .with_retry(cdht_sync_client::RetryPolicy {
                max_attempts: 1,
                ..fast_retry()
            });
        last = Some(
            c.enrol(&qr, cdht_core::ids::DeviceId::new_v7(), None)
                .await
                .unwrap_err(),
        );
    }
    assert_eq!(last.unwrap().code(), Some("rate_limited"));
}
