#![allow(clippy::unwrap_used)]
//! Deletes (docs/sync-protocol.md, "Deletes"): a person or an assessment
//! entered by mistake, deleted by a tombstone before review, leaves the
//! officers' lists, queue, report and duplicate groups, and reaches every
//! device holding it; after review the delete is refused. The real server
//! on 127.0.0.1 against the real sync client.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{
    AckOutcome, Change, Deletable, DeviceState, PushBatch, RecordAck, RecordBody, RecordEnvelope,
    ServerChange, Tombstone, FEATURE_DELETE,
};
use cdht_sync_client::{envelope, sha256_hex, SyncClient};
use serde_json::{json, Value};
use support::*;

fn tombstone(id: uuid::Uuid, record: Deletable, version: u32) -> RecordEnvelope {
    envelope(RecordBody::Tombstone(Tombstone { id, record }), version)
}

fn deleting(seq: u64, records: Vec<RecordEnvelope>) -> PushBatch {
    let mut b = batch(seq, records);
    b.features = vec![FEATURE_DELETE.to_owned()];
    b
}

fn tombstones(changes: &[ServerChange]) -> Vec<(uuid::Uuid, u32)> {
    changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Record { record, .. } if record.body.is_tombstone() => {
                Some((record.body.id(), record.version))
            }
            _ => None,
        })
        .collect()
}

fn one_ack(acks: &[RecordAck]) -> &RecordAck {
    assert_eq!(acks.len(), 1, "{acks:?}");
    &acks[0]
}

async fn listed(officer: &SyncClient, aid: AssessmentId) -> bool {
    let list: Vec<Value> = officer
        .get_json("/api/v1/units/DEMO-X1/assessments")
        .await
        .unwrap();
    list.iter().any(|a| a["id"] == aid.to_string())
}

async fn queued(officer: &SyncClient, aid: AssessmentId) -> bool {
    let page: Value = officer
        .get_json("/api/v1/units/DEMO-X1/review-queue?year=2025&limit=200")
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == aid.to_string() || a["assessment"] == aid.to_string())
}

async fn registered(officer: &SyncClient) -> i64 {
    let report: Value = officer
        .get_json("/api/v1/units/DEMO-X1/report?year=2025")
        .await
        .unwrap();
    report["registered"].as_i64().unwrap()
}

async fn duplicate_groups(officer: &SyncClient) -> usize {
    let page: Value = officer
        .get_json("/api/v1/units/DEMO-X1/duplicates")
        .await
        .unwrap();
    page["groups"].as_array().unwrap().len()
}

