#![allow(clippy::unwrap_used)]
//! The protocol document is enough to write a client: its test vectors
//! (body → canonical bytes → sha256) hold, the real server accepts records
//! hashed that way, and a client written in Python from the document alone
//! pushes and uploads. Also the document's smaller promises: the place in an
//! `invalid_body`, `received` in an `offset_mismatch`, `413` for a batch of
//! over 200 records, and an officer's view of uploads.

mod support;

use cdht_core::sync::{AckOutcome, PushResponse, PROTOCOL_JCS};
use cdht_sync_client::sha256_hex;
use serde_json::{json, Value};
use support::*;

/// (body as sent, canonical text, sha256) of each "#### Vector" in the doc.
fn vectors() -> Vec<(String, String, String)> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/sync-protocol.md"
    ))
    .unwrap();
    let mut out = Vec::new();
    for section in doc.split("#### Vector").skip(1) {
        let block = |tag: &str| {
            let start = section.find(&format!("```{tag}\n")).unwrap() + tag.len() + 4;
            let end = start + section[start..].find("\n```").unwrap();
            section[start..end].to_owned()
        };
        let sha_line = section
            .lines()
            .find_map(|l| l.strip_prefix("sha256: `"))
            .unwrap();
        out.push((
            block("json"),
            block("text"),
            sha_line.trim_end_matches('`').to_owned(),
        ));
    }
    out
}

#[test]
fn the_documents_vectors_hold() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 4);
    for (sent, canonical, sha) in &vectors {
        let value: Value = serde_json::from_str(sent).unwrap();
        let bytes = cdht_core::jcs::canonical(&value);
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), canonical);
        assert_eq!(&sha256_hex(&bytes), sha);
        // Vietnamese stays raw UTF-8, never \u escapes.
        assert!(!canonical.contains("\\u"), "{canonical}");
    }
}

async fn post(server: &TestServer, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_real_server_accepts_the_vectors_as_sent_and_replays_them() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let token = device.token().unwrap().to_owned();
    let records: Vec<Value> = vectors()
        .iter()
        .map(|(sent, _, sha)| json!({"version": 1, "hash": sha, "body": serde_json::from_str::<Value>(sent).unwrap()}))
        .collect();
    let batch = json!({"batch_id": uuid::Uuid::now_v7(), "seq": 1, "protocol": PROTOCOL_JCS, "records": records});
    let (status, answer) = post(&server, &token, "/api/v1/push", &batch).await;
    assert_eq!(status, 200, "{answer}");
    let acks: PushResponse = serde_json::from_value(answer.clone()).unwrap();
    assert!(
        acks.acks.iter().all(|a| a.outcome == AckOutcome::Accepted),
        "{answer}"
    );
    // A replay gets the same answer.
    let (status, again) = post(&server, &token, "/api/v1/push", &batch).await;
    assert_eq!((status, &again), (200, &answer));

    // The same version pushed again by a version-1 device (the serde form's
    // hash) is the same record: already_had, not a conflict.
    let person: cdht_core::sync::RecordBody = serde_json::from_str(&vectors()[0].0).unwrap();
    let v1 = cdht_sync_client::envelope(person, 1);
    let acks = device.push(&batch_of(2, vec![v1])).await.unwrap().acks;
    assert_eq!(acks[0].outcome, AckOutcome::AlreadyHad, "{acks:?}");

    // A protocol-2 hash of another form (the body re-ordered is fine, a
    // changed byte is not) is a damaged record.
    let mut damaged = records_of(&vectors()[3].0, &vectors()[3].2);
    damaged["body"]["full_name"] = json!("Lò Thị Anh");
    damaged["body"]["id"] = json!(uuid::Uuid::now_v7());
    let batch =
        json!({"batch_id": uuid::Uuid::now_v7(), "seq": 3, "protocol": 2, "records": [damaged]});
    let (_, answer) = post(&server, &token, "/api/v1/push", &batch).await;
    assert_eq!(answer["acks"][0]["code"], "hash_mismatch", "{answer}");

    // An unknown protocol is refused as a whole.
    let batch = json!({"batch_id": uuid::Uuid::now_v7(), "seq": 4, "protocol": 9, "records": []});
    let (status, answer) = post(&server, &token, "/api/v1/push", &batch).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("unsupported_protocol"))
    );
}

fn records_of(sent: &str, sha: &str) -> Value {
    json!({"version": 1, "hash": sha, "body": serde_json::from_str::<Value>(sent).unwrap()})
}

