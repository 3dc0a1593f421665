#![allow(clippy::unwrap_used)]
//! A hall full of villagers scanning one poster: 300 phones enrol, 50 at a
//! time, against the real server, then each pushes and pulls. Not one request
//! may fail, and the clients do not retry, so a `503 busy` or a `500` counts.

mod support;

use cdht_core::ids::{AssessmentId, DeviceId};
use cdht_core::sync::{AckOutcome, Change, DeviceState};
use cdht_sync_client::{RetryPolicy, SyncClient};
use futures_util::stream::{self, StreamExt};
use std::time::Duration;
use support::*;

const PHONES: usize = 300;
const AT_ONCE: usize = 50;
const PASSING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];

/// One attempt only: any error answer is an error of the test.
fn no_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_phones_enrol_push_and_pull_without_one_error() {
    let server = start().await;
    let qr = server.qr("DEMO-X1-C1");
    let url = server.url.clone();

    let enrolled: Vec<Result<SyncClient, String>> = stream::iter(0..PHONES)
        .map(|i| {
            let (qr, url) = (qr.clone(), url.clone());
            async move {
                let mut client = SyncClient::new(&url, &[]).unwrap().with_retry(no_retry());
                let label = format!("phone {i}");
                client
                    .enrol(&qr, DeviceId::new_v7(), Some(&label))
                    .await
                    .map(|_| client)
                    .map_err(|e| format!("enrol {i}: {e}"))
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let errors: Vec<&String> = enrolled.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} enrolments failed: {errors:?}",
        errors.len()
    );
    let phones: Vec<SyncClient> = enrolled.into_iter().map(Result::unwrap).collect();

    // Each villager sends their own assessment, then pulls, all at once.
    let rounds: Vec<Result<(), String>> = stream::iter(phones.iter().enumerate())
        .map(|(i, phone)| async move {
            let (person_id, person_body) = person(&format!("Người {i}"), None);
            let aid = AssessmentId::new_v7();
            let pushed = phone
                .push(&batch(
                    1,
                    vec![
                        v1(person_body),
                        v1(assessment(aid, person_id, DeviceState::Submitted, PASSING)),
                    ],
                ))
                .await
                .map_err(|e| format!("push {i}: {e}"))?;
            if !pushed
                .acks
                .iter()
                .all(|a| a.outcome == AckOutcome::Accepted)
            {
                return Err(format!("push {i}: {:?}", pushed.acks));
            }
            let (changes, _) = phone
                .pull_all(0)
                .await
                .map_err(|e| format!("pull {i}: {e}"))?;
            // An own-records phone never gets another villager's records.
            if changes
                .iter()
                .any(|c| matches!(c.change, Change::Record { .. }))
            {
                return Err(format!("pull {i} got records: {changes:?}"));
            }
            Ok(())
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let errors: Vec<&String> = rounds.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} rounds failed: {errors:?}",
        errors.len()
    );

    let retries: u64 = phones
        .iter()
        .map(|p| {
            p.counters()
                .retries
                .load(std::sync::atomic::Ordering::SeqCst)
        })
        .sum();
    assert_eq!(retries, 0);
    let stats = server.stats().await;
    assert_eq!((stats.persons, stats.assessments), (300, 300));
}
