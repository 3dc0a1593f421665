#![allow(clippy::unwrap_used)]
//! Exemplary Learning Citizen against the real server: recognised years in a
//! row (built through the real API: push, approve, recognise) make a person
//! *eligible*; only a decision (`POST /units/{code}/exemplary`) grants the
//! title, all or nothing, inside the officer's scope and role.

mod support;

use cdht_core::ids::{AssessmentId, PersonId};
use cdht_core::sync::DeviceState;
use cdht_sync_client::{SyncClient, SyncError};
use serde_json::{json, Value};
use support::*;

/// DEMO-X1's reviewer and recogniser, and a phone of DEMO-X1-C1.
struct Commune {
    phone: SyncClient,
    reviewer: SyncClient,
    recogniser: SyncClient,
    seq: u64,
}

impl Commune {
    async fn x1(server: &TestServer) -> Self {
        Self {
            phone: server.device("DEMO-X1-C1").await,
            reviewer: server.officer("kiemtra-x1").await,
            recogniser: server.officer("congnhan-x1").await,
            seq: 0,
        }
    }

    /// A person with a passing assessment for each of `years`, each approved
    /// and then recognised by its own decision (`{year}/QĐ-KH`).
    async fn recognised_in(&mut self, name: &str, years: &[u16]) -> PersonId {
        let (pid, body) = person(name, None);
        let ids: Vec<(u16, AssessmentId)> =
            years.iter().map(|y| (*y, AssessmentId::new_v7())).collect();
        let mut records = vec![v1(body)];
        for (year, aid) in &ids {
            records.push(v1(assessment_of_year(
                *aid,
                pid,
                *year,
                DeviceState::Submitted,
                [8; 10],
            )));
        }
        self.seq += 1;
        push_accepted(&self.phone, self.seq, records).await;
        for (year, aid) in ids {
            self.reviewer
                .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/approve"), &json!({}))
                .await
                .unwrap();
            self.recogniser
                .post_json::<_, Value>(
                    "/api/v1/units/DEMO-X1/recognitions",
                    &json!({"decision_no": format!("{year}/QĐ-KH"),
                        "decision_date": format!("{year}-12-01"), "assessments": [aid]}),
                )
                .await
                .unwrap();
        }
        pid
    }
}

/// The listing of `unit` for `year`, every page, by person id.
async fn listing(officer: &SyncClient, unit: &str, year: u16) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = officer
            .get_json(&format!(
                "/api/v1/units/{unit}/exemplary?year={year}&limit=2{after}"
            ))
            .await
            .unwrap();
        out.extend(page["persons"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return out,
        }
    }
}

fn entry(list: &[Value], pid: PersonId) -> &Value {
    list.iter()
        .find(|p| p["person"] == pid.to_string())
        .unwrap_or_else(|| panic!("{pid} not listed: {list:?}"))
}

fn grant(year: u16, decision_no: &str, persons: &[PersonId]) -> Value {
    json!({"year": year, "decision_no": decision_no, "decision_date": "2026-01-15",
        "persons": persons})
}

async fn audit_actions(officer: &SyncClient, action: &str) -> Vec<Value> {
    let audit: Vec<Value> = officer
        .get_json("/api/v1/units/DEMO-X1/audit")
        .await
        .unwrap();
    audit
        .into_iter()
        .filter(|a| a["action"] == action)
        .collect()
}

