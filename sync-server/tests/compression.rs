#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]
//! Answers go gzip-compressed to clients that ask (Accept-Encoding), which
//! the app's sync client does: a collector's first sync of a unit is JSON,
//! a fifth of its size compressed (issue 14, item 6: at most 100 KB per
//! 1,000 records without photos). Clients that do not ask get plain JSON,
//! and photos are never compressed again.

mod support;

use cdht_core::sync::DeviceState;
use std::io::Read;
use support::*;

const PAIRS: usize = 250;

/// The raw body of GET `path` with `token`, gzip asked for or not, and
/// whether it came compressed.
async fn raw(url: &str, path: &str, token: &str, gzip: bool) -> (Vec<u8>, bool) {
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let mut req = client.get(format!("{url}{path}")).bearer_auth(token);
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let compressed = r
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    (r.bytes().await.unwrap().to_vec(), compressed)
}

#[tokio::test]
async fn a_collectors_first_sync_comes_compressed_to_clients_that_ask() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    for i in 0..PAIRS {
        push_person_with_assessment(
            &phone,
            (i + 1) as u64,
            &format!("Nguyễn Thị Hồng Nhung {i}"),
            None,
            DeviceState::Submitted,
        )
        .await;
    }
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    let token = tablet.token().unwrap().to_owned();

    // Every page of the first sync, both ways.
    let (mut plain_bytes, mut gzip_bytes, mut records) = (0usize, 0usize, 0usize);
    let mut since = 0u64;
    loop {
        let path = format!("/api/v1/pull?since={since}&limit=500");
        let (plain, plain_compressed) = raw(&server.url, &path, &token, false).await;
        let (gzip, compressed) = raw(&server.url, &path, &token, true).await;
        assert!(!plain_compressed, "no gzip for a client that did not ask");
        // Answers from 4 KB are compressed; smaller ones (the last, empty
        // page) keep their length.
        assert_eq!(
            compressed,
            plain.len() >= 4096,
            "gzip for a client that asked"
        );
        let mut unzipped = Vec::new();
        if compressed {
            flate2::read::GzDecoder::new(&gzip[..])
                .read_to_end(&mut unzipped)
                .unwrap();
        } else {
            unzipped.clone_from(&gzip);
        }
        assert_eq!(unzipped, plain, "the same page either way");
        let page: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        let changes = page["changes"].as_array().unwrap();
        records += changes
            .iter()
            .filter(|c| c["change"]["kind"] == "record" || c["kind"] == "record")
            .count();
        plain_bytes += plain.len();
        gzip_bytes += gzip.len();
        let cursor = page["cursor"].as_u64().unwrap();
        if changes.is_empty() || cursor == since {
            break;
        }
        since = cursor;
    }
    assert!(records >= 2 * PAIRS, "the unit's records: {records}");
    let per_thousand = gzip_bytes as f64 / records as f64 * 1000.0 / 1024.0;
    println!(
        "first sync of {records} records: {plain_bytes} B plain, {gzip_bytes} B gzip \
         ({:.2}), {per_thousand:.1} KB per 1,000 records",
        gzip_bytes as f64 / plain_bytes as f64
    );
    assert!(
        per_thousand <= 100.0,
        "{per_thousand:.1} KB per 1,000 records (goal ≤ 100)"
    );

    // The real sync client asks for gzip and reads it.
    let (changes, _) = tablet.pull_all(0).await.unwrap();
    assert!(changes.len() >= 2 * PAIRS);
}

#[tokio::test]
async fn a_photo_is_never_compressed_again() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let jpeg = photo(7, 20_000);
    announce_photos(&phone, 1, "Hờ A Dình", std::slice::from_ref(&jpeg)).await;
    let sha = cdht_server::sha256_hex(&jpeg);
    phone.upload_evidence(&jpeg).await.unwrap();
    let token = phone.token().unwrap().to_owned();
    let (body, compressed) = raw(
        &server.url,
        &format!("/api/v1/evidence/{sha}"),
        &token,
        true,
    )
    .await;
    assert!(!compressed);
    assert_eq!(body, jpeg);
}

#[tokio::test]
async fn a_client_sends_gzip_bodies_once_the_server_says_it_reads_them() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    // Every answer says so (RFC 7694).
    let r = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(r.headers()["accept-encoding"], "gzip");

    let before = phone
        .counters()
        .json_bytes_sent
        .load(std::sync::atomic::Ordering::SeqCst);
    let mut records = Vec::new();
    for i in 0..100 {
        let (pid, person_body) = person(&format!("Nguyễn Thị Hồng Nhung {i}"), None);
        records.push(v1(person_body));
        records.push(v1(assessment(
            cdht_core::ids::AssessmentId::new_v7(),
            pid,
            DeviceState::Submitted,
            [8, 8, 8, 8, 8, 8, 8, 8, 8, 8],
        )));
    }
    let pushed = batch(1, records);
    let plain = serde_json::to_vec(&pushed).unwrap().len() as u64;
    let acks = phone.push(&pushed).await.unwrap().acks;
    assert_eq!(acks.len(), 200);
    assert!(acks
        .iter()
        .all(|a| a.outcome == cdht_core::sync::AckOutcome::Accepted));
    let sent = phone
        .counters()
        .json_bytes_sent
        .load(std::sync::atomic::Ordering::SeqCst)
        - before;
    println!(
        "a push of 200 records: {plain} B of JSON, {sent} B sent ({:.2})",
        sent as f64 / plain as f64
    );
    assert!(sent * 3 < plain, "sent {sent} of {plain}");
    assert_eq!(server.stats().await.assessments, 100);
}

#[tokio::test]
async fn a_small_gzip_bomb_is_refused_by_the_unzipped_size() {
    use std::io::Write;
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    // 8 MB of JSON whitespace, a few KB zipped.
    let mut json = b"{\"seq\":1,\"records\":[".to_vec();
    json.extend(std::iter::repeat_n(b' ', 8 * 1024 * 1024));
    json.extend(b"]}");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&json).unwrap();
    let zipped = encoder.finish().unwrap();
    assert!(zipped.len() < 64 * 1024);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/push", server.url))
        .bearer_auth(phone.token().unwrap())
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(zipped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
}
