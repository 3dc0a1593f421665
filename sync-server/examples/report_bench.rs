//! Issue 13's benchmark: a unit's yearly report over a province of 500,000
//! assessments, and review-queue pages, through the real server on
//! 127.0.0.1 (HTTP, JSON, an officer's token). Figures go to BENCHMARKS.md
//! ("Reports and the review queue").
//!
//! ```sh
//! cargo run --release -p cdht-server --example report_bench            # 500,000
//! cargo run --release -p cdht-server --example report_bench -- 50000   # fewer
//! ```
//!
//! The province (60 communes of 45 branches, under the demo tree's DEMO-T so
//! its admin can read it) is written straight into the server's SQLite file
//! with the rows a push writes (points kept, as since migration 0009): pushing
//! half a million records through HTTP would take the benchmark's time
//! without measuring anything it is about.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use cdht_sync_client::SyncClient;
use cdht_test_support::server::start;
use rusqlite::params;
use serde_json::Value;
use std::time::{Duration, Instant};

const COMMUNES: usize = 60;
const BRANCHES: usize = 45;
const YEAR: u16 = 2025;
const ROUNDS: usize = 7;
const INDICATORS: [&str; 10] = [
    "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
];
const GROUPS: [&str; 3] = ["farmers", "workers", "officials"];
/// Of 20: 1 draft, 4 submitted, 1 returned, 6 approved, 8 recognised.
const STATES: [&str; 20] = [
    "draft",
    "submitted",
    "submitted",
    "submitted",
    "submitted",
    "returned",
    "approved",
    "approved",
    "approved",
    "approved",
    "approved",
    "approved",
    "recognised",
    "recognised",
    "recognised",
    "recognised",
    "recognised",
    "recognised",
    "recognised",
    "recognised",
];

