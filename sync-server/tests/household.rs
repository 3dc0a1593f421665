#![allow(clippy::unwrap_used)]
//! A person's household label end to end: pushed by clients that name the
//! `household` feature, pulled by clients that ask for it, left out for
//! older clients (which refuse unknown fields) and kept when they edit the
//! person; the report counts households by it. The real server on
//! 127.0.0.1 against the real sync client and raw HTTP for older clients.

mod support;

use cdht_core::sync::{
    AckOutcome, Change, PersonRecord, PushBatch, RecordBody, RecordEnvelope, FEATURE_HOUSEHOLD,
};
use cdht_sync_client::{envelope, sha256_hex, SyncClient};
use serde::Deserialize;
use serde_json::{json, Value};
use support::*;

const LABEL: &str = "Hộ ông Lê Văn Tám, xóm 3";

/// A person as the first phones parse it: any other field fails their pull.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // parsed to prove it parses
struct OldPerson {
    kind: String,
    id: uuid::Uuid,
    full_name: String,
    #[serde(default)]
    birth_year: Option<u16>,
    #[serde(default)]
    cccd: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    keep_cccd: bool,
}

/// A batch of a client that knows the label.
fn labelled_batch(seq: u64, records: Vec<RecordEnvelope>) -> PushBatch {
    PushBatch {
        features: vec![FEATURE_HOUSEHOLD.to_owned()],
        ..batch(seq, records)
    }
}

/// A person body with a label (or none).
fn person_with(name: &str, address: &str, household: Option<&str>) -> RecordBody {
    let (_, body) = person(name, None);
    let RecordBody::Person(p) = body else {
        panic!("{body:?}")
    };
    RecordBody::Person(PersonRecord {
        address: Some(address.to_owned()),
        household: household.map(str::to_owned),
        ..p
    })
}

fn person_of(body: &RecordBody) -> PersonRecord {
    match body {
        RecordBody::Person(p) => p.clone(),
        other => panic!("{other:?}"),
    }
}

/// An old phone's raw push: JSON without `features`.
async fn raw_push(server: &TestServer, token: &str, batch: &Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/push", server.url))
        .bearer_auth(token)
        .json(batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// A raw pull (`query` after `since=0`), each pulled person body with its
/// envelope.
async fn raw_pull(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/pull?since=0{query}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "record" && c["record"]["body"]["kind"] == "person")
        .map(|c| c["record"].clone())
        .collect()
}

#[tokio::test]
async fn old_clients_never_see_the_label_and_their_edits_keep_it() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    let token = phone.token().unwrap().to_owned();

    // The old phone pushes a person: no label, no features.
    let (pid, body) = person("Lò Thị Mai", None);
    let v1 = v1(body);
    let acks = raw_push(
        &server,
        &token,
        &json!({"batch_id": uuid::Uuid::now_v7(), "seq": 1, "records": [v1]}),
    )
    .await;
    assert_eq!(acks["acks"][0]["outcome"], "accepted", "{acks}");

    // The tablet (a new client) pulls it, adds the label: version 2.
    let (changes, _) = tablet.pull_all(0).await.unwrap();
    let Change::Record { record, .. } = &changes[0].change else {
        panic!("{changes:?}")
    };
    let mut p2 = person_of(&record.body);
    assert_eq!(p2.household, None);
    p2.household = Some(LABEL.to_owned());
    let acks = tablet
        .push(&labelled_batch(
            1,
            vec![envelope(RecordBody::Person(p2.clone()), 2)],
        ))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Accepted, "{acks:?}");

    // The old phone pulls version 2 without the label, every person parses
    // with its strict struct, and the hash is of the body as sent.
    let pulled = raw_pull(&server, &token, "").await;
    assert_eq!(pulled.len(), 1);
    let old: OldPerson = serde_json::from_value(pulled[0]["body"].clone()).unwrap();
    assert_eq!(old.full_name, "Lò Thị Mai");
    let body: RecordBody = serde_json::from_value(pulled[0]["body"].clone()).unwrap();
    assert_eq!(pulled[0]["hash"], sha256_hex(&body.canonical_json()));
    assert_eq!(pulled[0]["version"], 2);
    // Re-sending the version it pulled changes nothing.
    let acks = raw_push(
        &server,
        &token,
        &json!({"batch_id": uuid::Uuid::now_v7(), "seq": 2, "records": [pulled[0]]}),
    )
    .await;
    assert_eq!(acks["acks"][0]["outcome"], "already_had", "{acks}");

    // Asking for the feature, the same phone would get the label, hashed as sent.
    let with = raw_pull(&server, &token, "&features=household").await;
    assert_eq!(with[0]["body"]["household"], LABEL);
    let body: RecordBody = serde_json::from_value(with[0]["body"].clone()).unwrap();
    assert_eq!(with[0]["hash"], sha256_hex(&body.canonical_json()));

    // The old phone edits the name (version 3, no label, no features): the
    // server keeps the label, and the tablet pulls both.
    let mut edited = pulled[0]["body"].clone();
    edited["full_name"] = json!("Lò Thị Mai (Mây)");
    let edited_body: RecordBody = serde_json::from_value(edited.clone()).unwrap();
    let acks = raw_push(
        &server,
        &token,
        &json!({"batch_id": uuid::Uuid::now_v7(), "seq": 3,
                "records": [envelope(edited_body, 3)]}),
    )
    .await;
    assert_eq!(acks["acks"][0]["outcome"], "accepted", "{acks}");
    let other = server.device("DEMO-X1-C1").await;
    server.bind(&other, "nhaplieu-x1-c1").await;
    let (changes, _) = other.pull_all(0).await.unwrap();
    let Change::Record { record, .. } = &changes[0].change else {
        panic!("{changes:?}")
    };
    assert_eq!(record.version, 3);
    assert_eq!(record.body.id(), *pid.as_uuid());
    let p3 = person_of(&record.body);
    assert_eq!(p3.full_name, "Lò Thị Mai (Mây)");
    assert_eq!(p3.household.as_deref(), Some(LABEL), "kept");
    assert_eq!(record.hash, sha256_hex(&record.body.canonical_json()));
    // A new client re-sending the version it pulled, label and all, changes nothing.
    let acks = other
        .push(&labelled_batch(1, vec![record.clone()]))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::AlreadyHad, "{acks:?}");

    // A new client erases it by leaving it out of a batch naming the feature.
    let p4 = PersonRecord {
        household: None,
        ..p3
    };
    let acks = other
        .push(&labelled_batch(
            2,
            vec![envelope(RecordBody::Person(p4), 4)],
        ))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Accepted, "{acks:?}");
    let with = raw_pull(&server, &token, "&features=household").await;
    let last = with.iter().find(|r| r["version"] == 4).unwrap();
    assert!(last["body"].get("household").is_none(), "{last}");
}

