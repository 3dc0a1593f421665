#![allow(clippy::unwrap_used)]
//! Pulling records by device scope, collector devices (an officer bound to a
//! device), editing pulled records, and evidence downloads: the real server
//! on 127.0.0.1 against the real sync client.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{
    AckOutcome, Change, DeviceScope, DeviceState, PersonRecord, PullResponse, RecordBody,
    RecordEnvelope, ServerChange,
};
use cdht_core::AreaType;
use cdht_sync_client::{envelope, SyncClient};
use serde_json::{json, Value};
use support::*;

const PASSING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const FAILING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 4];

/// The pulled records, as (kind, id, version).
fn records(changes: &[ServerChange]) -> Vec<(&'static str, uuid::Uuid, u32)> {
    changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Record { record, .. } => Some((
                record.body.kind().as_str(),
                record.body.id(),
                record.version,
            )),
            _ => None,
        })
        .collect()
}

fn record_of(changes: &[ServerChange], id: uuid::Uuid) -> Vec<&RecordEnvelope> {
    changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Record { record, .. } if record.body.id() == id => Some(record),
            _ => None,
        })
        .collect()
}

fn person_body(body: &RecordBody) -> PersonRecord {
    match body {
        RecordBody::Person(p) => p.clone(),
        other => panic!("{other:?}"),
    }
}

async fn push_ok(device: &SyncClient, seq: u64, records: Vec<RecordEnvelope>) {
    let acks = device.push(&batch(seq, records)).await.unwrap().acks;
    for ack in &acks {
        assert_eq!(ack.outcome, AckOutcome::Accepted, "{ack:?}");
    }
}

