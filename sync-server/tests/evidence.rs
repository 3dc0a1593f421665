#![allow(clippy::unwrap_used)]
//! Evidence photos over links that break: the real server, the real client,
//! a fault-injecting TCP proxy between them.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{AckOutcome, DeviceState};
use cdht_sync_client::{sha256_hex, RetryPolicy, SyncClient};
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::*;

const PASSING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];

#[tokio::test]
async fn an_upload_cut_half_way_resumes_without_resending_what_arrived() {
    let server = start().await;
    let photo_bytes = photo(1, 600 * 1024);
    let chunk = 64 * 1024;
    // The link dies after ~half the photo; the app gives up at the first
    // failure (as when it is killed), the link comes back later.
    let proxy = FaultProxy::start(&server.url, 300 * 1024, 0).await;
    let device = server
        .device_via("DEMO-X1-C1", &proxy.url)
        .await
        .with_chunk_size(chunk);
    let (pid, body) = person("Đặng Thị Thu", None);
    let aid = AssessmentId::new_v7();
    let acks = device
        .push(&batch(
            1,
            vec![
                v1(body),
                v1(assessment(aid, pid, DeviceState::Submitted, PASSING)),
                v1(evidence(aid, &photo_bytes)),
            ],
        ))
        .await
        .unwrap()
        .acks;
    assert!(acks.iter().all(|a| a.outcome == AckOutcome::Accepted));
    let token = device.token().unwrap().to_owned();
    let giving_up = SyncClient::new(&proxy.url, &[])
        .unwrap()
        .with_token(token.clone())
        .with_chunk_size(chunk)
        .with_retry(RetryPolicy {
            max_attempts: 1,
            ..fast_retry()
        });
    let err = giving_up.upload_evidence(&photo_bytes).await.unwrap_err();
    assert!(err.is_retry_later(), "{err}");
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 1);

    // What the server kept: every byte that arrived before the cut (a chunk
    // cut half-way counts up to there), each once.
    let sha = sha256_hex(&photo_bytes);
    // The cut request's handler may still be storing (and syncing to disk)
    // what reached it: wait until the count stops moving, so the resume
    // below starts where the server's bytes end.
    // (Unchanged for a whole second: a loaded machine may take a while to
    // sync a file.)
    let (mut received, mut unchanged) = (u64::MAX, 0);
    for _ in 0..100 {
        let status = device
            .evidence_status(std::slice::from_ref(&sha))
            .await
            .unwrap();
        unchanged = if status[0].received == received {
            unchanged + 1
        } else {
            0
        };
        received = status[0].received;
        if unchanged == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        received > 0 && received < photo_bytes.len() as u64,
        "{received}"
    );

    // The app comes back (a new client, as after a restart) and resumes.
    let resumed = SyncClient::new(&server.url, &[])
        .unwrap()
        .with_token(token)
        .with_chunk_size(chunk)
        .with_retry(fast_retry());
    let report = resumed.upload_evidence(&photo_bytes).await.unwrap();
    // It resumes where the server's bytes end: nothing that arrived is sent again.
    let first = report.first_offset.unwrap();
    assert_eq!(first, received);
    assert_eq!(report.bytes_sent, photo_bytes.len() as u64 - first);
    let stats = server.stats().await;
    assert_eq!(stats.blobs_complete, 1);
    assert_eq!(stats.evidence_bytes_accepted, photo_bytes.len() as u64);
    // Asked again, the server has it all: nothing is sent.
    let again = resumed.upload_evidence(&photo_bytes).await.unwrap();
    assert_eq!(again.bytes_sent, 0);
    // The photo is stored whole, under its hash.
    let stored = server
        .state
        .config
        .data_dir
        .join(format!("blobs/evidence/{}/{sha}.jpg", &sha[..2]));
    assert_eq!(std::fs::read(stored).unwrap(), photo_bytes);
}