/// A small deterministic generator (xorshift), so every run has the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn uuid(rng: &mut Rng) -> String {
    let hi = rng.next();
    let lo = rng.next();
    uuid::Uuid::from_u64_pair(hi, lo).to_string()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500_000);
    let server = start().await;
    let db_path = server.state.config.data_dir.join("cdht.sqlite3");
    let started = Instant::now();
    let branches = generate(&db_path, n);
    println!(
        "generated {n} assessments (and earlier years' recognitions of one in twenty people) \
         in {} branches in {:.1} s",
        branches.len(),
        started.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(db_path.with_extension("sqlite3-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!("database: {:.0} MB", size as f64 / 1e6);

    let admin = server.officer("admin-tinh").await;
    let url = server.url.clone();
    let get = |path: String| {
        let admin = &admin;
        let url = url.clone();
        async move { fetch(admin, &url, &path).await }
    };

    // Warm the page cache once, as a serving server's would be.
    let warm = get(format!("/api/v1/units/BENCH/report?year={YEAR}")).await;
    let report: Value = serde_json::from_slice(&warm.1).unwrap();
    assert_eq!(report["submitted"].as_u64().unwrap() as usize, n - n / 20);
    println!(
        "province report: registered {}, submitted {}, recognised {}, {} KB of JSON",
        report["registered"],
        report["submitted"],
        report["recognised"],
        warm.1.len() / 1024
    );

    let province = time(ROUNDS, || {
        get(format!("/api/v1/units/BENCH/report?year={YEAR}"))
    })
    .await;
    let commune = time(ROUNDS, || {
        get(format!("/api/v1/units/BENCH-X7/report?year={YEAR}"))
    })
    .await;
    let xlsx = time(3, || {
        get(format!("/api/v1/units/BENCH-X7/report.xlsx?year={YEAR}"))
    })
    .await;

    // The queue: a commune's first page, and a page deep into it.
    let first_path = format!("/api/v1/units/BENCH-X7/review-queue?year={YEAR}&limit=50");
    let queue_first = time(ROUNDS * 3, || get(first_path.clone())).await;
    let mut cursor = String::new();
    for _ in 0..20 {
        let page: Value = serde_json::from_slice(
            &get(format!("{first_path}&cursor={}", encode(&cursor)))
                .await
                .1,
        )
        .unwrap();
        cursor = page["next"].as_str().unwrap_or_default().to_owned();
    }
    let deep_path = format!("{first_path}&cursor={}", encode(&cursor));
    let queue_deep = time(ROUNDS * 3, || get(deep_path.clone())).await;
    let filtered_path = format!(
        "/api/v1/units/BENCH-X7/review-queue?year={YEAR}&limit=50&group=workers&passed=false"
    );
    let queue_filtered = time(ROUNDS * 3, || get(filtered_path.clone())).await;
    let province_queue_path =
        format!("/api/v1/units/BENCH/review-queue?year={YEAR}&limit=50&state=approved");
    let queue_province = time(ROUNDS * 3, || get(province_queue_path.clone())).await;

    // The reference, interleaved with the province report so both see the
    // same machine: the two scans a report reads (every column of its rows),
    // stepped by SQLite through rusqlite with nothing done per row.
    let mut interleaved = Vec::new();
    let mut reference = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        get(format!("/api/v1/units/BENCH/report?year={YEAR}")).await;
        interleaved.push(t.elapsed());
        reference.push(bare_scans(&db_path));
    }
    interleaved.sort();
    reference.sort();
    let ratio = interleaved[ROUNDS / 2].as_secs_f64() / reference[ROUNDS / 2].as_secs_f64();

    println!();
    println!(
        "province report {} (median) against the bare scans of its rows {}: {ratio:.2}x",
        ms(interleaved[ROUNDS / 2]),
        ms(reference[ROUNDS / 2])
    );
    println!();
    println!("| what | median | min | max |");
    println!("|---|---:|---:|---:|");
    for (what, t) in [
        ("report, province (JSON)", &province),
        ("report, one commune (JSON)", &commune),
        ("report.xlsx, one commune", &xlsx),
        ("review queue, commune, first page (50)", &queue_first),
        ("review queue, commune, page 21", &queue_deep),
        ("review queue, commune, group + failed", &queue_filtered),
        ("review queue, province, approved", &queue_province),
    ] {
        println!(
            "| {what} | {} | {} | {} |",
            ms(t[t.len() / 2]),
            ms(t[0]),
            ms(t[t.len() - 1])
        );
    }
}

/// Reads every row and column of the province's assessments of YEAR and of
/// its people, as the report's two scans do, and nothing else.
fn bare_scans(path: &std::path::Path) -> Duration {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA mmap_size = 1073741824;")
        .unwrap();
    let t = Instant::now();
    let sub = "WITH RECURSIVE sub(code) AS (SELECT 'BENCH' UNION ALL \
               SELECT u.code FROM units u JOIN sub ON u.parent = sub.code)";
    for sql in [
        format!(
            "{sub} SELECT unit, grp, state, passed, person, catalog, points, rowid
             FROM assessments INDEXED BY assessments_report
             WHERE year = {YEAR} AND unit IN (SELECT code FROM sub)"
        ),
        format!(
            "{sub} SELECT id, unit, birth_year, address FROM persons INDEXED BY persons_report
             WHERE unit IN (SELECT code FROM sub)"
        ),
    ] {
        let mut stmt = conn.prepare(&sql).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        let mut bytes = 0usize;
        while let Some(r) = rows.next().unwrap() {
            for i in 0..columns {
                bytes += match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => t.len(),
                    _ => 1,
                };
            }
        }
        assert!(bytes > 0);
    }
    t.elapsed()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn encode(s: &str) -> String {
    s.replace(':', "%3A")
        .replace('|', "%7C")
        .replace('+', "%2B")
}

async fn fetch(officer: &SyncClient, url: &str, path: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(format!("{url}{path}"))
        .bearer_auth(officer.token().unwrap())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap().to_vec();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    (status, body)
}

/// Wall times of `rounds` calls, sorted.
async fn time<F, Fut>(rounds: usize, mut call: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (u16, Vec<u8>)>,
{
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        call().await;
        out.push(t.elapsed());
    }
    out.sort();
    out
}

/// Writes the province BENCH under DEMO-T and `n` people with one
/// assessment of YEAR each (and, for one in twenty, recognised assessments
/// of the four years before). Returns the branch codes.
fn generate(path: &std::path::Path, n: usize) -> Vec<String> {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")
        .unwrap();
    let tx = conn.transaction().unwrap();
    let now = "2025-11-01T00:00:00.000Z";
    let mut branches = Vec::new();
    {
        let mut unit = tx
            .prepare(
                "INSERT INTO units (code, name, kind, parent, area, join_key, updated_at)
                 VALUES (?1, ?2, ?3, ?4, NULL, 'KEY', ?5)",
            )
            .unwrap();
        unit.execute(params![
            "BENCH",
            "Tỉnh Hải Dương (thử)",
            "province",
            "DEMO-T",
            now
        ])
        .unwrap();
        for c in 0..COMMUNES {
            let commune = format!("BENCH-X{c}");
            unit.execute(params![
                commune,
                format!("Xã số {c}"),
                "commune",
                "BENCH",
                now
            ])
            .unwrap();
            for b in 0..BRANCHES {
                let branch = format!("{commune}-C{b}");
                unit.execute(params![
                    branch,
                    format!("Chi hội thôn {b}"),
                    "branch",
                    commune,
                    now
                ])
                .unwrap();
                branches.push(branch);
            }
        }
    }
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    {
        let mut person = tx
            .prepare(
                "INSERT INTO persons (id, unit, device_id, version, hash, full_name, birth_year,
                    cccd_hmac, phone, address, updated_at)
                 VALUES (?1, ?2, 'bench-device', 1, X'00', ?3, ?4, NULL, NULL, ?5, ?6)",
            )
            .unwrap();
        let mut assessment = tx
            .prepare(
                "INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp,
                    answers, version, hash, state, total, passed, threshold, updated_at, points)
                 VALUES (?1, ?2, 'bench-device', ?3, ?4, '244-2022', ?5, ?6, 1, X'00', ?7, ?8,
                    ?9, 80, ?10, ?11)",
            )
            .unwrap();
        for i in 0..n {
            let unit = &branches[i % branches.len()];
            let pid = uuid(&mut rng);
            person
                .execute(params![
                    pid,
                    unit,
                    format!("Nguyễn Văn {i}"),
                    1940 + rng.below(72) as i64,
                    format!("Hộ {} thôn {}", i / branches.len() / 4, unit),
                    now
                ])
                .unwrap();
            // About six in ten pass, as in the provinces' published figures.
            let mut points = [0u8; 10];
            for p in &mut points {
                *p = [10, 10, 9, 9, 8, 8, 8, 7, 7, 6][rng.below(10) as usize];
            }
            if rng.below(8) == 0 {
                points[rng.below(10) as usize] = 3;
            }
            let total: u32 = points.iter().map(|p| u32::from(*p)).sum();
            let passed = total >= 80 && points.iter().all(|p| *p >= 5);
            let mut state = STATES[i % STATES.len()];
            if !passed && matches!(state, "approved" | "recognised") {
                state = "submitted";
            }
            let answers = format!(
                "{{{}}}",
                INDICATORS
                    .iter()
                    .zip(points)
                    .map(|(id, p)| format!("\"{id}\":{p}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let points_text = INDICATORS
                .iter()
                .zip(points)
                .map(|(id, p)| format!("{id}:{p}"))
                .collect::<Vec<_>>()
                .join(",");
            // Minutes apart over the year, as pushes arrive.
            let at = chrono::DateTime::from_timestamp(1_735_689_600 + i as i64 * 60, 0)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assessment
                .execute(params![
                    uuid(&mut rng),
                    unit,
                    pid,
                    YEAR,
                    GROUPS[i % 3],
                    answers,
                    state,
                    total,
                    passed,
                    at,
                    points_text
                ])
                .unwrap();
            // One in twenty was recognised in each of the four years before.
            if i % 20 == 12 {
                for y in YEAR - 4..YEAR {
                    assessment
                        .execute(params![
                            uuid(&mut rng),
                            unit,
                            pid,
                            y,
                            GROUPS[i % 3],
                            answers,
                            "recognised",
                            total,
                            passed,
                            at,
                            points_text
                        ])
                        .unwrap();
                }
            }
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    branches
}
