#![allow(clippy::unwrap_used)]
//! Who gets a photo's bytes (issue 9, items 3 and 10): a photo is served
//! only through evidence records the caller may read whose device uploaded
//! every byte of it; naming somebody else's photo hash gives nothing, not
//! even the knowledge that the server holds it; and no device's
//! announcement of a hash can block another device's upload of it.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{DeviceState, EvidenceStatus, RecordBody};
use cdht_sync_client::{envelope, sha256_hex, SyncClient};
use serde_json::Value;
use support::*;

/// `GET /api/v1/evidence/{sha}` with the client's token: (status, body).
async fn download(server: &TestServer, client: &SyncClient, sha: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/evidence/{sha}", server.url))
        .bearer_auth(client.token().unwrap())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

async fn status(client: &SyncClient, sha: &str) -> EvidenceStatus {
    client.evidence_status(&[sha.to_owned()]).await.unwrap()[0].clone()
}

/// An evidence record of `aid` naming `photo`'s hash, announcing `size`.
fn naming(aid: AssessmentId, photo: &[u8], size: u64) -> RecordBody {
    let mut body = evidence(aid, photo);
    if let RecordBody::Evidence(e) = &mut body {
        e.size = size;
    }
    body
}

fn not_found(answer: &(u16, Vec<u8>)) -> bool {
    let body: Value = serde_json::from_slice(&answer.1).unwrap_or(Value::Null);
    answer.0 == 404 && body["code"] == "not_found"
}

#[tokio::test]
async fn a_photo_is_served_only_through_records_whose_device_uploaded_it() {
    let server = start().await;
    // Commune X2's phone takes and uploads a photo.
    let victim = server.device("DEMO-X2-C1").await;
    let bytes = photo(31, 6000);
    let sha = sha256_hex(&bytes);
    announce_photos(&victim, 1, "Vàng Thị Dua", std::slice::from_ref(&bytes)).await;
    victim.upload_evidence(&bytes).await.unwrap();
    assert_eq!(download(&server, &victim, &sha).await.1, bytes);

    // A poster phone of X1 learns the hash. Asking about it tells nothing:
    // the same answer as for a hash nobody has.
    let attacker = server.device("DEMO-X1-C1").await;
    let nobodys = "c".repeat(64);
    let unknown = |sha: &str| EvidenceStatus {
        sha256: sha.to_owned(),
        size: 0,
        received: 0,
        complete: false,
    };
    assert_eq!(status(&attacker, &sha).await, unknown(&sha));
    assert_eq!(status(&attacker, &nobodys).await, unknown(&nobodys));
    assert!(not_found(&download(&server, &attacker, &sha).await));

    // It announces the hash in an evidence record of a made-up assessment,
    // and the hash of a photo nobody has, with the same size.
    let fresh = photo(36, 6000);
    let fresh_sha = sha256_hex(&fresh);
    let (pid, person_body) = person("Người bịa", None);
    let aid = AssessmentId::new_v7();
    push_accepted(
        &attacker,
        1,
        vec![
            v1(person_body),
            v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
            v1(naming(aid, &bytes, 6000)),
            v1(naming(aid, &fresh, 6000)),
        ],
    )
    .await;
    // Its status is its own upload, not begun, exactly as for the photo the
    // server has never seen.
    let begun = |sha: &str| EvidenceStatus {
        sha256: sha.to_owned(),
        size: 6000,
        received: 0,
        complete: false,
    };
    assert_eq!(status(&attacker, &sha).await, begun(&sha));
    assert_eq!(status(&attacker, &fresh_sha).await, begun(&fresh_sha));
    // No download for it, nor for its unit's officers or collector tablet.
    assert!(not_found(&download(&server, &attacker, &sha).await));
    let officer = server.officer("kiemtra-x1").await;
    assert!(not_found(&download(&server, &officer, &sha).await));
    assert!(!status(&officer, &sha).await.complete);
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    assert!(not_found(&download(&server, &tablet, &sha).await));
    assert_eq!(status(&tablet, &sha).await, unknown(&sha));
    // The photo's own unit still gets it.
    let x2 = server.officer("kiemtra-x2").await;
    assert_eq!(download(&server, &x2, &sha).await.1, bytes);

    // Once the phone really sends those bytes (every one of them: the
    // server holds them already but counts this device's own), its record
    // serves them like any other.
    let accepted_before = server.stats().await.evidence_bytes_accepted;
    let report = attacker.upload_evidence(&bytes).await.unwrap();
    assert_eq!(report.bytes_sent, bytes.len() as u64);
    assert_eq!(
        server.stats().await.evidence_bytes_accepted,
        accepted_before + bytes.len() as u64
    );
    assert_eq!(server.stats().await.blobs_complete, 1);
    assert_eq!(download(&server, &attacker, &sha).await.1, bytes);
    assert_eq!(download(&server, &officer, &sha).await.1, bytes);
}

#[tokio::test]
async fn wrong_bytes_for_a_held_photo_are_refused_and_give_no_access() {
    let server = start().await;
    let victim = server.device("DEMO-X2-C1").await;
    let bytes = photo(32, 5000);
    let sha = sha256_hex(&bytes);
    announce_photos(&victim, 1, "Vàng Thị Dua", std::slice::from_ref(&bytes)).await;
    victim.upload_evidence(&bytes).await.unwrap();

    // A device that names the photo and sends other bytes of its size is
    // refused: the server checks this device's bytes, not the stored photo.
    let attacker = server.device("DEMO-X1-C1").await;
    let (pid, person_body) = person("Người bịa", None);
    let aid = AssessmentId::new_v7();
    push_accepted(
        &attacker,
        1,
        vec![
            v1(person_body),
            v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
            v1(naming(aid, &bytes, 5000)),
        ],
    )
    .await;
    let err = attacker
        .put_evidence_chunk(&sha, 0, &photo(33, 5000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("hash_mismatch"), "{err}");
    assert!(not_found(&download(&server, &attacker, &sha).await));
    assert_eq!(status(&attacker, &sha).await.received, 0);
    assert_eq!(download(&server, &victim, &sha).await.1, bytes);
}

#[tokio::test]
async fn a_wrong_size_announced_first_does_not_block_the_real_upload() {
    let server = start().await;
    let bytes = photo(34, 9000);
    let sha = sha256_hex(&bytes);
    // Another commune's phone announces the hash first, with a size of 10.
    let squatter = server.device("DEMO-X2-C1").await;
    let (pid, person_body) = person("Người bịa", None);
    let aid = AssessmentId::new_v7();
    push_accepted(
        &squatter,
        1,
        vec![
            v1(person_body),
            v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
            v1(naming(aid, &bytes, 10)),
        ],
    )
    .await;
    // The phone that took the photo announces and uploads it as usual.
    let owner = server.device("DEMO-X1-C1").await;
    announce_photos(&owner, 1, "Lý Thị Sua", std::slice::from_ref(&bytes)).await;
    let sent = owner.upload_evidence(&bytes).await.unwrap();
    assert_eq!(sent.bytes_sent, bytes.len() as u64);
    assert!(status(&owner, &sha).await.complete);
    assert_eq!(download(&server, &owner, &sha).await.1, bytes);
    let officer = server.officer("kiemtra-x1").await;
    assert_eq!(download(&server, &officer, &sha).await.1, bytes);
    // The squatter's own upload stays as it announced it, and gives nothing.
    assert_eq!(status(&squatter, &sha).await.size, 10);
    let err = squatter
        .put_evidence_chunk(&sha, 0, &bytes[..10])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("hash_mismatch"), "{err}");
    assert!(not_found(&download(&server, &squatter, &sha).await));
}

#[tokio::test]
async fn a_collector_editing_a_pulled_record_keeps_its_photo_served() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let bytes = photo(35, 4000);
    let sha = sha256_hex(&bytes);
    let (pid, person_body) = person("Lò Thị Mai", None);
    let aid = AssessmentId::new_v7();
    let record = evidence(aid, &bytes);
    push_accepted(
        &phone,
        1,
        vec![
            v1(person_body),
            v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
            v1(record.clone()),
        ],
    )
    .await;
    phone.upload_evidence(&bytes).await.unwrap();
    // A collector tablet corrects the record's indicator: same photo.
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    let mut edited = record;
    if let RecordBody::Evidence(e) = &mut edited {
        e.indicator = cdht_core::ids::IndicatorId::new("1.2");
    }
    push_accepted(&tablet, 1, vec![envelope(edited, 2)]).await;
    // The photo is still served through it, and the tablet has nothing to send.
    assert!(status(&tablet, &sha).await.complete);
    assert_eq!(tablet.upload_evidence(&bytes).await.unwrap().bytes_sent, 0);
    for client in [&phone, &tablet, &server.officer("kiemtra-x1").await] {
        assert_eq!(download(&server, client, &sha).await.1, bytes);
    }
}