fn batch_of(seq: u64, records: Vec<cdht_core::sync::RecordEnvelope>) -> cdht_core::sync::PushBatch {
    batch(seq, records)
}

#[tokio::test]
async fn a_client_written_in_python_from_the_document_alone_syncs() {
    let server = start().await;
    let unit = server
        .demo
        .units
        .iter()
        .find(|u| u.code == "DEMO-X1-C1")
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/third_party_client.py");
    let (url, code, key) = (server.url.clone(), unit.code.clone(), unit.join_key.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script, &url, &code, &key])
            .output()
            .expect("python3 runs the third-party client")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(out["enrol_status"], 200, "{out}");
    assert_eq!(out["push_status"], 200, "{out}");
    assert_eq!(
        out["outcomes"],
        json!(["accepted", "accepted", "accepted"]),
        "{out}"
    );
    assert_eq!(out["score"]["total"], 80, "{out}");
    assert_eq!(out["mismatch"]["status"], 409, "{out}");
    assert_eq!(out["mismatch"]["code"], "offset_mismatch", "{out}");
    assert_eq!(out["mismatch"]["received"], 8192, "{out}");
    assert_eq!(out["uploaded"], true, "{out}");
    // The Vietnamese name arrived as written.
    let officer = server.officer("kiemtra-x1").await;
    let list: Value = officer
        .get_json("/api/v1/units/DEMO-X1/assessments")
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["person_name"].as_str())
        .collect();
    assert!(names.contains(&"Hoàng Thị Nguyệt Ánh"), "{names:?}");
}

#[tokio::test]
async fn errors_say_where_and_how_much() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let token = device.token().unwrap().to_owned();

    // invalid_body names the place, in Vietnamese, without serde's English.
    let bad = json!({"batch_id": uuid::Uuid::now_v7(), "seq": 1, "records": [
        {"version": 1, "hash": "0", "body": {"kind": "person", "id": uuid::Uuid::now_v7(), "full_name": "A", "birth_year": "năm"}}
    ]});
    let (status, answer) = post(&server, &token, "/api/v1/push", &bad).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalid_body"))
    );
    let message = answer["message"].as_str().unwrap();
    // The record's place (a record body's own fields are read after its
    // `kind`, past where the path is tracked).
    assert!(message.contains("`records[0].body`"), "{message}");
    for english in ["invalid type", "expected", "at line"] {
        assert!(!message.contains(english), "{message}");
    }

    // Over 200 records: 413, split the batch.
    let records: Vec<_> = (0..201)
        .map(|i| v1(person(&format!("Người {i}"), None).1))
        .collect();
    let err = device.push(&batch(1, records)).await.unwrap_err();
    assert_eq!(err.code(), Some("batch_too_large"), "{err}");
    assert!(
        matches!(
            err,
            cdht_sync_client::SyncError::Rejected { status: 413, .. }
        ),
        "{err}"
    );

    // offset_mismatch carries where the upload stands, as a number.
    let photo_bytes = photo(9, 20_000);
    announce_photos(&device, 1, "Vừ A Dính", std::slice::from_ref(&photo_bytes)).await;
    let sha = sha256_hex(&photo_bytes);
    device
        .put_evidence_chunk(&sha, 0, &photo_bytes[..5000])
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .put(format!("{}/api/v1/evidence/{sha}?offset=0", server.url))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(photo_bytes[..100].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "offset_mismatch");
    assert_eq!(answer["received"], 5000);

    // An officer over the unit sees how far the upload is; one of another
    // commune sees nothing of it.
    let officer = server.officer("kiemtra-x1").await;
    let query = json!({"sha256": [sha]});
    let mine: Value = officer
        .post_json("/api/v1/evidence/status", &query)
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["received"], 5000, "{mine}");
    assert_eq!(mine["items"][0]["size"], 20_000, "{mine}");
    device.upload_evidence(&photo_bytes).await.unwrap();
    let mine: Value = officer
        .post_json("/api/v1/evidence/status", &query)
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["complete"], true, "{mine}");
    let other = server.officer("kiemtra-x2").await;
    let theirs: Value = other
        .post_json("/api/v1/evidence/status", &query)
        .await
        .unwrap();
    assert_eq!(theirs["items"][0]["size"], 0, "{theirs}");
    assert_eq!(theirs["items"][0]["complete"], false, "{theirs}");
}
