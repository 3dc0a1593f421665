#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::float_cmp)]
//! Issue 13's server side against the real server and its SQLite file:
//! the yearly report (JSON, CSV, XLSX) equals direct counts over the stored
//! assessments; the review queue pages newest first; certificates carry a
//! random token whose public page reveals only what it should; decision
//! lists; and every route refuses what lies outside the officer's subtrees.

mod support;

use cdht_core::ids::{AssessmentId, IndicatorId, PersonId};
use cdht_core::sync::{AssessmentRecord, DeviceState, PersonRecord, RecordBody};
use cdht_core::{Answer, Answers};
use cdht_sync_client::SyncClient;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Read;
use support::*;

const GROUPS: [&str; 3] = ["farmers", "workers", "officials"];
const DECISION: &str = "15/QĐ-KH";

/// One assessment pushed by the test, and what became of it.
struct Made {
    id: AssessmentId,
    state: &'static str,
}

fn person_record(i: usize, unit: &str) -> (PersonId, RecordBody) {
    let id = PersonId::new_v7();
    (
        id,
        RecordBody::Person(PersonRecord {
            id,
            full_name: format!("Nguyễn Thị Hằng {unit} {i}"),
            // 1950 to 2019: some are children in 2025.
            birth_year: Some(1950 + (i % 70) as u16),
            cccd: None,
            phone: None,
            address: Some(format!("Hộ số {} xóm Đông", i / 3)),
            keep_cccd: false,
            household: None,
        }),
    )
}

fn assessment_record(i: usize, aid: AssessmentId, pid: PersonId) -> RecordBody {
    // Every fourth fails on indicator 2.1 (4 points); the others pass.
    let points: [i64; 10] = if i.is_multiple_of(4) {
        [8, 8, 8, 8, 4, 8, 8, 8, 8, 8]
    } else {
        [9, 8, 10, 7, 6 + (i % 5) as i64, 8, 9, 8, 10, 9]
    };
    RecordBody::Assessment(AssessmentRecord {
        id: aid,
        person: pid,
        year: 2025,
        catalog: "244-2022".into(),
        group: GROUPS[i % 3].into(),
        answers: Answers(
            INDICATORS
                .iter()
                .zip(points)
                .map(|(id, p)| (IndicatorId::new(*id), Answer::Points(p)))
                .collect(),
        ),
        state: if i.is_multiple_of(10) {
            DeviceState::Draft
        } else {
            DeviceState::Submitted
        },
        device_total: None,
    })
}

/// `n` people of `unit`, each with an assessment of 2025, pushed in batches.
async fn push_people(device: &SyncClient, unit: &str, n: usize) -> Vec<(usize, AssessmentId)> {
    let mut made = Vec::new();
    let mut records = Vec::new();
    let mut seq = 0;
    for i in 0..n {
        let (pid, p) = person_record(i, unit);
        let aid = AssessmentId::new_v7();
        records.push(v1(p));
        records.push(v1(assessment_record(i, aid, pid)));
        made.push((i, aid));
        if records.len() >= 200 || i + 1 == n {
            seq += 1;
            push_accepted(device, seq, std::mem::take(&mut records)).await;
        }
    }
    made
}

/// Pushes `n` people into `unit`; the reviewer approves the passing ones
/// with i % 3 != 1 and returns i % 7 == 1; the recogniser recognises half of
/// the approved.
async fn fill_unit(
    server: &TestServer,
    unit: &str,
    commune: &str,
    reviewer: &SyncClient,
    recogniser: &SyncClient,
    n: usize,
) -> Vec<Made> {
    let device = server.device(unit).await;
    let pushed = push_people(&device, unit, n).await;
    let mut out = Vec::new();
    let mut approved = Vec::new();
    for (i, aid) in pushed {
        let sent = !i.is_multiple_of(10);
        let state = if !sent {
            "draft"
        } else if i % 7 == 1 {
            reviewer
                .post_json::<_, Value>(
                    &format!("/api/v1/assessments/{aid}/return"),
                    &json!({"reason": "Thiếu ảnh minh chứng chỉ số 1.2"}),
                )
                .await
                .unwrap();
            "returned"
        } else if !i.is_multiple_of(4) && i % 3 != 1 {
            reviewer
                .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/approve"), &json!({}))
                .await
                .unwrap();
            approved.push(aid);
            "approved"
        } else {
            "submitted"
        };
        out.push(Made { id: aid, state });
    }
    let chosen: Vec<AssessmentId> = approved.iter().step_by(2).copied().collect();
    recogniser
        .post_json::<_, Value>(
            &format!("/api/v1/units/{commune}/recognitions"),
            &json!({"decision_no": DECISION, "decision_date": "2025-12-01", "assessments": chosen}),
        )
        .await
        .unwrap();
    for m in &mut out {
        if chosen.contains(&m.id) {
            m.state = "recognised";
        }
    }
    out
}

