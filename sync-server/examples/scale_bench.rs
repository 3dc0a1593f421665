//! Issue 15's figures: the server's ingest (assessments per second, batches
//! of 200 records) with 1 and with 2 `cdht-server serve` instances on one
//! database, each against a plain batched insert of the same rows into the
//! same database, measured in the same run; and the pull of 10,000 changes
//! by a collector's device, against a plain read of the same rows.
//! Figures go to BENCHMARKS.md ("Several instances").
//!
//! ```sh
//! cargo build --release -p cdht-server
//! cargo run --release -p cdht-server --example scale_bench            # 20,000 pairs
//! cargo run --release -p cdht-server --example scale_bench -- 1000    # fewer
//! ```
//!
//! A pair is a person and their assessment (two records). The release
//! `cdht-server` binary next to this example's folder is what runs.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use cdht_core::ids::{AssessmentId, DeviceId, UnitCode};
use cdht_core::qr::JoinPayload;
use cdht_core::sync::{DeviceState, PushBatch};
use cdht_sync_client::SyncClient;
use cdht_test_support::records::{assessment, batch, person, v1};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Records per push, as the app sends them (100 pairs).
const BATCH: usize = 200;
/// Phones pushing at once, spread over the instances.
const PHONES: usize = 4;
const UNIT: &str = "DEMO-X1-C1";
/// The ingest and the plain insert are measured in turns, a slice each.
const ROUNDS: usize = 5;
/// Changes the collector's device pulls (and rows the plain read reads).
const PULLED: usize = 10_000;
const POINTS: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];

/// The database the instances share.
#[derive(Debug, Clone)]
enum Db {
    /// The SQLite file in the data directory (both instances open it).
    Sqlite,
    /// A fresh database of a PostgreSQL cluster (`CDHT_TEST_PG_URL`, which
    /// `scripts/bench.sh` starts with durable settings; else a private one).
    Postgres(String),
}

impl Db {
    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }
    /// The flags that choose it, given to every command.
    fn flags(&self) -> Vec<String> {
        match self {
            Db::Sqlite => Vec::new(),
            Db::Postgres(url) => vec!["--database".into(), url.clone()],
        }
    }
}