async fn photo_status(server: &TestServer, client: &SyncClient, sha: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api/v1/evidence/{sha}", server.url))
        .bearer_auth(client.token().unwrap())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_record_deleted_before_review_leaves_every_list_and_every_device() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    let old_phone = server.device("DEMO-X1-C1").await;
    server.bind(&old_phone, "nhaplieu-x1-c1").await;
    let reviewer = server.officer("kiemtra-x1").await;
    let cccd = "034085001234";
    // The same person entered twice by mistake (a duplicate group), with a
    // photo; and somebody else, who stays.
    let bytes = photo(41, 4000);
    let sha = sha256_hex(&bytes);
    let (pid, person_body) = person("Hà Thị Nhầm", Some(cccd));
    let aid = AssessmentId::new_v7();
    push_accepted(
        &phone,
        1,
        vec![
            v1(person_body),
            v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
            v1(evidence(aid, &bytes)),
        ],
    )
    .await;
    phone.upload_evidence(&bytes).await.unwrap();
    let (_, kept) =
        push_person_with_assessment(&phone, 2, "Hà Thị Đúng", Some(cccd), DeviceState::Submitted)
            .await;
    assert!(listed(&reviewer, aid).await && queued(&reviewer, aid).await);
    assert_eq!(registered(&reviewer).await, 2);
    assert_eq!(duplicate_groups(&reviewer).await, 1);
    assert_eq!(photo_status(&server, &reviewer, &sha).await, 200);
    // The collector tablet pulled both people.
    let (before, tablet_cursor) = tablet.pull_all(0).await.unwrap();
    assert!(before.iter().any(|c| matches!(&c.change,
        Change::Record { record, .. } if record.body.id() == *aid.as_uuid())));

    // A person with an assessment left cannot be deleted.
    let refused = phone
        .push(&deleting(
            3,
            vec![tombstone(*pid.as_uuid(), Deletable::Person, 2)],
        ))
        .await
        .unwrap();
    let ack = one_ack(&refused.acks);
    assert_eq!(ack.outcome, AckOutcome::Rejected);
    assert_eq!(ack.code.as_deref(), Some("person_has_assessments"));
    assert!(!ack.message.as_deref().unwrap().is_empty());

    // The assessment, then the person: both accepted in one batch.
    let delete = deleting(
        4,
        vec![
            tombstone(*aid.as_uuid(), Deletable::Assessment, 2),
            tombstone(*pid.as_uuid(), Deletable::Person, 2),
        ],
    );
    let answer = phone.push(&delete).await.unwrap();
    for ack in &answer.acks {
        assert_eq!(ack.outcome, AckOutcome::Accepted, "{ack:?}");
    }
    assert_eq!(answer.acks[0].kind, cdht_core::sync::RecordKind::Assessment);
    assert_eq!(answer.acks[1].kind, cdht_core::sync::RecordKind::Person);
    // A replay of the delete answers the same, byte for byte.
    assert_eq!(phone.push(&delete).await.unwrap(), answer);
    // The same tombstone in a new batch (its answer was lost, then the
    // batch abandoned) is already had.
    let again = phone
        .push(&deleting(
            5,
            vec![tombstone(*aid.as_uuid(), Deletable::Assessment, 2)],
        ))
        .await
        .unwrap();
    assert_eq!(one_ack(&again.acks).outcome, AckOutcome::AlreadyHad);
    // Another device deleting it too, whatever version it holds: deleted.
    let also = tablet
        .push(&deleting(
            1,
            vec![tombstone(*aid.as_uuid(), Deletable::Assessment, 3)],
        ))
        .await
        .unwrap();
    assert_eq!(one_ack(&also.acks).outcome, AckOutcome::AlreadyHad);

    // Gone from the list, the queue, the report, the duplicate groups; its
    // photo is no longer served; the other person stays.
    assert!(!listed(&reviewer, aid).await);
    assert!(!queued(&reviewer, aid).await);
    assert!(listed(&reviewer, kept).await && queued(&reviewer, kept).await);
    assert_eq!(registered(&reviewer).await, 1);
    assert_eq!(duplicate_groups(&reviewer).await, 0);
    assert_eq!(photo_status(&server, &reviewer, &sha).await, 404);
    assert_eq!(photo_status(&server, &tablet, &sha).await, 404);
    let approve = reviewer
        .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/approve"), &json!({}))
        .await;
    assert!(approve.is_err());

    // The tablet that pulled it gets both tombstones, assessment first.
    let (after, _) = tablet.pull_all(tablet_cursor).await.unwrap();
    assert_eq!(
        tombstones(&after),
        vec![(*aid.as_uuid(), 2), (*pid.as_uuid(), 2)]
    );
    // A client that does not name `delete` never sees a tombstone.
    let raw: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/pull?since=0&features=household",
            server.url
        ))
        .bearer_auth(old_phone.token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = raw.to_string();
    assert!(!text.contains("tombstone"), "{text}");
    assert!(text.contains(&kept.to_string()));
    // The phone that deleted gets nothing back.
    assert!(tombstones(&phone.pull_all(0).await.unwrap().0).is_empty());

    // Nothing new may be written on a deleted record, nor hang on it.
    let late = phone
        .push(&batch(
            6,
            vec![
                envelope(assessment(aid, pid, DeviceState::Submitted, [9; 10]), 3),
                v1(assessment(
                    AssessmentId::new_v7(),
                    pid,
                    DeviceState::Draft,
                    [8; 10],
                )),
                envelope(assessment(aid, pid, DeviceState::Submitted, [9; 10]), 1),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(late.acks[0].code.as_deref(), Some("record_deleted"));
    assert_eq!(late.acks[1].code.as_deref(), Some("record_deleted"));
    assert_eq!(late.acks[2].outcome, AckOutcome::Superseded);
    assert!(!listed(&reviewer, aid).await);
}

#[tokio::test]
async fn after_review_a_delete_is_refused_and_the_record_is_unchanged() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let reviewer = server.officer("kiemtra-x1").await;
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    for verdict in ["approve", "return"] {
        let (pid, aid) = push_person_with_assessment(
            &phone,
            next(),
            &format!("Đã {verdict}"),
            None,
            DeviceState::Submitted,
        )
        .await;
        let body = if verdict == "return" {
            json!({"reason": "Thiếu ảnh"})
        } else {
            json!({})
        };
        reviewer
            .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/{verdict}"), &body)
            .await
            .unwrap();
        let answer = phone
            .push(&deleting(
                next(),
                vec![
                    tombstone(*aid.as_uuid(), Deletable::Assessment, 2),
                    tombstone(*pid.as_uuid(), Deletable::Person, 2),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(answer.acks[0].outcome, AckOutcome::Rejected);
        assert_eq!(answer.acks[0].code.as_deref(), Some("delete_after_review"));
        assert!(!answer.acks[0].message.as_deref().unwrap().is_empty());
        assert_eq!(
            answer.acks[1].code.as_deref(),
            Some("person_has_assessments")
        );
        let list: Vec<Value> = reviewer
            .get_json("/api/v1/units/DEMO-X1/assessments")
            .await
            .unwrap();
        let row = list.iter().find(|a| a["id"] == aid.to_string()).unwrap();
        assert_eq!(row["version"], 1);
        let state = if verdict == "return" {
            "returned"
        } else {
            "approved"
        };
        assert_eq!(row["state"], state);
    }
    // A device outside the record's scope may not delete it either.
    let (_, aid) =
        push_person_with_assessment(&phone, next(), "Người khác", None, DeviceState::Draft).await;
    let stranger = server.device("DEMO-X1-C1").await;
    let answer = stranger
        .push(&deleting(
            1,
            vec![tombstone(*aid.as_uuid(), Deletable::Assessment, 2)],
        ))
        .await
        .unwrap();
    assert_eq!(one_ack(&answer.acks).code.as_deref(), Some("out_of_scope"));
    assert!(listed(&reviewer, aid).await);
}
