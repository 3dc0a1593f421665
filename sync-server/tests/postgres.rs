#![allow(clippy::unwrap_used)]
//! The real server on PostgreSQL (`--database`, issue 15): two instances on
//! one database of the private test cluster, with one secret file. A phone
//! enrols and pushes through one, an officer reviews through the other, and
//! the phone pulls the decision back through the first.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{AckOutcome, Change, DeviceState, ReviewState};
use cdht_server::{AppState, Config};
use serde_json::{json, Value};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_are_one_server() {
    let url = cdht_test_support::postgres::fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.key");
    std::fs::write(&secret, "ab".repeat(32)).unwrap();
    let on_postgres = |c: &mut Config| {
        c.database = Some(url.clone());
        c.db_pool = 4;
        c.secret_file = Some(secret.clone());
    };
    // The first instance makes the demo tree.
    let a = start_with(on_postgres).await;
    let mut config = Config::new(dir.path().join("b"));
    on_postgres(&mut config);
    let b = AppState::open(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cdht_server::serve(b, listener));

    let device = a.device_via("DEMO-X1-C1", &b_url).await;
    let (person_id, person_body) = person("Nguyễn Thị Lan", Some("001190012345"));
    let aid = AssessmentId::new_v7();
    let pushed = device
        .push(&batch(
            1,
            vec![
                v1(person_body),
                v1(assessment(
                    aid,
                    person_id,
                    DeviceState::Submitted,
                    [8; 10].map(i64::from),
                )),
            ],
        ))
        .await
        .unwrap();
    assert!(pushed
        .acks
        .iter()
        .all(|ack| ack.outcome == AckOutcome::Accepted));
    let reviewer = a.officer("kiemtra-x1").await;
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{aid}/return"),
            &json!({"reason": "Thiếu ảnh"}),
        )
        .await
        .unwrap();
    let (changes, _) = device.pull_all(0).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(matches!(
        &changes[0].change,
        Change::Review { assessment, state: ReviewState::Returned, .. } if *assessment == aid
    ));
    let stats = a.stats().await;
    assert_eq!((stats.persons, stats.assessments, stats.batches), (1, 1, 1));
}

/// A catalog installed through one instance (`catalogs add --database`) is
/// scored with by the other at its next push: each instance's catalog cache
/// checks the installed revisions in the database at every push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_installed_through_one_instance_scores_on_the_other() {
    let url = cdht_test_support::postgres::fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.key");
    std::fs::write(&secret, "cd".repeat(32)).unwrap();
    let on_postgres = |c: &mut Config| {
        c.database = Some(url.clone());
        c.db_pool = 4;
        c.secret_file = Some(secret.clone());
    };
    let a = start_with(on_postgres).await;
    let mut config = Config::new(dir.path().join("b"));
    on_postgres(&mut config);
    let b = AppState::open(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(cdht_server::serve(b, listener));
    let device = a.device_via("DEMO-X1-C1", &b_url).await;

    // A catalog of a new id, a copy of the shipped one.
    let mut file =
        serde_json::to_value(cdht_core::embedded_catalog("244-2022").unwrap().unwrap()).unwrap();
    file["id"] = "244-2022-thu".into();
    let push_of = |seq: u64, catalog: &str| {
        let (person_id, person_body) = person(&format!("Người {seq}"), None);
        let mut body = assessment(
            AssessmentId::new_v7(),
            person_id,
            DeviceState::Submitted,
            [8; 10],
        );
        if let cdht_core::sync::RecordBody::Assessment(a) = &mut body {
            a.catalog = catalog.into();
        }
        batch(seq, vec![v1(person_body), v1(body)])
    };
    // Through b, before: unknown, so refused (and b's cache is warm).
    let before = device.push(&push_of(1, "244-2022-thu")).await.unwrap();
    assert_eq!(before.acks[1].outcome, AckOutcome::Rejected, "{before:?}");
    // Installed through a's database handle, as `catalogs add` does.
    let storage = std::sync::Arc::clone(&a.state.storage);
    tokio::task::spawn_blocking(move || {
        cdht_server::catalogs::add(storage.as_ref(), "244-2022-thu.json", &file.to_string())
            .unwrap();
    })
    .await
    .unwrap();
    // Through b, after: scored with it.
    let after = device.push(&push_of(2, "244-2022-thu")).await.unwrap();
    assert!(
        after
            .acks
            .iter()
            .all(|ack| ack.outcome == AckOutcome::Accepted),
        "{after:?}"
    );
    assert_eq!(after.acks[1].score.as_ref().map(|s| s.total), Some(80));
}