fn server_binary() -> PathBuf {
    // target/release/examples/scale_bench → target/release/cdht-server
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("cdht-server");
    assert!(
        bin.is_file(),
        "{} is missing: cargo build --release -p cdht-server",
        bin.display()
    );
    bin
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(data: &Path, db: &Db) -> (Serve, String) {
    let port = free_port();
    let mut child = Command::new(server_binary())
        .args(db.flags())
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("CDHT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("serve ended before listening").unwrap();
        if line.starts_with("cdht-server listening on ") {
            break;
        }
    }
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    (Serve(child), format!("http://127.0.0.1:{port}"))
}

/// `init --demo`: the demo tree (join keys, officers).
fn init(data: &Path, db: &Db) -> serde_json::Value {
    let out = Command::new(server_binary())
        .args(db.flags())
        .args(["init", "--demo", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn join_key(tree: &serde_json::Value) -> String {
    tree["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == UNIT)
        .unwrap()["join_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn enrol(url: &str, key: &str) -> SyncClient {
    let mut client = SyncClient::new(url, &[]).unwrap();
    client
        .enrol(
            &JoinPayload {
                server: url.to_owned(),
                unit: UnitCode::new(UNIT),
                join_key: key.to_owned(),
            },
            DeviceId::new_v7(),
            Some("bench"),
        )
        .await
        .unwrap();
    client
}

/// Each phone's batches: `pairs` split over [`PHONES`], 100 pairs a batch.
fn batches(pairs: usize) -> Vec<Vec<PushBatch>> {
    let per_phone = pairs.div_ceil(PHONES);
    (0..PHONES)
        .map(|p| {
            (0..per_phone.div_ceil(BATCH / 2))
                .map(|b| {
                    let records = (0..BATCH / 2)
                        .take(per_phone - b * BATCH / 2)
                        .flat_map(|i| {
                            let (pid, body) = person(&format!("Nguyễn Văn {p}-{b}-{i}"), None);
                            let a = assessment(
                                AssessmentId::new_v7(),
                                pid,
                                DeviceState::Submitted,
                                POINTS,
                            );
                            [v1(body), v1(a)]
                        })
                        .collect();
                    batch(b as u64 + 1, records)
                })
                .collect()
        })
        .collect()
}

/// The reference's rows: each record's id and JSON, by batch.
fn rows_of(batches: &[Vec<PushBatch>]) -> Vec<Vec<(String, String)>> {
    batches
        .iter()
        .flatten()
        .map(|b| {
            b.records
                .iter()
                .map(|r| (r.body.id().to_string(), serde_json::to_string(r).unwrap()))
                .collect()
        })
        .collect()
}

/// The reference: a plain table in the same database, rows inserted one
/// transaction per batch, and read back whole.
enum Plain {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Plain {
    fn open(data: &Path, db: &Db) -> Self {
        match db {
            Db::Sqlite => {
                let conn = rusqlite::Connection::open(data.join("plain.sqlite3")).unwrap();
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                     CREATE TABLE records (id TEXT PRIMARY KEY, body TEXT NOT NULL);",
                )
                .unwrap();
                Plain::Sqlite(conn)
            }
            Db::Postgres(url) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                client
                    .batch_execute(
                        "CREATE TABLE plain_records (id text PRIMARY KEY, body text NOT NULL)",
                    )
                    .unwrap();
                Plain::Postgres(client)
            }
        }
    }

    fn insert(&mut self, batches: &[Vec<(String, String)>]) -> Duration {
        let started = Instant::now();
        match self {
            Plain::Sqlite(conn) => {
                for batch in batches {
                    let tx = conn.transaction().unwrap();
                    {
                        let mut insert = tx
                            .prepare_cached("INSERT INTO records (id, body) VALUES (?1, ?2)")
                            .unwrap();
                        for (id, body) in batch {
                            insert.execute([id, body]).unwrap();
                        }
                    }
                    tx.commit().unwrap();
                }
            }
            Plain::Postgres(client) => {
                let insert = client
                    .prepare("INSERT INTO plain_records (id, body) VALUES ($1, $2)")
                    .unwrap();
                for batch in batches {
                    let mut tx = client.transaction().unwrap();
                    for (id, body) in batch {
                        tx.execute(&insert, &[id, body]).unwrap();
                    }
                    tx.commit().unwrap();
                }
            }
        }
        started.elapsed()
    }

    /// Reads the first `n` rows back, in key order: the time, and how many.
    fn read(&mut self, n: usize) -> (Duration, usize) {
        let started = Instant::now();
        let (rows, bytes) = match self {
            Plain::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare("SELECT id, body FROM records ORDER BY id LIMIT ?1")
                    .unwrap();
                let lens: Vec<usize> = stmt
                    .query_map([n as i64], |r| Ok(r.get::<_, String>(1)?.len()))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                (lens.len(), lens.iter().sum::<usize>())
            }
            Plain::Postgres(client) => {
                let got = client
                    .query(
                        "SELECT id, body FROM plain_records ORDER BY id LIMIT $1",
                        &[&(n as i64)],
                    )
                    .unwrap();
                let bytes = got.iter().map(|r| r.get::<_, &str>(1).len()).sum::<usize>();
                (got.len(), bytes)
            }
        };
        std::hint::black_box(bytes);
        (started.elapsed(), rows)
    }
}

/// The database's size on disk: SQLite's file and its write-ahead log, or
/// PostgreSQL's database (tables, indexes and TOAST).
fn db_size(data: &Path, db: &Db) -> u64 {
    match db {
        Db::Sqlite => {
            // Folded first: the log's pages are copies, not growth.
            let conn = rusqlite::Connection::open(data.join("cdht.sqlite3")).unwrap();
            conn.busy_timeout(Duration::from_secs(30)).unwrap();
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
            std::fs::metadata(data.join("cdht.sqlite3")).map_or(0, |m| m.len())
        }
        Db::Postgres(url) => {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let size: i64 = client
                    .query_one("SELECT pg_database_size(current_database())", &[])
                    .unwrap()
                    .get(0);
                u64::try_from(size).unwrap_or(0)
            })
            .join()
            .unwrap()
        }
    }
}

struct Figures {
    db: &'static str,
    /// Bytes the database grew by during the ingest, per assessment (with
    /// its person).
    bytes_per_pair: f64,
    instances: usize,
    /// Assessments a second, each round's, and the rounds' ratios.
    ingest_rates: Vec<f64>,
    plain_rates: Vec<f64>,
    ratios: Vec<f64>,
    /// The collector's whole pull and the plain read, each round's.
    pulls: Vec<Duration>,
    reads: Vec<Duration>,
    pulled: usize,
}

async fn run(db: Db, instances: usize, pairs: usize) -> Figures {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let tree = init(&data, &db);
    let key = join_key(&tree);
    let servers: Vec<(Serve, String)> = (0..instances).map(|_| serve(&data, &db)).collect();
    let mut phones = Vec::new();
    for p in 0..PHONES {
        phones.push(enrol(&servers[p % instances].1, &key).await);
    }
    let work = batches(pairs);
    let rows = rows_of(&work);
    let per_phone = work[0].len();
    let slice = per_phone.div_ceil(ROUNDS);
    // Each round: a slice of every phone's batches against the same rows in
    // the plain table, in turns (who goes first alternates), so both see
    // the same machine load; the ratio is the median of the rounds'.
    let mut plain = tokio::task::block_in_place(|| Plain::open(&data, &db));
    let size_before = tokio::task::block_in_place(|| db_size(&data, &db));
    let (mut ingest_rates, mut plain_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let range = (round * slice).min(per_phone)..((round + 1) * slice).min(per_phone);
        if range.is_empty() {
            break;
        }
        let pairs_now: usize = work
            .iter()
            .flat_map(|w| &w[range.clone()])
            .map(|b| b.records.len() / 2)
            .sum();
        let plain_rows: Vec<Vec<(String, String)>> = (0..PHONES)
            .flat_map(|p| rows[p * per_phone..(p + 1) * per_phone][range.clone()].to_vec())
            .collect();
        let mut plain_took = Duration::ZERO;
        if round % 2 == 0 {
            plain_took = tokio::task::block_in_place(|| plain.insert(&plain_rows));
        }
        let started = Instant::now();
        let pushes = phones.iter().zip(&work).map(|(phone, batches)| {
            let range = range.clone();
            async move {
                for b in &batches[range] {
                    let answer = phone.push(b).await.unwrap();
                    assert!(
                        answer
                            .acks
                            .iter()
                            .all(|a| a.outcome == cdht_core::sync::AckOutcome::Accepted),
                        "every record accepted"
                    );
                }
            }
        });
        futures_util::future::join_all(pushes).await;
        let ingest_took = started.elapsed();
        if round % 2 == 1 {
            plain_took = tokio::task::block_in_place(|| plain.insert(&plain_rows));
        }
        let (ingest_rate, plain_rate) = (
            pairs_now as f64 / ingest_took.as_secs_f64(),
            pairs_now as f64 / plain_took.as_secs_f64(),
        );
        ingest_rates.push(ingest_rate);
        plain_rates.push(plain_rate);
        ratios.push(ingest_rate / plain_rate);
    }
    let size_after = tokio::task::block_in_place(|| db_size(&data, &db));
    let bytes_per_pair = size_after.saturating_sub(size_before) as f64 / pairs as f64;

    // The collector's device pulls everything, page by page, in turns
    // with the plain read of the same rows.
    let collector = enrol(&servers[0].1, &key).await;
    let o = tree["officers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["role"] == "collector" && o["unit"] == UNIT)
        .unwrap();
    collector
        .bind_officer(
            o["username"].as_str().unwrap(),
            o["password"].as_str().unwrap(),
        )
        .await
        .unwrap();
    let (mut pulls, mut reads, mut pulled) = (Vec::new(), Vec::new(), 0);
    for _ in 0..3 {
        let started = Instant::now();
        pulled = pull_first(&collector, PULLED).await;
        pulls.push(started.elapsed());
        let (took, read) = tokio::task::block_in_place(|| plain.read(PULLED));
        assert_eq!(read, PULLED.min(rows.iter().map(Vec::len).sum::<usize>()));
        reads.push(took);
    }
    drop(servers);
    tokio::task::block_in_place(|| drop(plain));
    Figures {
        bytes_per_pair,
        db: db.name(),
        instances,
        ingest_rates,
        plain_rates,
        ratios,
        pulls,
        reads,
        pulled,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let pairs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let mut all: Vec<Figures> = Vec::new();
    for db in [Db::Sqlite, Db::Postgres(String::new())] {
        for instances in [1, 2] {
            // Each run on a blank database.
            let db = match &db {
                Db::Postgres(_) => Db::Postgres(
                    std::thread::spawn(cdht_test_support::postgres::fresh_database)
                        .join()
                        .unwrap(),
                ),
                Db::Sqlite => Db::Sqlite,
            };
            all.push(run(db, instances, pairs).await);
        }
    }
    println!(
        "pairs: {pairs} ({} records, batches of {BATCH}, {PHONES} phones at once, \
         {ROUNDS} rounds in turns with the plain insert)",
        pairs * 2
    );
    println!(
        "| database | instances | ingest (assessments/s) | plain insert (assessments/s) | \
         ingest ÷ plain (median of rounds; range) | pull of {PULLED} changes | plain read | \
         pull ÷ read | bytes per assessment |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for f in &mut all {
        let (ratio, low, high) = (
            median(&mut f.ratios),
            f.ratios.iter().copied().fold(f64::MAX, f64::min),
            f.ratios.iter().copied().fold(0.0, f64::max),
        );
        let ms = |d: &[Duration]| {
            let mut v: Vec<f64> = d.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
            median(&mut v)
        };
        let (pull, read) = (ms(&f.pulls), ms(&f.reads));
        println!(
            "| {} | {} | {:.0} | {:.0} | {ratio:.3} ({low:.3}–{high:.3}) | {pull:.0} ms ({} changes) \
             | {read:.0} ms | {:.0}× | {:.0} |",
            f.db,
            f.instances,
            median(&mut f.ingest_rates),
            median(&mut f.plain_rates),
            f.pulled,
            pull / read,
            f.bytes_per_pair
        );
    }
}

/// Pulls from the start, page by page, until `n` changes came (or no more):
/// how many came.
async fn pull_first(device: &SyncClient, n: usize) -> usize {
    let (mut got, mut since) = (0, 0);
    loop {
        let page = device.pull(since).await.unwrap();
        got += page.changes.len();
        since = page.cursor;
        if got >= n || !page.more {
            return got;
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
