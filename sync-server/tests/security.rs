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
    let (mpid, maid) =
        push_person_with_assessment(&attacker, 1, "Kẻ Gian", None, DeviceState::Draft).await;

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

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every value of every column of every table, as text (blobs as lossy UTF-8).
fn every_stored_value(db: &std::path::Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                use rusqlite::types::ValueRef;
                out.push(match row.get_ref(i).unwrap() {
                    ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into(),
                    ValueRef::Integer(n) => n.to_string(),
                    ValueRef::Real(f) => f.to_string(),
                    ValueRef::Null => String::new(),
                });
            }
        }
    }
    out
}

/// Fails when a stored value, or the bytes of the database file and its WAL,
/// hold the CCCD or one of the plain hashes made from it.
fn assert_nothing_reproducible(dir: &std::path::Path, cccd: &str, plain: &[String]) {
    let values = every_stored_value(&dir.join("cdht.sqlite3"));
    assert!(!values.is_empty());
    for value in &values {
        assert!(!value.contains(cccd), "clear CCCD stored: {value}");
        for hash in plain {
            assert!(!value.contains(hash.as_str()), "plain hash stored: {value}");
        }
    }
    for file in ["cdht.sqlite3", "cdht.sqlite3-wal"] {
        let Ok(bytes) = std::fs::read(dir.join(file)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(cccd), "clear CCCD in {file}");
        for hash in plain {
            assert!(!text.contains(hash.as_str()), "plain hash in {file}");
        }
    }
}

#[tokio::test]
async fn no_stored_value_can_be_reproduced_from_the_cccd_without_the_secret() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let cccd = "001190012345";
    let (_, body) = person("Nguyễn Thị Lan", Some(cccd));
    let record = v1(body);
    let b = batch(1, vec![record.clone()]);
    let first = device.push(&b).await.unwrap();
    assert_eq!(first.acks[0].outcome, AckOutcome::Accepted);
    // What an attacker can compute from a guessed CCCD with sha256 alone: the
    // number, the person body as pushed, the whole batch.
    let plain = vec![
        sha256_hex(cccd.as_bytes()),
        record.hash.clone(),
        sha256_hex(&serde_json::to_vec(&b).unwrap()),
    ];
    let dir = server.state.config.data_dir.clone();
    assert_nothing_reproducible(&dir, cccd, &plain);

    // Replays still get the original answer; another payload under the same
    // batch id is still a conflict.
    assert_eq!(device.push(&b).await.unwrap(), first);
    let mut changed = b.clone();
    changed.records[0] = envelope(record.body.clone(), 2);
    let err = device.push(&changed).await.unwrap_err();
    assert_eq!(err.code(), Some("batch_conflict"), "{err}");
    // The same version sent again (a lost answer) is `already_had`.
    let again = device.push(&batch(2, vec![record.clone()])).await.unwrap();
    assert_eq!(again.acks[0].outcome, AckOutcome::AlreadyHad);

    // A data folder written before the fix (plain hashes) is migrated when
    // the server opens it, and replays still work against the migrated rows.
    {
        let conn = rusqlite::Connection::open(dir.join("cdht.sqlite3")).unwrap();
        conn.execute("UPDATE persons SET hash = ?1", [&plain[1]])
            .unwrap();
        conn.execute(
            "UPDATE batches SET content_hash = ?1 WHERE seq = 1",
            [&plain[2]],
        )
        .unwrap();
        conn.execute("DELETE FROM settings WHERE key = 'plain_hashes_keyed'", [])
            .unwrap();
    }
    let state = cdht_server::AppState::open(cdht_server::Config::new(dir.clone())).unwrap();
    assert_nothing_reproducible(&dir, cccd, &plain);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(cdht_server::serve(state, listener));
    let reopened = SyncClient::new(&url, &[])
        .unwrap()
        .with_retry(fast_retry())
        .with_token(device.token().unwrap());
    assert_eq!(reopened.push(&b).await.unwrap(), first);
    let err = reopened.push(&changed).await.unwrap_err();
    assert_eq!(err.code(), Some("batch_conflict"), "{err}");
    let again = reopened.push(&batch(3, vec![record])).await.unwrap();
    assert_eq!(again.acks[0].outcome, AckOutcome::AlreadyHad);
    task.abort();
}