#[tokio::test]
async fn a_batch_resent_with_features_is_the_same_batch() {
    // A batch an older build froze and sent, its answer lost; the upgraded
    // app resends it naming the feature: a replay, not `batch_conflict`.
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let (_, body) = person("Lò Văn Năm", None);
    let old = batch(1, vec![v1(body)]);
    let first = phone.push(&old).await.unwrap();
    assert_eq!(first.acks[0].outcome, AckOutcome::Accepted);
    let again = phone
        .push(&PushBatch {
            features: vec![FEATURE_HOUSEHOLD.to_owned()],
            ..old
        })
        .await
        .unwrap();
    assert_eq!(again, first, "the original answer");
}

#[tokio::test]
async fn labels_are_checked_like_other_text() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let bidi = person_with("Lò Văn A", "Xóm 3", Some("Hộ\u{202e}ông Tám"));
    let long = person_with("Lò Văn B", "Xóm 3", Some(&"Hộ ông Tám ".repeat(20)));
    let acks = phone
        .push(&labelled_batch(1, vec![v1(bidi), v1(long)]))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Rejected);
    assert_eq!(acks[0].code.as_deref(), Some("invalid_text"));
    assert_eq!(acks[1].outcome, AckOutcome::Rejected);
    assert_eq!(acks[1].code.as_deref(), Some("invalid_household"));
}

async fn households(officer: &SyncClient) -> Value {
    let report: Value = officer
        .get_json("/api/v1/units/DEMO-X1-C1/report?year=2025")
        .await
        .unwrap();
    report["households"]["households"].clone()
}

#[tokio::test]
async fn the_report_counts_households_by_label_else_by_address() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let officer = server.officer("kiemtra-x1").await;
    // Two members of one household living at two addresses, one person at
    // the second address without a label, one more without a label at the
    // first: by address two households, by label three.
    let records = vec![
        v1(person_with("Lê Văn Tám", "Xóm 3", Some(LABEL))),
        v1(person_with("Lê Thị Hai", "Thôn Đông", Some(LABEL))),
        v1(person_with("Đỗ Văn Ba", "Thôn Đông", None)),
        v1(person_with("Hà Thị Bốn", "Xóm 3", None)),
    ];
    let acks = phone.push(&labelled_batch(1, records)).await.unwrap().acks;
    assert!(acks.iter().all(|a| a.outcome == AckOutcome::Accepted));
    assert_eq!(households(&officer).await, 3);
    let db = rusqlite::Connection::open(server.state.config.data_dir.join("cdht.sqlite3")).unwrap();
    let direct: i64 = db
        .query_row(
            "SELECT COUNT(DISTINCT unit || '|' || COALESCE(household, address)) FROM persons",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(direct, 3);
}
