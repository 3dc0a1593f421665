#![allow(clippy::unwrap_used)]
//! Migration 12 (issue 17, item 3): a record's first change moves from the
//! change log into the record's row. A data folder that a version-11 server
//! left pulls exactly as before: the same changes at the same positions, for
//! every device and from every cursor, and positions given afterwards come
//! after all of them.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{DeviceState, RecordBody, ServerChange};
use cdht_sync_client::{envelope, SyncClient};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;
use tokio::net::TcpListener;

/// Every page a device gets from each cursor it could hold: what a pull
/// returns, compared as JSON.
async fn pulls_from_every_cursor(device: &SyncClient) -> Vec<(u64, Value)> {
    let (changes, last) = device.pull_all(0).await.unwrap();
    let mut cursors: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    cursors.insert(0, 0);
    cursors.push(last + 100);
    let mut out = Vec::new();
    for since in cursors {
        let page = device.pull(since).await.unwrap();
        out.push((since, serde_json::to_value(&page).unwrap()));
    }
    out
}

fn seqs(changes: &[ServerChange]) -> Vec<u64> {
    changes.iter().map(|c| c.seq).collect()
}

#[tokio::test]
async fn a_version_11_change_log_pulls_the_same_after_the_migration() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let collector = server.device("DEMO-X1-C1").await;
    server.bind(&collector, "nhaplieu-x1-c1").await;
    let reviewer = server.officer("kiemtra-x1").await;
    let (pid, first) = person("Vàng Thị Dợ", Some("001190012345"));
    let aid = AssessmentId::new_v7();
    let submitted = assessment(aid, pid, DeviceState::Submitted, [8; 10]);
    let photo = evidence(aid, b"a photo of the certificate");
    push_accepted(&phone, 1, vec![v1(first.clone()), v1(submitted), v1(photo)]).await;
    let (_, other) = person("Sùng A Pao", None);
    push_accepted(&collector, 1, vec![v1(other)]).await;
    // The collector edits the phone's person (a change of the log), the
    // reviewer returns the assessment (its row written again).
    let RecordBody::Person(mut edited) = first else {
        unreachable!()
    };
    edited.address = Some("Bản Lả".into());
    edited.cccd = None;
    edited.keep_cccd = true;
    push_accepted(&collector, 2, vec![envelope(RecordBody::Person(edited), 2)]).await;
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{aid}/return"),
            &json!({"reason": "Thiếu ảnh"}),
        )
        .await
        .unwrap();

    let devices = [&phone, &collector];
    let mut before = Vec::new();
    for device in devices {
        before.push(pulls_from_every_cursor(device).await);
    }
    // The phone's view: the collector's edit and the review; the
    // collector's: the phone's three records (the person at its current
    // version) and the review, not its own pushes.
    let (phone_changes, _) = phone.pull_all(0).await.unwrap();
    let (collector_changes, last) = collector.pull_all(0).await.unwrap();
    assert_eq!(phone_changes.len(), 2, "{phone_changes:?}");
    assert_eq!(collector_changes.len(), 4, "{collector_changes:?}");
    assert!(seqs(&collector_changes).is_sorted());

    // Back to version 11, then a new server on the folder.
    let data = server.state.config.data_dir.clone();
    {
        let conn = rusqlite::Connection::open(data.join("cdht.sqlite3")).unwrap();
        conn.execute_batch(UNDO_MIGRATION_13).unwrap();
        conn.execute_batch(UNDO_MIGRATION_12).unwrap();
        let logged: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM changes WHERE kind = 'record'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        // Four first stores (three of the phone's, one of the collector's)
        // and the edit.
        assert_eq!(logged, 5);
    }
    let reopened = cdht_server::AppState::open(cdht_server::Config::new(data.clone())).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(cdht_server::serve(reopened.clone(), listener));
    let client = |c: &SyncClient| {
        SyncClient::new(&url, &[])
            .unwrap()
            .with_token(c.token().unwrap().to_owned())
            .with_retry(fast_retry())
    };
    let (phone, collector) = (client(&phone), client(&collector));
    for (device, before) in [&phone, &collector].into_iter().zip(&before) {
        assert_eq!(&pulls_from_every_cursor(device).await, before);
    }
    // Only the edit stayed a row of the log.
    let storage = Arc::clone(&reopened.storage);
    assert_eq!(
        tokio::task::spawn_blocking(move || storage.stats().unwrap())
            .await
            .unwrap()
            .persons,
        2
    );
    let conn = rusqlite::Connection::open(data.join("cdht.sqlite3")).unwrap();
    let logged: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM changes WHERE kind = 'record'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 1);

    // A record pushed now comes after every position given before.
    let (_, late) = person("Giàng A Lử", None);
    push_accepted(&phone, 2, vec![v1(late)]).await;
    let page = collector.pull(last).await.unwrap();
    assert_eq!(page.changes.len(), 1, "{page:?}");
    assert!(page.changes[0].seq > last);
    task.abort();
}