/// Direct counts over the stored assessments of 2025 in `units`.
fn direct_counts(server: &TestServer, units: &[&str]) -> HashMap<&'static str, i64> {
    let db = rusqlite::Connection::open(server.state.config.data_dir.join("cdht.sqlite3")).unwrap();
    let list = units
        .iter()
        .map(|u| format!("'{u}'"))
        .collect::<Vec<_>>()
        .join(",");
    let count = |cond: &str, what: &str| -> i64 {
        db.query_row(
            &format!(
                "SELECT {what} FROM assessments WHERE year = 2025 AND unit IN ({list}) AND {cond}"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    HashMap::from([
        ("registered", count("1", "COUNT(DISTINCT person)")),
        ("submitted", count("state <> 'draft'", "COUNT(*)")),
        (
            "approved",
            count("state IN ('approved', 'recognised')", "COUNT(*)"),
        ),
        ("returned", count("state = 'returned'", "COUNT(*)")),
        ("recognised", count("state = 'recognised'", "COUNT(*)")),
        (
            "passed",
            count("state <> 'draft' AND passed = 1", "COUNT(*)"),
        ),
    ])
}

async fn get(officer: &SyncClient, server: &TestServer, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(officer.token().unwrap())
        .send()
        .await
        .unwrap()
}

/// The cells of the CSV section named `table`: rows of strings, headers first.
fn csv_section(csv: &str, table: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in csv.split("\r\n") {
        if line == table {
            inside = true;
            continue;
        }
        if inside {
            if line.is_empty() {
                break;
            }
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let record = r.records().next().unwrap().unwrap();
            rows.push(record.iter().map(str::to_owned).collect());
        }
    }
    rows
}

/// The numbers of a worksheet of an XLSX file, as `(cell, value)`.
fn xlsx_sheet(bytes: &[u8], sheet: usize) -> (String, String) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{sheet}.xml"))
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let mut strings = String::new();
    zip.by_name("xl/sharedStrings.xml")
        .unwrap()
        .read_to_string(&mut strings)
        .unwrap();
    (xml, strings)
}

/// The value of the numeric cell `cell` (`B3`) in a sheet's XML.
fn xlsx_number(xml: &str, cell: &str) -> f64 {
    let start = xml
        .find(&format!("<c r=\"{cell}\""))
        .unwrap_or_else(|| panic!("no cell {cell}"));
    let rest = &xml[start..];
    let end = rest.find("</c>").unwrap();
    let c = &rest[..end];
    assert!(!c.contains("t=\"s\""), "{cell} is a number, not text: {c}");
    let v = c.split("<v>").nth(1).unwrap().split("</v>").next().unwrap();
    v.parse().unwrap()
}

#[tokio::test]
async fn report_json_csv_and_xlsx_equal_direct_counts() {
    let server = start().await;
    let (r1, c1) = (
        server.officer("kiemtra-x1").await,
        server.officer("congnhan-x1").await,
    );
    let (r2, c2) = (
        server.officer("kiemtra-x2").await,
        server.officer("congnhan-x2").await,
    );
    let mut made = fill_unit(&server, "DEMO-X1-C1", "DEMO-X1", &r1, &c1, 700).await;
    made.extend(fill_unit(&server, "DEMO-X1-C2", "DEMO-X1", &r1, &c1, 500).await);
    made.extend(fill_unit(&server, "DEMO-X2-C1", "DEMO-X2", &r2, &c2, 800).await);
    assert_eq!(made.len(), 2000);
    let viewer = server.officer("xem-tinh").await;

    for (officer, unit, subtree) in [
        (&r1, "DEMO-X1", vec!["DEMO-X1", "DEMO-X1-C1", "DEMO-X1-C2"]),
        (&r2, "DEMO-X2", vec!["DEMO-X2", "DEMO-X2-C1", "DEMO-X2-T1"]),
        (
            &viewer,
            "DEMO-T",
            vec![
                "DEMO-T",
                "DEMO-X1",
                "DEMO-X1-C1",
                "DEMO-X1-C2",
                "DEMO-X2",
                "DEMO-X2-C1",
                "DEMO-X2-T1",
            ],
        ),
    ] {
        let want = direct_counts(&server, &subtree);
        let report: Value = officer
            .get_json(&format!("/api/v1/units/{unit}/report?year=2025"))
            .await
            .unwrap();
        for (k, v) in &want {
            assert_eq!(report[k], *v, "{unit} {k}: {report}");
        }
        assert_eq!(
            report["pass_rate"].as_f64().unwrap(),
            want["passed"] as f64 / want["submitted"] as f64
        );
        // Each direct child equals the direct count over its own subtree.
        for child in report["by_child"].as_array().unwrap() {
            let code = child["unit"].as_str().unwrap();
            let below: Vec<&str> = subtree
                .iter()
                .copied()
                .filter(|u| u.starts_with(code))
                .collect();
            let want = direct_counts(&server, &below);
            for (k, v) in &want {
                assert_eq!(child[k], *v, "{unit} child {code} {k}");
            }
        }
        // The groups add up (nobody has two groups here).
        for k in ["registered", "submitted", "recognised", "passed"] {
            let sum: i64 = report["by_group"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g[k].as_i64().unwrap())
                .sum();
            assert_eq!(sum, want[k], "{unit} by_group {k}");
        }

        // CSV: BOM, Vietnamese headers, the same numbers.
        let csv_bytes = get(
            officer,
            &server,
            &format!("/api/v1/units/{unit}/report.csv?year=2025"),
        )
        .await
        .bytes()
        .await
        .unwrap();
        assert!(csv_bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
        let text = String::from_utf8(csv_bytes[3..].to_vec()).unwrap();
        let summary = csv_section(&text, "Tổng hợp");
        let value = |label: &str| -> i64 {
            summary.iter().find(|r| r[0] == label).unwrap()[1]
                .parse()
                .unwrap()
        };
        assert_eq!(value("Người đăng ký"), want["registered"]);
        assert_eq!(value("Bản đã gửi"), want["submitted"]);
        assert_eq!(value("Đã duyệt"), want["approved"]);
        assert_eq!(value("Bị trả lại"), want["returned"]);
        assert_eq!(value("Được công nhận"), want["recognised"]);
        assert_eq!(value("Đạt (điểm máy chủ)"), want["passed"]);
        // The indicators' sheet names each indicator, as the JSON does.
        let json: Value = officer
            .get_json(&format!("/api/v1/units/{unit}/report?year=2025"))
            .await
            .unwrap();
        let indicators = csv_section(&text, "Theo chỉ số");
        assert_eq!(indicators[0][..2], ["Chỉ số", "Tên chỉ số"]);
        for (row, ind) in indicators[1..]
            .iter()
            .zip(json["indicators"].as_array().unwrap())
        {
            assert_eq!(row[0], ind["id"].as_str().unwrap());
            assert_eq!(row[1], ind["title"]["vi"].as_str().unwrap());
        }
        assert_eq!(indicators.len(), 11, "{unit}");

        // XLSX: the summary sheet's numbers are numbers, equal to the counts.
        let response = get(
            officer,
            &server,
            &format!("/api/v1/units/{unit}/report.xlsx?year=2025"),
        )
        .await;
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let bytes = response.bytes().await.unwrap();
        let (sheet, strings) = xlsx_sheet(&bytes, 1);
        assert!(strings.contains("Người đăng ký") && strings.contains("Được công nhận"));
        for (row, k) in [
            (4, "registered"),
            (5, "submitted"),
            (6, "approved"),
            (7, "returned"),
            (8, "recognised"),
            (9, "passed"),
        ] {
            assert_eq!(
                xlsx_number(&sheet, &format!("B{row}")),
                want[k] as f64,
                "{unit} {k}"
            );
        }
    }

    // Indicators over what was sent in, against SQLite's own reading of the answers.
    let report: Value = viewer
        .get_json("/api/v1/units/DEMO-T/report?year=2025")
        .await
        .unwrap();
    let db = rusqlite::Connection::open(server.state.config.data_dir.join("cdht.sqlite3")).unwrap();
    let (mean, below): (f64, f64) = db
        .query_row(
            "SELECT AVG(json_extract(answers, '$.\"2.1\"')),
                    AVG(json_extract(answers, '$.\"2.1\"') < 5)
             FROM assessments WHERE year = 2025 AND state <> 'draft'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let ind = report["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "2.1")
        .unwrap();
    assert!((ind["mean_points"].as_f64().unwrap() - mean).abs() < 1e-9);
    // Titled from the catalog, in both languages (not just the id).
    assert!(
        ind["title"]["vi"]
            .as_str()
            .unwrap()
            .contains("công nghệ thông tin")
            || ind["title"]["vi"].as_str().unwrap().contains("máy tính"),
        "{ind}"
    );
    assert!(!ind["title"]["en"].as_str().unwrap().is_empty(), "{ind}");
    assert!((ind["below_min_share"].as_f64().unwrap() - below).abs() < 1e-9);
    let means: Vec<f64> = report["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["mean_points"].as_f64().unwrap())
        .collect();
    assert_eq!(means.len(), 10);
    assert!(
        means.windows(2).all(|w| w[0] <= w[1]),
        "weakest first: {means:?}"
    );
    // Decision 677: title holders with 2.1 at 5 or more (every recognised one passed).
    assert_eq!(report["progress"]["title_holders"], report["recognised"]);
    assert_eq!(report["progress"]["digital_skills"], report["recognised"]);
    assert_eq!(report["progress"]["adults_recognised_target"], 0.6);
    // Households: three people each, recognised adults over adults.
    let homes: i64 = db
        .query_row(
            "SELECT COUNT(DISTINCT unit || '|' || address) FROM persons
             WHERE birth_year IS NULL OR birth_year <= 2007",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        report["households"]["households"], homes,
        "{}",
        report["households"]
    );
    let units = report["units"].as_array().unwrap();
    let x1 = units.iter().find(|u| u["unit"] == "DEMO-X1-C1").unwrap();
    let adults: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM persons WHERE unit = 'DEMO-X1-C1' AND birth_year <= 2007",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(x1["adults"], adults);

    // The decision's list: every person it recognised in X1, and nobody of X2.
    let recognised_x1 = direct_counts(&server, &["DEMO-X1-C1", "DEMO-X1-C2"])["recognised"];
    let list = get(
        &c1,
        &server,
        "/api/v1/units/DEMO-X1/recognition-list.xlsx?decision_no=15%2FQ%C4%90-KH",
    )
    .await;
    assert_eq!(list.status(), 200);
    let bytes = list.bytes().await.unwrap();
    let (sheet, strings) = xlsx_sheet(&bytes, 1);
    assert!(strings.contains("Họ và tên"));
    let last_row = recognised_x1 + 1;
    assert_eq!(
        xlsx_number(&sheet, &format!("A{last_row}")),
        recognised_x1 as f64
    );
    assert!(!sheet.contains(&format!("<c r=\"A{}\"", last_row + 1)));
    assert!(
        !strings.contains("DEMO-X2"),
        "X2's people are not on X1's list"
    );
    let pdf = get(
        &c1,
        &server,
        "/api/v1/units/DEMO-X1/recognition-list.pdf?decision_no=15%2FQ%C4%90-KH",
    )
    .await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-") && pdf.len() > 2000);
}

#[tokio::test]
async fn certificates_verify_by_an_unguessable_token_and_show_only_initials() {
    let server = start().await;
    let (reviewer, recogniser) = (
        server.officer("kiemtra-x1").await,
        server.officer("congnhan-x1").await,
    );
    let phone = server.device("DEMO-X1-C1").await;
    let (_, aid) =
        push_person_with_assessment(&phone, 1, "Đặng Thị Ánh", None, DeviceState::Submitted).await;
    let (_, pending) =
        push_person_with_assessment(&phone, 2, "Lê Văn Bình", None, DeviceState::Submitted).await;
    reviewer
        .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/approve"), &json!({}))
        .await
        .unwrap();
    recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/recognitions",
            &json!({"decision_no": "07/QĐ-KH", "decision_date": "2025-11-20", "assessments": [aid]}),
        )
        .await
        .unwrap();

    // Not recognised: no certificate.
    let r = get(
        &reviewer,
        &server,
        &format!("/api/v1/assessments/{pending}/certificate.pdf"),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_recognised");

    let r = get(
        &reviewer,
        &server,
        &format!("/api/v1/assessments/{aid}/certificate.pdf"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let raw = String::from_utf8_lossy(&pdf);
    assert!(
        raw.contains("/FontFile2") && raw.contains("DejaVuSans"),
        "an embedded font"
    );
    assert!(
        pdf.len() < 150_000,
        "a subset, not the 760 kB font: {}",
        pdf.len()
    );

    // The token: random (64 hex digits), kept, never the assessment id.
    let db = rusqlite::Connection::open(server.state.config.data_dir.join("cdht.sqlite3")).unwrap();
    let token: String = db
        .query_row(
            "SELECT token FROM certificates WHERE assessment = ?1",
            [aid.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(token.len(), 64);
    assert!(!token.contains(&aid.to_string().replace('-', "")));
    let again = get(
        &recogniser,
        &server,
        &format!("/api/v1/assessments/{aid}/certificate.pdf"),
    )
    .await;
    assert_eq!(again.status(), 200);
    let tokens: i64 = db
        .query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 1, "the same certificate keeps its token");

    // The public page: no login; initials, birth year, unit, year, decision.
    let page = reqwest::get(format!("{}/v/{token}", server.url))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Giấy chứng nhận hợp lệ"), "{html}");
    assert!(html.contains("Đ. T. Á."), "{html}");
    assert!(html.contains("1960") && html.contains("2025"));
    assert!(html.contains("07/QĐ-KH") && html.contains("20/11/2025"));
    assert!(!html.contains("Đặng Thị Ánh"), "never the full name");
    assert!(!html.contains(&aid.to_string()), "never the assessment id");
    assert!(!html.contains("Thôn Đông"), "never the address");

    // Forged, unknown, the assessment id: a Vietnamese 404 page saying so.
    let mut forged = token.clone();
    forged.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
    for bad in [forged, "0".repeat(64), aid.to_string(), "x".into()] {
        let page = reqwest::get(format!("{}/v/{bad}", server.url))
            .await
            .unwrap();
        assert_eq!(page.status(), 404, "{bad}");
        let html = page.text().await.unwrap();
        assert!(html.contains("Không tìm thấy giấy chứng nhận"), "{html}");
        assert!(!html.contains("Đ. T. Á."));
    }
}

#[tokio::test]
async fn review_queue_pages_newest_first_with_filters() {
    let server = start().await;
    let reviewer = server.officer("kiemtra-x1").await;
    let phone = server.device("DEMO-X1-C2").await;
    let pushed = push_people(&phone, "DEMO-X1-C2", 45).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = reviewer
            .get_json(&format!(
                "/api/v1/units/DEMO-X1/review-queue?year=2025&limit=7{cursor}"
            ))
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={}", urlencode(next)),
            None => break,
        }
    }
    let submitted = pushed.iter().filter(|(i, _)| !i.is_multiple_of(10)).count();
    assert_eq!(seen.len(), submitted, "every submitted one once, no drafts");
    let keys: Vec<(String, String)> = seen
        .iter()
        .map(|i| {
            (
                i["updated_at"].as_str().unwrap().to_owned(),
                i["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(keys, sorted, "newest first");
    assert!(seen
        .iter()
        .all(|i| i["state"] == "submitted" && i["unit"] == "DEMO-X1-C2"));

    let failing: Value = reviewer
        .get_json(
            "/api/v1/units/DEMO-X1/review-queue?year=2025&passed=false&group=farmers&limit=200",
        )
        .await
        .unwrap();
    let want = pushed
        .iter()
        .filter(|(i, _)| !i.is_multiple_of(10) && i.is_multiple_of(4) && i.is_multiple_of(3))
        .count();
    assert_eq!(failing["items"].as_array().unwrap().len(), want);
    let drafts: Value = reviewer
        .get_json("/api/v1/units/DEMO-X1/review-queue?year=2025&state=draft&duplicate=false")
        .await
        .unwrap();
    assert_eq!(drafts["items"].as_array().unwrap().len(), 5);

    for bad in ["state=gone", "cursor=nope", "year=1999", "passed=maybe"] {
        let r = get(
            &reviewer,
            &server,
            &format!("/api/v1/units/DEMO-X1/review-queue?year=2025&{bad}"),
        )
        .await;
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad_query");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_new_route_refuses_what_lies_outside_the_officers_subtrees() {
    let server = start().await;
    let (reviewer, recogniser) = (
        server.officer("kiemtra-x1").await,
        server.officer("congnhan-x1").await,
    );
    let phone = server.device("DEMO-X1-C1").await;
    let (_, aid) =
        push_person_with_assessment(&phone, 1, "Trần Văn Cường", None, DeviceState::Submitted)
            .await;
    reviewer
        .post_json::<_, Value>(&format!("/api/v1/assessments/{aid}/approve"), &json!({}))
        .await
        .unwrap();
    recogniser
        .post_json::<_, Value>(
            "/api/v1/units/DEMO-X1/recognitions",
            &json!({"decision_no": "01/QĐ", "decision_date": "2025-12-01", "assessments": [aid]}),
        )
        .await
        .unwrap();
    // Officers of the other commune, and a collector of a branch.
    let outsiders = [
        server.officer("kiemtra-x2").await,
        server.officer("congnhan-x2").await,
    ];
    let collector = server.officer("nhaplieu-x1-c1").await;
    let routes = [
        "/api/v1/units/DEMO-X1/report?year=2025".to_owned(),
        "/api/v1/units/DEMO-X1/report.xlsx?year=2025".to_owned(),
        "/api/v1/units/DEMO-X1/report.csv?year=2025".to_owned(),
        "/api/v1/units/DEMO-X1/review-queue?year=2025".to_owned(),
        "/api/v1/units/DEMO-X1/recognition-list.xlsx?decision_no=01/QĐ".to_owned(),
        "/api/v1/units/DEMO-X1/recognition-list.pdf?decision_no=01/QĐ".to_owned(),
        "/api/v1/units/DEMO-T/report?year=2025".to_owned(),
        "/api/v1/units/NO-SUCH/report?year=2025".to_owned(),
        format!("/api/v1/assessments/{aid}/certificate.pdf"),
        format!(
            "/api/v1/assessments/{}/certificate.pdf",
            AssessmentId::new_v7()
        ),
    ];
    for path in &routes {
        for officer in &outsiders {
            let r = get(officer, &server, path).await;
            assert_eq!(r.status(), 403, "{path}");
            assert_eq!(
                r.json::<Value>().await.unwrap()["code"],
                "out_of_scope",
                "{path}"
            );
        }
        // A branch collector reaches neither its commune nor the province.
        if !path.contains("/assessments/") {
            let r = get(&collector, &server, path).await;
            assert_eq!(r.status(), 403, "collector {path}");
        }
        // No token; a device's token.
        let r = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let r = get(&phone, &server, path).await;
        assert_eq!(r.status(), 403, "device {path}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "forbidden_role");
    }
    // The collector of the branch does reach its own branch's report, and the
    // certificate of its own branch's person.
    let mine: Value = collector
        .get_json("/api/v1/units/DEMO-X1-C1/report?year=2025")
        .await
        .unwrap();
    assert_eq!(mine["recognised"], 1);
    let r = get(
        &collector,
        &server,
        &format!("/api/v1/assessments/{aid}/certificate.pdf"),
    )
    .await;
    assert_eq!(r.status(), 200);
    // Nothing of X1 leaks into X2's own report.
    let theirs: Value = outsiders[0]
        .get_json("/api/v1/units/DEMO-X2/report?year=2025")
        .await
        .unwrap();
    assert_eq!(theirs["registered"], 0);
    assert_eq!(theirs["recognised"], 0);
    let queue: Value = outsiders[0]
        .get_json("/api/v1/units/DEMO-X2/review-queue?year=2025&state=recognised")
        .await
        .unwrap();
    assert!(queue["items"].as_array().unwrap().is_empty());
    // A bad year is a clear 400.
    let r = get(&reviewer, &server, "/api/v1/units/DEMO-X1/report?year=1990").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad_query");
}