#[tokio::test]
async fn five_years_in_a_row_make_a_person_eligible_and_only_a_decision_grants_the_title() {
    let server = start().await;
    let mut x1 = Commune::x1(&server).await;
    let five = x1
        .recognised_in("Nguyễn Văn Năm", &[2021, 2022, 2023, 2024, 2025])
        .await;
    let four = x1
        .recognised_in("Trần Thị Bốn", &[2022, 2023, 2024, 2025])
        .await;
    let gap = x1
        .recognised_in("Lê Văn Hổng", &[2021, 2022, 2024, 2025])
        .await;
    // Recognised years elsewhere in time do not count for 2025.
    let stale = x1
        .recognised_in("Phạm Thị Cũ", &[2021, 2022, 2023, 2024])
        .await;

    let list = listing(&x1.reviewer, "DEMO-X1", 2025).await;
    assert_eq!(list.len(), 3, "{list:?}");
    assert!(list.iter().all(|p| p["person"] != stale.to_string()));
    let a = entry(&list, five);
    assert_eq!(
        (
            a["eligible"].clone(),
            a["streak"].clone(),
            a["required"].clone()
        ),
        (json!(true), json!(5), json!(5)),
        "{a}"
    );
    assert_eq!(a["years_to_go"], 0);
    assert_eq!(a["provisional"], true);
    assert_eq!(a["person_name"], "Nguyễn Văn Năm");
    assert_eq!(a["unit"], "DEMO-X1-C1");
    assert!(a["title"].is_null(), "eligible is not the title: {a}");
    let b = entry(&list, four);
    assert_eq!(
        (
            b["eligible"].clone(),
            b["streak"].clone(),
            b["years_to_go"].clone()
        ),
        (json!(false), json!(4), json!(1)),
        "{b}"
    );
    // A year without recognition resets the count.
    let c = entry(&list, gap);
    assert_eq!(
        (c["eligible"].clone(), c["streak"].clone()),
        (json!(false), json!(2)),
        "{c}"
    );
    // The year before: the five-year person had four then.
    let earlier = listing(&x1.reviewer, "DEMO-X1", 2024).await;
    assert_eq!(entry(&earlier, five)["streak"], 4);
    assert_eq!(entry(&earlier, five)["eligible"], false);

    // One person not eligible in the request: nothing is written.
    for not_yet in [four, gap] {
        let err = x1
            .recogniser
            .post_json::<_, Value>(
                "/api/v1/units/DEMO-X1/exemplary",
                &grant(2025, "05/QĐ-KH", &[five, not_yet]),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SyncError::Conflict { .. }), "{err}");
        assert_eq!(err.code(), Some("not_eligible"), "{err}");
    }
    // Recognised in 2024 and before, not in 2025: not eligible for 2025.
    let err = x1
        .recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/exemplary",
            &grant(2025, "05/QĐ-KH", &[stale]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_eligible"), "{err}");
    let list = listing(&x1.reviewer, "DEMO-X1", 2025).await;
    assert!(list.iter().all(|p| p["title"].is_null()), "{list:?}");
    assert!(audit_actions(&x1.reviewer, "grant_exemplary")
        .await
        .is_empty());

    // The decision grants it; the listing then shows the decision.
    x1.recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/exemplary",
            &grant(2025, " 05/QĐ-KH ", &[five]),
        )
        .await
        .unwrap();
    let list = listing(&x1.reviewer, "DEMO-X1", 2025).await;
    assert_eq!(
        entry(&list, five)["title"],
        json!({"decision_no": "05/QĐ-KH", "decision_date": "2026-01-15"})
    );
    assert!(entry(&list, four)["title"].is_null());
    // A province viewer sees it too; the title belongs to 2025 only.
    let viewer = server.officer("xem-tinh").await;
    let province = listing(&viewer, "DEMO-T", 2025).await;
    assert_eq!(entry(&province, five)["title"]["decision_no"], "05/QĐ-KH");
    let earlier = listing(&viewer, "DEMO-T", 2024).await;
    assert!(entry(&earlier, five)["title"].is_null());

    // The same decision again changes nothing; another one is refused.
    x1.recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/exemplary",
            &grant(2025, "05/QĐ-KH", &[five]),
        )
        .await
        .unwrap();
    let err = x1
        .recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/exemplary",
            &grant(2025, "06/QĐ-KH", &[five]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Conflict { .. }), "{err}");
    assert_eq!(err.code(), Some("already_granted"), "{err}");
    let granted = audit_actions(&x1.reviewer, "grant_exemplary").await;
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0]["actor"], "congnhan-x1");
    assert_eq!(granted[0]["unit"], "DEMO-X1-C1");
    assert_eq!(granted[0]["to_state"], "exemplary");
    let detail = granted[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("05/QĐ-KH (2026-01-15)") && detail.contains(&five.to_string()),
        "{detail}"
    );
}