#[tokio::test]
async fn enrolling_with_another_phones_device_id_does_not_take_it_over() {
    let server = start().await;
    let qr = server.qr("DEMO-X1-C1");
    let id = cdht_core::ids::DeviceId::new_v7();
    let mut phone = SyncClient::new(&server.url, &[])
        .unwrap()
        .with_retry(fast_retry());
    assert_eq!(
        phone.enrol(&qr, id, Some("mine")).await.unwrap().device_id,
        id
    );
    let (pid, body) = person("Lò Thị Hoa", None);
    let aid = AssessmentId::new_v7();
    phone
        .push(&batch(
            1,
            vec![
                v1(body),
                v1(assessment(aid, pid, DeviceState::Draft, PASSING)),
            ],
        ))
        .await
        .unwrap();

    // Somebody who learnt the id scans the same public poster.
    let mut thief = SyncClient::new(&server.url, &[])
        .unwrap()
        .with_retry(fast_retry());
    let stolen = thief.enrol(&qr, id, Some("thief")).await.unwrap();
    assert_ne!(stolen.device_id, id, "a known id is never handed over");
    assert_eq!(stolen.last_push_seq, 0);
    // The phone keeps its token, its sequence and its people…
    phone.pull_all(0).await.unwrap();
    let ack = push_one(
        &phone,
        2,
        envelope(assessment(aid, pid, DeviceState::Submitted, PASSING), 2),
    )
    .await;
    assert_eq!(ack.outcome, AckOutcome::Accepted, "{ack:?}");
    // …and the thief's device may not write them.
    let ack = push_one(
        &thief,
        1,
        envelope(assessment(aid, pid, DeviceState::Draft, FAILING), 3),
    )
    .await;
    assert_refused(&ack, "out_of_scope");
    // The phone itself re-enrols with its token: same id, same sequence.
    let again = phone.enrol(&qr, id, Some("mine")).await.unwrap();
    assert_eq!((again.device_id, again.last_push_seq), (id, 2));
}

#[tokio::test]
async fn parallel_wrong_logins_and_joins_are_counted_before_the_slow_check() {
    let server = start_with(|c| c.max_failures = 5).await;
    let wrong_login = json!({"username": "kiemtra-x1", "password": "sai-mat-khau"});
    let wrong_join = json!({
        "unit": "DEMO-X1-C1",
        "join_key": "WRONGKEY22",
        "device_id": cdht_core::ids::DeviceId::new_v7(),
    });
    for (route, body) in [("login", wrong_login), ("enrol", wrong_join)] {
        let statuses = thirty_at_once(&server, route, &body).await;
        let checked = statuses.iter().filter(|s| **s == 401).count();
        assert!(
            checked <= 5,
            "{route}: {checked} wrong guesses were checked: {statuses:?}"
        );
        assert_eq!(checked + statuses.iter().filter(|s| **s == 429).count(), 30);
    }
}

/// Posts `body` to `/api/v1/{route}` 30 times at once; the statuses.
async fn thirty_at_once(server: &TestServer, route: &str, body: &serde_json::Value) -> Vec<u16> {
    let http = reqwest::Client::new();
    let requests = (0..30).map(|_| {
        http.post(format!("{}/api/v1/{route}", server.url))
            .json(body)
            .send()
    });
    futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect()
}

#[tokio::test]
async fn a_right_password_is_never_limited_by_the_attempts_it_passed() {
    let server = start_with(|c| c.max_failures = 3).await;
    // Successes do not use up the allowance.
    for _ in 0..6 {
        server.officer("kiemtra-x1").await;
    }
}