#[tokio::test]
async fn citizen_phones_of_one_unit_never_see_each_others_people() {
    let server = start().await;
    let lan = server.device("DEMO-X1-C1").await;
    let minh = server.device("DEMO-X1-C1").await;
    let (lan_pid, lan_body) = person("Nguyễn Thị Lan", Some("001190012345"));
    let lan_aid = AssessmentId::new_v7();
    push_ok(
        &lan,
        1,
        vec![
            v1(lan_body),
            v1(assessment(
                lan_aid,
                lan_pid,
                DeviceState::Submitted,
                PASSING,
            )),
        ],
    )
    .await;
    let (minh_pid, minh_body) = person("Trần Văn Minh", None);
    let minh_aid = AssessmentId::new_v7();
    push_ok(
        &minh,
        1,
        vec![
            v1(minh_body),
            v1(assessment(
                minh_aid,
                minh_pid,
                DeviceState::Submitted,
                PASSING,
            )),
        ],
    )
    .await;
    // Nobody gets back their own pushes, nor the other's people.
    assert!(lan.pull_all(0).await.unwrap().0.is_empty());
    assert!(minh.pull_all(0).await.unwrap().0.is_empty());

    // A review decision reaches the phone of that person only.
    let reviewer = server.officer("kiemtra-x1").await;
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{lan_aid}/return"),
            &json!({"reason": "Thiếu ảnh"}),
        )
        .await
        .unwrap();
    let (lan_changes, lan_cursor) = lan.pull_all(0).await.unwrap();
    assert_eq!(lan_changes.len(), 1);
    assert!(
        matches!(lan_changes[0].change, Change::Review { assessment, .. } if assessment == lan_aid)
    );
    assert!(minh.pull_all(0).await.unwrap().0.is_empty());

    // Minh's phone may not write Lan's records, old or new.
    let acks = minh
        .push(&batch(
            2,
            vec![
                envelope(
                    assessment(lan_aid, lan_pid, DeviceState::Submitted, FAILING),
                    2,
                ),
                v1(assessment(
                    AssessmentId::new_v7(),
                    lan_pid,
                    DeviceState::Draft,
                    PASSING,
                )),
            ],
        ))
        .await
        .unwrap()
        .acks;
    for ack in &acks {
        assert_eq!(ack.outcome, AckOutcome::Rejected);
        assert_eq!(ack.code.as_deref(), Some("out_of_scope"));
        assert!(ack.message.as_deref().unwrap().contains("không được sửa"));
    }
    assert!(lan.pull_all(lan_cursor).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn a_collector_device_pulls_edits_and_the_phone_pulls_the_edit_back() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let (pid, person_v1) = person("Lò Thị Mai", Some("001190012345"));
    let aid = AssessmentId::new_v7();
    let photo_bytes = photo(7, 3000);
    let ev = evidence(aid, &photo_bytes);
    let ev_id = ev.id();
    push_ok(
        &phone,
        1,
        vec![
            v1(person_v1.clone()),
            v1(assessment(aid, pid, DeviceState::Submitted, PASSING)),
            v1(ev),
        ],
    )
    .await;
    phone.upload_evidence(&photo_bytes).await.unwrap();

    // Wrong password, unknown officer: 401; a viewer: 403; a collector: bound.
    let tablet = server.device("DEMO-X1-C1").await;
    let err = server
        .try_bind(&tablet, "nhaplieu-x1-c1", "wrong")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("bad_credentials"), "{err}");
    let err = server
        .try_bind(&tablet, "nobody", "wrong")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("bad_credentials"), "{err}");
    let err = server
        .try_bind(&tablet, "xem-tinh", &server.password("xem-tinh"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden_role"), "{err}");
    assert!(matches!(err, cdht_sync_client::SyncError::Forbidden { .. }));
    // A collector of another branch is not one of this unit.
    let other_branch = server.device("DEMO-X1-C2").await;
    let err = server
        .try_bind(
            &other_branch,
            "nhaplieu-x1-c1",
            &server.password("nhaplieu-x1-c1"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden_role"), "{err}");
    let bound = server.bind(&tablet, "nhaplieu-x1-c1").await;
    assert_eq!(bound.username.as_deref(), Some("nhaplieu-x1-c1"));
    assert_eq!(bound.scope, DeviceScope::UnitRecords);
    assert_eq!(bound.roles.len(), 1);
    let audit: Vec<Value> = server
        .officer("kiemtra-x1")
        .await
        .get_json("/api/v1/units/DEMO-X1-C1/audit")
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|a| a["action"] == "bind_officer" && a["actor"] == "nhaplieu-x1-c1"));
    // An officer's own token cannot be bound: only a device's.
    let officer = server.officer("nhaplieu-x1-c1").await;
    let err = server
        .try_bind(
            &officer,
            "nhaplieu-x1-c1",
            &server.password("nhaplieu-x1-c1"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden_role"), "{err}");

    // The tablet pulls the phone's records, in the order they were stored.
    let (changes, cursor) = tablet.pull_all(0).await.unwrap();
    assert_eq!(
        records(&changes),
        [
            ("person", *pid.as_uuid(), 1),
            ("assessment", *aid.as_uuid(), 1),
            ("evidence", ev_id, 1)
        ]
    );
    for c in &changes {
        let Change::Record { unit, area, record } = &c.change else {
            panic!("{c:?}")
        };
        assert_eq!(unit.as_str(), "DEMO-X1-C1");
        assert_eq!(*area, AreaType::Normal);
        assert_eq!(
            record.hash,
            cdht_sync_client::sha256_hex(&record.body.canonical_json()),
            "the hash is of the body as sent"
        );
    }
    let pulled_person = record_of(&changes, *pid.as_uuid())[0].clone();
    let p = person_body(&pulled_person.body);
    assert_eq!(p.cccd, None, "the CCCD never leaves the server");
    assert!(p.keep_cccd, "but the server says it holds one");
    assert_eq!(p.full_name, "Lò Thị Mai");

    // Re-sending the very version it pulled changes nothing.
    let acks = tablet
        .push(&batch(1, vec![pulled_person.clone()]))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::AlreadyHad, "{acks:?}");

    // The officer corrects the assessment (v2) and the name (v2, keeping the CCCD).
    let mut p2 = p.clone();
    p2.full_name = "Lò Thị Mai (Mây)".into();
    push_ok(
        &tablet,
        2,
        vec![
            envelope(RecordBody::Person(p2), 2),
            envelope(assessment(aid, pid, DeviceState::Submitted, FAILING), 2),
        ],
    )
    .await;
    // The tablet does not get its own pushes back.
    assert!(tablet.pull_all(cursor).await.unwrap().0.is_empty());

    // The phone pulls both edits; the CCCD is still held (keep_cccd).
    let (phone_changes, phone_cursor) = phone.pull_all(0).await.unwrap();
    assert_eq!(
        records(&phone_changes),
        [
            ("person", *pid.as_uuid(), 2),
            ("assessment", *aid.as_uuid(), 2)
        ]
    );
    let p_back = person_body(&record_of(&phone_changes, *pid.as_uuid())[0].body);
    assert_eq!(p_back.full_name, "Lò Thị Mai (Mây)");
    assert!(p_back.keep_cccd);

    // Both edit v2 into v3: the first to arrive wins, the other gets
    // version_conflict and pulls the winner.
    push_ok(
        &tablet,
        3,
        vec![envelope(
            assessment(
                aid,
                pid,
                DeviceState::Submitted,
                [9, 8, 8, 8, 8, 8, 8, 8, 8, 8],
            ),
            3,
        )],
    )
    .await;
    let acks = phone
        .push(&batch(
            2,
            vec![envelope(
                assessment(
                    aid,
                    pid,
                    DeviceState::Submitted,
                    [10, 8, 8, 8, 8, 8, 8, 8, 8, 8],
                ),
                3,
            )],
        ))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[0].outcome, AckOutcome::Rejected);
    assert_eq!(acks[0].code.as_deref(), Some("version_conflict"));
    let (after, _) = phone.pull_all(phone_cursor).await.unwrap();
    let winner = record_of(&after, *aid.as_uuid());
    assert_eq!(winner.len(), 1);
    assert_eq!(winner[0].version, 3);
    let RecordBody::Assessment(a) = &winner[0].body else {
        panic!()
    };
    assert_eq!(a.answers.0[0].1, cdht_core::Answer::Points(9));
    let list: Vec<Value> = server
        .officer("kiemtra-x1")
        .await
        .get_json("/api/v1/units/DEMO-X1/assessments")
        .await
        .unwrap();
    assert_eq!(list[0]["version"], 3);
    assert_eq!(list[0]["total"], 81);

    // Withdrawn consent: no CCCD, keep_cccd false, erases the keyed hash.
    let mut p4 = p_back.clone();
    p4.keep_cccd = false;
    push_ok(&phone, 3, vec![envelope(RecordBody::Person(p4), 4)]).await;
    let (changes, _) = tablet.pull_all(0).await.unwrap();
    let versions = record_of(&changes, *pid.as_uuid());
    let last = versions.last().unwrap();
    assert_eq!(last.version, 4);
    assert!(!person_body(&last.body).keep_cccd);

    // Unbound, the tablet is a citizen device: the person it pushed, with
    // everything about her, except its own pushes; nobody else.
    let (other_pid, other_body) = person("Người khác", None);
    push_ok(&phone, 4, vec![v1(other_body)]).await;
    let unbound = server.unbind(&tablet).await;
    assert_eq!(unbound.username, None);
    assert!(unbound.roles.is_empty());
    assert_eq!(unbound.scope, DeviceScope::OwnRecords);
    // Each change carries the record as the server holds it now (the change
    // log names records since migration 0006): the phone's first pushes come
    // at their current versions, in the order they were first stored.
    let (changes, _) = tablet.pull_all(0).await.unwrap();
    assert_eq!(
        records(&changes),
        [
            ("person", *pid.as_uuid(), 4),
            ("assessment", *aid.as_uuid(), 3),
            ("evidence", ev_id, 1),
            ("person", *pid.as_uuid(), 4)
        ]
    );
    assert!(record_of(&changes, *other_pid.as_uuid()).is_empty());

    // A re-enrolment drops the binding too.
    let mut tablet2 = SyncClient::new(&server.url, &[])
        .unwrap()
        .with_retry(fast_retry());
    let device_id = cdht_core::ids::DeviceId::new_v7();
    let qr = server.qr("DEMO-X1-C1");
    tablet2.enrol(&qr, device_id, None).await.unwrap();
    server.bind(&tablet2, "nhaplieu-x1-c1").await;
    assert!(!tablet2.pull_all(0).await.unwrap().0.is_empty());
    let again = tablet2.enrol(&qr, device_id, None).await.unwrap();
    assert_eq!(again.scope, DeviceScope::OwnRecords);
    assert!(tablet2.pull_all(0).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn paging_over_filtered_changes_keeps_the_cursor_and_more_right() {
    let server = start().await;
    let mine = server.device("DEMO-X1-C1").await;
    let other = server.device("DEMO-X1-C1").await;
    let reviewer = server.officer("kiemtra-x1").await;
    let mut mine_ids = Vec::new();
    // Interleave: my pushes, another phone's pushes and decisions (all
    // skipped for me), and decisions about my people (mine to pull).
    for i in 0..4u64 {
        let (pid, body) = person(&format!("Người {i}"), None);
        let aid = AssessmentId::new_v7();
        push_ok(
            &mine,
            i + 1,
            vec![
                v1(body),
                v1(assessment(aid, pid, DeviceState::Submitted, PASSING)),
            ],
        )
        .await;
        let (opid, obody) = person(&format!("Khác {i}"), None);
        let oaid = AssessmentId::new_v7();
        push_ok(
            &other,
            i + 1,
            vec![
                v1(obody),
                v1(assessment(oaid, opid, DeviceState::Submitted, PASSING)),
            ],
        )
        .await;
        for a in [oaid, aid] {
            reviewer
                .post_json::<_, Value>(&format!("/api/v1/assessments/{a}/approve"), &json!({}))
                .await
                .unwrap();
        }
        mine_ids.push(aid);
    }
    // Nothing of mine after the last change: pages of one, then an empty end.
    let mut cursor = 0;
    let mut got = Vec::new();
    loop {
        let page: PullResponse = mine
            .get_json(&format!("/api/v1/pull?since={cursor}&limit=1"))
            .await
            .unwrap();
        assert!(page.changes.len() <= 1);
        if let Some(c) = page.changes.first() {
            assert_eq!(page.cursor, c.seq, "the cursor is the last seq returned");
            assert!(c.seq > cursor);
            got.push(c.clone());
        } else {
            assert_eq!(page.cursor, cursor, "an empty page keeps the cursor");
        }
        cursor = page.cursor;
        if !page.more {
            break;
        }
        assert_eq!(
            page.changes.len(),
            1,
            "more is only said when a change follows"
        );
    }
    let reviewed: Vec<AssessmentId> = got
        .iter()
        .map(|c| match &c.change {
            Change::Review { assessment, .. } => *assessment,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(reviewed, mine_ids);
    let (all, last) = mine.pull_all(0).await.unwrap();
    assert_eq!(all, got);
    assert_eq!(last, cursor);
    // The last page said "no more" right after the last change of mine,
    // although other people's changes come after it.
    let page: PullResponse = mine
        .get_json(&format!("/api/v1/pull?since={cursor}&limit=1"))
        .await
        .unwrap();
    assert!(page.changes.is_empty() && !page.more);
}

#[tokio::test]
async fn evidence_photos_download_only_within_scope() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let (pid, body) = person("Đinh Văn Hùng", None);
    let aid = AssessmentId::new_v7();
    let bytes = photo(11, 5000);
    let sha = cdht_sync_client::sha256_hex(&bytes);
    let unfinished = photo(12, 4000);
    let unfinished_sha = cdht_sync_client::sha256_hex(&unfinished);
    push_ok(
        &phone,
        1,
        vec![
            v1(body),
            v1(assessment(aid, pid, DeviceState::Submitted, PASSING)),
            v1(evidence(aid, &bytes)),
            v1(evidence(aid, &unfinished)),
        ],
    )
    .await;
    phone.upload_evidence(&bytes).await.unwrap();
    phone
        .put_evidence_chunk(&unfinished_sha, 0, &unfinished[..1000])
        .await
        .unwrap();

    let http = reqwest::Client::new();
    let get = |token: String, sha: String| {
        let http = http.clone();
        let url = format!("{}/api/v1/evidence/{sha}", server.url);
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, ct, r.bytes().await.unwrap().to_vec())
        }
    };
    let token = |c: &SyncClient| c.token().unwrap().to_owned();

    // The phone that pushed it.
    let (status, ct, got) = get(token(&phone), sha.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some("image/jpeg"));
    assert_eq!(got, bytes);
    // Not complete yet, or unknown: 404.
    let (status, _, body) = get(token(&phone), unfinished_sha.clone()).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = get(token(&phone), "b".repeat(64)).await;
    assert_eq!(status, 404);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], "not_found");
    // Another unit's device, another phone of the same unit: the same 404
    // as an unknown photo (the answer does not tell that a record names it).
    for unit in ["DEMO-X2-C1", "DEMO-X1-C1"] {
        let stranger = server.device(unit).await;
        let (status, _, body) = get(token(&stranger), sha.clone()).await;
        assert_eq!(status, 404, "{unit}");
        let err: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(err["code"], "not_found");
    }
    // A collector device of the unit; officers over it; not another commune's.
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    let (status, _, got) = get(token(&tablet), sha.clone()).await;
    assert_eq!((status, got.len()), (200, bytes.len()));
    for officer in ["kiemtra-x1", "xem-tinh"] {
        let o = server.officer(officer).await;
        let (status, _, got) = get(token(&o), sha.clone()).await;
        assert_eq!((status, got == bytes), (200, true), "{officer}");
    }
    let o = server.officer("kiemtra-x2").await;
    assert_eq!(get(token(&o), sha.clone()).await.0, 404);
    // No token: 401.
    let r = http
        .get(format!("{}/api/v1/evidence/{sha}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Recorded complete but gone from the disk (restored without blobs/): 404, not 500.
    let file = server
        .state
        .config
        .data_dir
        .join(format!("blobs/evidence/{}/{sha}.jpg", &sha[..2]));
    std::fs::remove_file(file).unwrap();
    let (status, _, body) = get(token(&phone), sha.clone()).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
}

/// A catalog as an operator would write it: 244-2022 with answer level b of
/// 1.1 worth 6 (not 7) and a pass threshold of 75, under a new id.
fn test_catalog(id: &str, revision: u32) -> String {
    let embedded = cdht_core::embedded_catalog("244-2022").unwrap().unwrap();
    let mut v = serde_json::to_value(embedded).unwrap();
    v["id"] = json!(id);
    v["revision"] = json!(revision);
    v["rules"]["pass_threshold"] = json!(75);
    assert_eq!(v["groups"][0]["id"], "farmers");
    let levels = &mut v["groups"][0]["competencies"][0]["indicators"][0]["levels"];
    assert_eq!(
        (levels[1]["id"].clone(), levels[1]["points"].clone()),
        (json!("b"), json!(7))
    );
    levels[1]["points"] = json!(6);
    serde_json::to_string_pretty(&v).unwrap()
}

async fn install(server: &TestServer, json: String) -> anyhow::Result<()> {
    let storage = std::sync::Arc::clone(&server.state.storage);
    tokio::task::spawn_blocking(move || {
        cdht_server::catalogs::add(storage.as_ref(), "catalog.json", &json).map(|_| ())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_installed_catalog_reaches_every_device_and_scores_pushes() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let far = server.device("DEMO-X2-C1").await;
    let tablet = server.device("DEMO-X1-C1").await;
    server.bind(&tablet, "nhaplieu-x1-c1").await;
    let (pid, body) = person("Hà Thị Thu", None);
    let aid = AssessmentId::new_v7();
    let mut a =
        serde_json::to_value(assessment(aid, pid, DeviceState::Submitted, PASSING)).unwrap();
    a["catalog"] = json!("cdht-test-2026");
    a["answers"]["1.1"] = json!("b");
    let a: RecordBody = serde_json::from_value(a).unwrap();

    // Unknown before it is installed.
    let acks = phone
        .push(&batch(1, vec![v1(body.clone()), v1(a.clone())]))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[1].code.as_deref(), Some("unknown_catalog"), "{acks:?}");

    install(&server, test_catalog("cdht-test-2026", 1))
        .await
        .unwrap();
    // The same revision again, or a shipped id at its shipped revision: refused.
    for (id, rev) in [("cdht-test-2026", 1), ("244-2022", 1)] {
        let err = install(&server, test_catalog(id, rev)).await.unwrap_err();
        let err = err.to_string();
        assert!(err.contains("stale_revision"), "{err}");
    }
    // Not a valid catalog: refused with the core's reason.
    let err = install(&server, "{\"id\": \"x\"}".into())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_catalog"), "{err}");

    // Every device pulls it, whatever its scope or unit.
    for device in [&phone, &far, &tablet] {
        let (changes, _) = device.pull_all(0).await.unwrap();
        let catalogs: Vec<(String, u32)> = changes
            .iter()
            .filter_map(|c| match &c.change {
                Change::Catalog { catalog } => Some((catalog.id.to_string(), catalog.revision)),
                _ => None,
            })
            .collect();
        assert_eq!(catalogs, [("cdht-test-2026".to_owned(), 1)]);
    }

    // The server scores with it: 6 for level b, threshold 75.
    let acks = phone.push(&batch(2, vec![v1(a)])).await.unwrap().acks;
    assert_eq!(acks[0].outcome, AckOutcome::Accepted, "{acks:?}");
    let score = acks[0].score.unwrap();
    assert_eq!((score.total, score.passed, score.threshold), (78, true, 75));

    // A corrected revision replaces it (threshold back to 80 in revision 2).
    let mut v: Value = serde_json::from_str(&test_catalog("cdht-test-2026", 2)).unwrap();
    v["rules"]["pass_threshold"] = json!(80);
    install(&server, v.to_string()).await.unwrap();
    let mut again =
        serde_json::to_value(assessment(aid, pid, DeviceState::Submitted, PASSING)).unwrap();
    again["catalog"] = json!("cdht-test-2026");
    again["answers"]["1.1"] = json!("b");
    let again: RecordBody = serde_json::from_value(again).unwrap();
    let acks = phone
        .push(&batch(3, vec![envelope(again, 2)]))
        .await
        .unwrap()
        .acks;
    let score = acks[0].score.unwrap();
    assert_eq!(
        (score.total, score.passed, score.threshold),
        (78, false, 80)
    );
}

#[tokio::test]
async fn a_unit_import_reaches_the_devices_of_the_units_below() {
    let server = start().await;
    let c1 = server.device("DEMO-X1-C1").await;
    let c2 = server.device("DEMO-X1-C2").await;
    let elsewhere = server.device("DEMO-X2-C1").await;
    let csv = "code,name,kind,parent,area\n\
               DEMO-X1,Hội Khuyến học xã Bình An,commune,DEMO-T,difficult\n";
    let storage = std::sync::Arc::clone(&server.state.storage);
    let out = tokio::task::spawn_blocking(move || {
        cdht_server::units::import(storage.as_ref(), "units.csv", csv.as_bytes()).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out[0].import, Some("updated"));
    for (device, unit) in [(&c1, "DEMO-X1-C1"), (&c2, "DEMO-X1-C2")] {
        let (changes, _) = device.pull_all(0).await.unwrap();
        assert_eq!(changes.len(), 1, "{changes:?}");
        let Change::Unit { unit: info } = &changes[0].change else {
            panic!("{changes:?}")
        };
        assert_eq!(info.code.as_str(), unit);
        assert_eq!(info.area, AreaType::Difficult, "inherited from DEMO-X1");
        assert_eq!(info.parent.as_ref().unwrap().as_str(), "DEMO-X1");
    }
    assert!(elsewhere.pull_all(0).await.unwrap().0.is_empty());
    // A collector device of the commune sees the commune and both branches.
    let commune = server.device("DEMO-X1").await;
    let admin = "admin-tinh";
    server.bind(&commune, admin).await;
    let (changes, _) = commune.pull_all(0).await.unwrap();
    let mut units: Vec<String> = changes
        .iter()
        .map(|c| match &c.change {
            Change::Unit { unit } => unit.code.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    units.sort();
    assert_eq!(units, ["DEMO-X1", "DEMO-X1-C1", "DEMO-X1-C2"]);
    // And the branch's next assessment is scored for a difficult area.
    let (pid, body) = person("Vàng Seo Pao", None);
    let acks = c1
        .push(&batch(
            1,
            vec![
                v1(body),
                v1(assessment(
                    AssessmentId::new_v7(),
                    pid,
                    DeviceState::Submitted,
                    FAILING,
                )),
            ],
        ))
        .await
        .unwrap()
        .acks;
    assert_eq!(acks[1].score.unwrap().threshold, 70);
}