#[tokio::test]
async fn bad_photos_are_refused_with_a_reason() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await.with_chunk_size(1024);
    let aid = AssessmentId::new_v7();
    let not_jpeg = vec![b'P'; 3000];
    let mut too_big = evidence(aid, &photo(2, 100));
    if let cdht_core::sync::RecordBody::Evidence(e) = &mut too_big {
        e.size = 50 * 1024 * 1024;
    }
    let acks = device
        .push(&batch(1, vec![v1(evidence(aid, &not_jpeg)), v1(too_big)]))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Accepted);
    assert_eq!(acks[1].code.as_deref(), Some("evidence_too_large"));
    let err = device.upload_evidence(&not_jpeg).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_evidence"), "{err}");
    // A photo no record names cannot be uploaded.
    let err = device.upload_evidence(&photo(3, 2000)).await.unwrap_err();
    assert_eq!(err.code(), Some("unknown_evidence"), "{err}");
}

/// A file that only starts like a JPEG (a zip behind the magic bytes) or a
/// JPEG declaring 30000×30000 pixels is refused when its last byte arrives;
/// a photo served back is `image/jpeg` with `nosniff`.
#[tokio::test]
async fn lookalike_and_oversized_jpegs_are_refused_and_photos_are_not_sniffed() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let mut zip = vec![0xFF, 0xD8, 0xFF, 0xE0];
    zip.extend_from_slice(b"PK\x03\x04");
    zip.extend(std::iter::repeat_n(b'z', 4000));
    // A valid structure up to a frame header of 30000 x 30000.
    let mut bomb = vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 8, 0x75, 0x30, 0x75, 0x30, 3,
    ];
    bomb.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    let good = photo(12, 30_000);
    let all = [zip.clone(), bomb.clone(), good.clone()];
    announce_photos(&device, 1, "Giàng Thị Mỷ", &all).await;
    for refused in [&zip, &bomb] {
        let err = device.upload_evidence(refused).await.unwrap_err();
        assert_eq!(err.code(), Some("invalid_evidence"), "{err}");
    }
    device.upload_evidence(&good).await.unwrap();
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/evidence/{}",
            server.url,
            sha256_hex(&good)
        ))
        .bearer_auth(device.token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().as_ref(), &good[..]);
}

/// The field test: 50 people, 150 photos collected offline, synced
/// over a link that drops again and again; everything arrives exactly once.
#[tokio::test]
async fn fifty_people_and_150_photos_over_a_link_that_keeps_dropping() {
    let server = start().await;
    // Cut every ~200 KB (both directions): dozens of cuts in this sync.
    let proxy = FaultProxy::start(&server.url, 150_000, 200_000).await;
    let device = server
        .device_via("DEMO-X1-C1", &proxy.url)
        .await
        .with_chunk_size(32 * 1024)
        .with_retry(RetryPolicy {
            max_attempts: 1000,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(20),
        });
    let mut records = Vec::new();
    let mut photos = Vec::new();
    for i in 0..50u64 {
        let (pid, body) = person(&format!("Người thứ {i}"), None);
        let aid = AssessmentId::new_v7();
        records.push(v1(body));
        records.push(v1(assessment(aid, pid, DeviceState::Submitted, PASSING)));
        for j in 0..3 {
            let p = photo(
                i * 10 + j,
                20_000 + (i as usize * 997 + j as usize * 131) % 60_000,
            );
            records.push(v1(evidence(aid, &p)));
            photos.push(p);
        }
    }
    // The outbox freezes batches of 50 records; each is retried until acked.
    for (n, chunk) in records.chunks(50).enumerate() {
        let acks = device
            .push(&batch(n as u64 + 1, chunk.to_vec()))
            .await
            .unwrap()
            .acks;
        assert!(acks.iter().all(|a| a.outcome == AckOutcome::Accepted));
    }
    for p in &photos {
        device.upload_evidence(p).await.unwrap();
    }
    let stats = server.stats().await;
    assert_eq!(stats.persons, 50);
    assert_eq!(stats.assessments, 50);
    assert_eq!(stats.evidence_records, 150);
    assert_eq!(stats.blobs_complete, 150);
    let total: u64 = photos.iter().map(|p| p.len() as u64).sum();
    assert_eq!(
        stats.evidence_bytes_accepted, total,
        "a chunk was kept twice"
    );
    let cuts = proxy.cuts.load(Ordering::SeqCst);
    assert!(cuts >= 20, "the link dropped only {cuts} times");
}