#[tokio::test]
async fn seq_or_since_beyond_i64_is_a_bad_request() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let http = reqwest::Client::new();
    let huge = 1u64 << 63;
    let push = http
        .post(format!("{}/api/v1/push", server.url))
        .bearer_auth(device.token().unwrap())
        .json(&json!({"batch_id": uuid::Uuid::now_v7(), "seq": huge, "records": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 400);
    let body: Value = push.json().await.unwrap();
    assert_eq!(body["code"], "bad_seq");
    for since in [huge, u64::MAX] {
        let pull = http
            .get(format!("{}/api/v1/pull?since={since}", server.url))
            .bearer_auth(device.token().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(pull.status(), 400, "since={since}");
        let body: Value = pull.json().await.unwrap();
        assert_eq!(body["code"], "bad_query");
    }
}

#[tokio::test]
async fn an_unknown_units_page_is_the_vietnamese_html_page() {
    let server = start().await;
    for path in ["/j/UNKNOWN", "/j/KHONG-CO"] {
        let page = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
        assert_eq!(page.status(), 404);
        let kind = page.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(page.text().await.unwrap().contains("Không tìm thấy đơn vị"));
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let (pid, body) = person("Lò Thị Hoa", None);
    let aid = AssessmentId::new_v7();
    let bytes = photo(7, 3000);
    device
        .push(&batch(
            1,
            vec![
                v1(body),
                v1(assessment(aid, pid, DeviceState::Draft, PASSING)),
                v1(evidence(aid, &bytes)),
            ],
        ))
        .await
        .unwrap();
    device.upload_evidence(&bytes).await.unwrap();
    let dir = server.state.config.data_dir.clone();
    let mut seen = 0;
    let mut stack = vec![dir.clone()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
            seen += 1;
        }
    }
    // secret.key, the database, its WAL and shared memory, the photo.
    assert!(seen >= 5, "{seen} files");
}

#[tokio::test]
async fn control_and_bidi_characters_and_overlong_fields_are_refused() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let person_with = |name: &str, phone: Option<String>, address: Option<String>| {
        let (_, body) = person(name, None);
        let RecordBody::Person(mut p) = body else {
            unreachable!()
        };
        p.phone = phone;
        p.address = address;
        v1(RecordBody::Person(p))
    };
    let cases = [
        (
            person_with("Nguyễn\u{202E}nahT", None, None),
            "invalid_text",
        ),
        (person_with("Nguyễn\u{7}Thanh", None, None), "invalid_text"),
        (
            person_with("Lan", Some("0912\u{2066}345".into()), None),
            "invalid_text",
        ),
        (
            person_with("Lan", None, Some("Thôn\u{0}Đông".into())),
            "invalid_text",
        ),
        (
            person_with("Lan", Some("0".repeat(21)), None),
            "invalid_phone",
        ),
        (
            person_with("Lan", None, Some("Đ".repeat(301))),
            "invalid_address",
        ),
    ];
    let records: Vec<RecordEnvelope> = cases.iter().map(|(r, _)| r.clone()).collect();
    let acks = device.push(&batch(1, records)).await.unwrap().acks;
    for (ack, (_, code)) in acks.iter().zip(&cases) {
        assert_refused(ack, code);
    }
    // Vietnamese text, a phone with spaces and a plus, a long address: fine.
    let ok = person_with(
        "Nguyễn Thị Lan",
        Some("+84 912 345 678".into()),
        Some("Thôn Đông, xã Nậm Pồ, huyện Mường Chà, tỉnh Điện Biên".repeat(5)),
    );
    let ack = push_one(&device, 2, ok).await;
    assert_eq!(ack.outcome, AckOutcome::Accepted, "{ack:?}");
    // An enrolment label is a text field too.
    let http = reqwest::Client::new();
    let qr = server.qr("DEMO-X1-C1");
    let answer = http
        .post(format!("{}/api/v1/enrol", server.url))
        .json(&json!({
            "unit": qr.unit,
            "join_key": qr.join_key,
            "device_id": cdht_core::ids::DeviceId::new_v7(),
            "device_label": "máy\u{202E}",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "invalid_text");
}

#[tokio::test]
async fn duplicates_are_grouped_per_person_and_year_capped_per_phone_and_paged() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let other_phone = server.device("DEMO-X1-C2").await;
    let cccd = "034085009999";
    // One phone registers the same CCCD again and again: the fourth is refused.
    let mut records = Vec::new();
    let mut assessments = Vec::new();
    for i in 0..6 {
        let (pid, body) = person(&format!("Người {i}"), Some(cccd));
        let aid = AssessmentId::new_v7();
        records.push(v1(body));
        records.push(v1(assessment(aid, pid, DeviceState::Submitted, PASSING)));
        assessments.push(aid);
    }
    let acks = phone.push(&batch(1, records)).await.unwrap().acks;
    let persons: Vec<&RecordAck> = acks.iter().step_by(2).collect();
    for ack in &persons[..3] {
        assert_eq!(ack.outcome, AckOutcome::Accepted, "{ack:?}");
    }
    for ack in &persons[3..] {
        assert_refused(ack, "duplicate_limit");
    }
    // Another phone, the same person: the same group.
    let (_, aid) = push_person_with_assessment(
        &other_phone,
        1,
        "Người khác",
        Some(cccd),
        DeviceState::Submitted,
    )
    .await;
    // Two more people, each with a duplicate: three groups in all.
    for (seq, number) in [(2, "034085000001"), (3, "034085000002")] {
        let mut records = Vec::new();
        for i in 0..2 {
            let (pid, body) = person(&format!("Người {number} {i}"), Some(number));
            records.push(v1(body));
            records.push(v1(assessment(
                AssessmentId::new_v7(),
                pid,
                DeviceState::Draft,
                PASSING,
            )));
        }
        let acks = phone.push(&batch(seq, records)).await.unwrap().acks;
        assert!(acks.iter().all(|a| a.outcome == AckOutcome::Accepted));
    }

    let reviewer = server.officer("kiemtra-x1").await;
    let first: Value = reviewer
        .get_json("/api/v1/units/DEMO-X1/duplicates?limit=2")
        .await
        .unwrap();
    let groups = first["groups"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 2);
    let next = first["next"].as_str().unwrap().to_owned();
    let second: Value = reviewer
        .get_json(&format!(
            "/api/v1/units/DEMO-X1/duplicates?limit=2&after={next}"
        ))
        .await
        .unwrap();
    let rest = second["groups"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1);
    assert!(second["next"].is_null());
    let all: Vec<Value> = groups.into_iter().chain(rest).collect();
    let counts: Vec<u64> = all.iter().map(|g| g["count"].as_u64().unwrap()).collect();
    // One group of four (three from the first phone, one from the other), two of two.
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [2, 2, 4], "{all:?}");
    let big = all.iter().find(|g| g["count"] == 4).unwrap();
    let mut members: Vec<String> = big["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["assessment"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    let mut expected: Vec<String> = assessments[..3]
        .iter()
        .chain([&aid])
        .map(ToString::to_string)
        .collect();
    expected.sort();
    assert_eq!(members, expected);
    // Each listed assessment names the other three.
    let list: Vec<Value> = reviewer
        .get_json("/api/v1/units/DEMO-X1/assessments")
        .await
        .unwrap();
    let of_aid = list.iter().find(|a| a["id"] == aid.to_string()).unwrap();
    assert_eq!(of_aid["possible_duplicates"].as_array().unwrap().len(), 3);
    // A bad cursor is a bad query.
    let err = reviewer
        .get_json::<Value>("/api/v1/units/DEMO-X1/duplicates?after=nope")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("bad_query"), "{err}");
}
