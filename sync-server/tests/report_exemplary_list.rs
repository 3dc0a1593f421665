#![allow(clippy::unwrap_used)]
//! A province can hold tens of thousands of people eligible for the
//! exemplary title: the JSON report (what a page on a slow office link
//! reads) lists the first 500 by unit and counts them all; the CSV export
//! lists every one.

mod support;

use rusqlite::params;
use serde_json::Value;
use support::*;

const YEAR: i64 = 2025;
const ELIGIBLE: usize = 510;

/// `ELIGIBLE` people of DEMO-X1-C1, each recognised in each of the five
/// years ending with YEAR, written straight into the server's file.
fn write_eligible(server: &TestServer) {
    let path = server.state.config.data_dir.join("cdht.sqlite3");
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let tx = conn.transaction().unwrap();
    let now = "2025-11-01T00:00:00.000Z";
    for i in 0..ELIGIBLE {
        let pid = format!("00000000-0000-4000-8000-{i:012}");
        tx.execute(
            "INSERT INTO persons (id, unit, device_id, version, hash, full_name, birth_year,
                cccd_hmac, phone, address, updated_at)
             VALUES (?1, 'DEMO-X1-C1', 'test-device', 1, X'00', ?2, 1970, NULL, NULL, ?3, ?4)",
            params![pid, format!("Lê Thị {i}"), format!("Hộ {i}"), now],
        )
        .unwrap();
        for year in YEAR - 4..=YEAR {
            tx.execute(
                "INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp,
                    answers, version, hash, state, total, passed, threshold, updated_at, points)
                 VALUES (?1, 'DEMO-X1-C1', 'test-device', ?2, ?3, '244-2022', 'farmers', '{}',
                    1, X'00', 'recognised', 90, 1, 80, ?4, ?5)",
                params![
                    format!("{pid}-{year}"),
                    pid,
                    year,
                    now,
                    "1.1:9,1.2:9,1.3:9,1.4:9,2.1:9,2.2:9,2.3:9,2.4:9,3.1:9,3.2:9"
                ],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

#[tokio::test]
async fn the_json_report_lists_500_eligible_people_and_counts_all_the_csv_lists_all() {
    let server = start().await;
    write_eligible(&server);
    let officer = server.officer("admin-tinh").await;
    let get = |path: String| {
        let token = officer.token().unwrap().to_owned();
        let url = server.url.clone();
        async move {
            let r = reqwest::Client::new()
                .get(format!("{url}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };

    let report: Value =
        serde_json::from_str(&get(format!("/api/v1/units/DEMO-X1/report?year={YEAR}")).await)
            .unwrap();
    let exemplary = &report["exemplary"];
    assert_eq!(exemplary["eligible"], ELIGIBLE as u64);
    let listed = exemplary["persons"].as_array().unwrap();
    assert_eq!(listed.len(), 500);
    // The first 500 by unit, then id, each with the name looked up.
    let ids: Vec<&str> = listed
        .iter()
        .map(|p| p["person"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert_eq!(ids[0], "00000000-0000-4000-8000-000000000000");
    assert_eq!(listed[499]["person_name"], "Lê Thị 499");

    let csv = get(format!("/api/v1/units/DEMO-X1/report.csv?year={YEAR}")).await;
    for i in [0, 499, 500, ELIGIBLE - 1] {
        assert!(
            csv.contains(&format!("00000000-0000-4000-8000-{i:012}"))
                || csv.contains(&format!("Lê Thị {i},")),
            "the CSV lists eligible person {i}"
        );
    }
}