#[tokio::test]
async fn officers_of_another_commune_and_other_roles_cannot_read_or_grant() {
    let server = start().await;
    let mut x1 = Commune::x1(&server).await;
    let five = x1
        .recognised_in("Đỗ Thị Năm", &[2021, 2022, 2023, 2024, 2025])
        .await;
    let body = grant(2025, "07/QĐ-KH", &[five]);

    // Another commune's recogniser: out of scope for reading and granting.
    let other = server.officer("congnhan-x2").await;
    let err = other
        .get_json::<Value>("/api/v1/units/DEMO-X1/exemplary?year=2025")
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Forbidden { .. }), "{err}");
    assert_eq!(err.code(), Some("out_of_scope"));
    for unit in ["DEMO-X1", "DEMO-X1-C1", "NO-SUCH-UNIT"] {
        let err = other
            .post_json::<_, Value>(&format!("/api/v1/units/{unit}/exemplary"), &body)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("out_of_scope"), "{unit}: {err}");
    }
    // Through its own unit: the person is not there.
    let err = other
        .post_json::<_, Value>("/api/v1/units/DEMO-X2/exemplary", &body)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Rejected { status: 404, .. }),
        "{err}"
    );
    assert_eq!(err.code(), Some("not_found"));
    // Its own listing does not show the person.
    let theirs = listing(&other, "DEMO-X2", 2025).await;
    assert!(theirs.is_empty(), "{theirs:?}");

    // Wrong role in the right tree: a reviewer, a viewer may read, not grant.
    for username in ["kiemtra-x1", "xem-tinh"] {
        let officer = server.officer(username).await;
        assert_eq!(listing(&officer, "DEMO-X1", 2025).await.len(), 1);
        let err = officer
            .post_json::<_, Value>("/api/v1/units/DEMO-X1/exemplary", &body)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("forbidden_role"), "{username}: {err}");
    }
    // A device token may do neither.
    let err = x1
        .phone
        .get_json::<Value>("/api/v1/units/DEMO-X1-C1/exemplary?year=2025")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden_role"), "{err}");
    let err = x1
        .phone
        .post_json::<_, Value>("/api/v1/units/DEMO-X1-C1/exemplary", &body)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden_role"), "{err}");

    // Bad requests from the right officer: typed 400s.
    let bidi = grant(2025, "07/QĐ\u{202e}-KH", &[five]);
    for (bad, code) in [
        (grant(2020, "07/QĐ-KH", &[five]), "invalid_exemplary"),
        (grant(2025, "  ", &[five]), "invalid_exemplary"),
        (grant(2025, &"9".repeat(101), &[five]), "invalid_exemplary"),
        (grant(2025, "07/QĐ-KH", &[]), "invalid_exemplary"),
        (bidi, "invalid_text"),
        (
            json!({"year": 2025, "decision_no": "1", "decision_date": "2026-13-01",
                "persons": [five]}),
            "invalid_body",
        ),
    ] {
        let err = x1
            .recogniser
            .post_json::<_, Value>("/api/v1/units/DEMO-X1/exemplary", &bad)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(code), "{bad}: {err}");
    }
    for query in ["", "?year=2020", "?year=abc", "?year=2025&after=x"] {
        let err = x1
            .recogniser
            .get_json::<Value>(&format!("/api/v1/units/DEMO-X1/exemplary{query}"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("bad_query"), "{query}: {err}");
    }

    // None of it wrote anything.
    let list = listing(&x1.recogniser, "DEMO-X1", 2025).await;
    assert!(entry(&list, five)["title"].is_null(), "{list:?}");
    assert!(audit_actions(&x1.reviewer, "grant_exemplary")
        .await
        .is_empty());
}

/// The server counts with the rules it scores with: an installed revision of
/// the catalog asking 4 years in a row makes a 4-year person eligible.
#[tokio::test]
async fn an_installed_catalog_revision_sets_the_years_required() {
    let server = start().await;
    let mut x1 = Commune::x1(&server).await;
    let four = x1
        .recognised_in("Vũ Văn Bốn", &[2022, 2023, 2024, 2025])
        .await;
    let err = x1
        .recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/exemplary",
            &grant(2025, "08/QĐ-KH", &[four]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_eligible"), "{err}");

    let shipped = cdht_core::embedded_catalog("244-2022").unwrap().unwrap();
    let mut revised = serde_json::to_value(shipped).unwrap();
    assert_eq!(revised["rules"]["exemplary_consecutive_years"], 5);
    revised["revision"] = json!(shipped.revision + 1);
    revised["rules"]["exemplary_consecutive_years"] = json!(4);
    let storage = std::sync::Arc::clone(&server.state.storage);
    tokio::task::spawn_blocking(move || {
        cdht_server::catalogs::add(storage.as_ref(), "244-2022.json", &revised.to_string())
    })
    .await
    .unwrap()
    .unwrap();

    let list = listing(&x1.reviewer, "DEMO-X1", 2025).await;
    let p = entry(&list, four);
    assert_eq!(
        (p["eligible"].clone(), p["required"].clone()),
        (json!(true), json!(4)),
        "{p}"
    );
    x1.recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/exemplary",
            &grant(2025, "08/QĐ-KH", &[four]),
        )
        .await
        .unwrap();
    let list = listing(&x1.reviewer, "DEMO-X1", 2025).await;
    assert_eq!(entry(&list, four)["title"]["decision_no"], "08/QĐ-KH");
}
