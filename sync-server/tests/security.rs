#![allow(clippy::unwrap_used)]
//! Issue 9's attacks, each against the real server on 127.0.0.1: a phone
//! enrolled from a public poster, officers of other communes, and what the
//! data folder keeps.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{AckOutcome, DeviceState, RecordAck, RecordBody, RecordEnvelope};
use cdht_sync_client::{envelope, SyncClient};
use serde_json::{json, Value};
use support::*;

const PASSING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const FAILING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 4];

async fn push_one(device: &SyncClient, seq: u64, record: RecordEnvelope) -> RecordAck {
    let mut acks = device.push(&batch(seq, vec![record])).await.unwrap().acks;
    assert_eq!(acks.len(), 1);
    acks.remove(0)
}

fn assert_refused(ack: &RecordAck, code: &str) {
    assert_eq!(ack.outcome, AckOutcome::Rejected, "{ack:?}");
    assert_eq!(ack.code.as_deref(), Some(code), "{ack:?}");
    assert!(!ack.message.as_deref().unwrap_or_default().is_empty());
}

fn moved_evidence(body: &RecordBody, to: AssessmentId) -> RecordBody {
    let RecordBody::Evidence(e) = body else {
        panic!("{body:?}")
    };
    let mut e = e.clone();
    e.assessment = to;
    RecordBody::Evidence(e)
}

async fn x2_list(server: &TestServer) -> Vec<Value> {
    server
        .officer("kiemtra-x2")
        .await
        .get_json::<Value>("/api/v1/units/DEMO-X2/assessments")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_push_is_authorised_against_the_stored_record_never_the_pushed_body() {
    let server = start().await;
    // Commune X2's phone: a person, a submitted assessment, its photo record.
    let victim = server.device("DEMO-X2-C1").await;
    let (vpid, vbody) = person("Lò Văn Sáng", None);
    let (vpid2, vbody2) = person("Lò Thị Mai", None);
    let vaid = AssessmentId::new_v7();
    let vaid2 = AssessmentId::new_v7();
    let vev = evidence(vaid, &photo(1, 2000));
    let acks = victim
        .push(&batch(
            1,
            vec![
                v1(vbody),
                v1(vbody2),
                v1(assessment(vaid, vpid, DeviceState::Submitted, PASSING)),
                v1(assessment(vaid2, vpid2, DeviceState::Draft, PASSING)),
                v1(vev.clone()),
            ],
        ))
        .await
        .unwrap()
        .acks;
    assert!(acks.iter().all(|a| a.outcome == AckOutcome::Accepted));

    // Commune X1's phone, enrolled from a public poster, with a person of its own.
    let attacker = server.device("DEMO-X1-C1").await;
    let (mpid, mbody) = person("Kẻ Gian", None);
    let maid = AssessmentId::new_v7();
    let acks = attacker
        .push(&batch(
            1,
            vec![
                v1(mbody),
                v1(assessment(maid, mpid, DeviceState::Draft, PASSING)),
            ],
        ))
        .await
        .unwrap()
        .acks;
    assert!(acks.iter().all(|a| a.outcome == AckOutcome::Accepted));

    // Version 2 of X2's assessment, under the attacker's person: refused.
    let ack = push_one(
        &attacker,
        2,
        envelope(assessment(vaid, mpid, DeviceState::Draft, FAILING), 2),
    )
    .await;
    assert_refused(&ack, "out_of_scope");
    // X2's photo record re-pointed to the attacker's assessment: refused.
    let ack = push_one(&attacker, 3, envelope(moved_evidence(&vev, maid), 2)).await;
    assert_refused(&ack, "out_of_scope");
    let list = x2_list(&server).await;
    let stored = list.iter().find(|a| a["id"] == vaid.to_string()).unwrap();
    assert_eq!(stored["state"], "submitted");
    assert_eq!(stored["person"], vpid.to_string());
    assert_eq!(stored["total"], 80);

    // Even its own phone may not move a record to another person or assessment.
    let ack = push_one(
        &victim,
        2,
        envelope(assessment(vaid, vpid2, DeviceState::Submitted, PASSING), 2),
    )
    .await;
    assert_refused(&ack, "record_reassigned");
    let ack = push_one(&victim, 3, envelope(moved_evidence(&vev, vaid2), 2)).await;
    assert_refused(&ack, "record_reassigned");

    // Once approved, the assessment's photos are frozen like its answers.
    server
        .officer("kiemtra-x2")
        .await
        .post_json::<_, Value>(&format!("/api/v1/assessments/{vaid}/approve"), &json!({}))
        .await
        .unwrap();
    let ack = push_one(&victim, 4, v1(evidence(vaid, &photo(2, 2000)))).await;
    assert_refused(&ack, "locked_after_review");
    let RecordBody::Evidence(mut e) = vev.clone() else {
        unreachable!()
    };
    e.indicator = cdht_core::ids::IndicatorId::new("1.2");
    let ack = push_one(&victim, 5, envelope(RecordBody::Evidence(e), 2)).await;
    assert_refused(&ack, "locked_after_review");
    // The evidence of an editable assessment still takes edits.
    let ack = push_one(&victim, 6, v1(evidence(vaid2, &photo(3, 2000)))).await;
    assert_eq!(ack.outcome, AckOutcome::Accepted, "{ack:?}");
}
