//! Issue 15's figures: the server's ingest (assessments per second, batches
//! of 200 records) with 1 and with 2 `cdht-server serve` instances on one
//! database, each against a plain batched insert of the same rows into the
//! same database, measured in the same run; and the pull of 10,000 changes
//! by a collector's device, against a plain read of the same rows.
//! Figures go to BENCHMARKS.md ("Several instances").
//!
//! ```sh
//! cargo build --release -p cdht-server
//! cargo run --release -p cdht-server --example scale_bench            # 5,000 pairs
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

/// The plain batched insert of `rows` into the same database, one
/// transaction per batch, and the plain read of them all back.
fn plain(data: &Path, db: &Db, rows: &[Vec<(String, String)>]) -> (Duration, Duration) {
    match db {
        Db::Sqlite => {
            let mut conn = rusqlite::Connection::open(data.join("plain.sqlite3")).unwrap();
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                 CREATE TABLE records (id TEXT PRIMARY KEY, body TEXT NOT NULL);",
            )
            .unwrap();
            let started = Instant::now();
            for batch in rows {
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
            let insert = started.elapsed();
            let started = Instant::now();
            let read: usize = conn
                .prepare("SELECT id, body FROM records ORDER BY rowid")
                .unwrap()
                .query_map([], |r| Ok(r.get::<_, String>(1)?.len()))
                .unwrap()
                .map(Result::unwrap)
                .count();
            assert_eq!(read, rows.iter().map(Vec::len).sum::<usize>());
            (insert, started.elapsed())
        }
        Db::Postgres(url) => {
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            client
                .batch_execute(
                    "CREATE TABLE plain_records (id text PRIMARY KEY, body text NOT NULL)",
                )
                .unwrap();
            let insert = client
                .prepare("INSERT INTO plain_records (id, body) VALUES ($1, $2)")
                .unwrap();
            let started = Instant::now();
            for batch in rows {
                let mut tx = client.transaction().unwrap();
                for (id, body) in batch {
                    tx.execute(&insert, &[id, body]).unwrap();
                }
                tx.commit().unwrap();
            }
            let inserted = started.elapsed();
            let started = Instant::now();
            let read = client
                .query("SELECT id, body FROM plain_records ORDER BY id", &[])
                .unwrap();
            let bytes: usize = read.iter().map(|r| r.get::<_, &str>(1).len()).sum();
            std::hint::black_box(bytes);
            assert_eq!(read.len(), rows.iter().map(Vec::len).sum::<usize>());
            (inserted, started.elapsed())
        }
    }
}

/// The database's size on disk: SQLite's file and its write-ahead log, or
/// PostgreSQL's database (tables, indexes and TOAST).
fn db_size(data: &Path, db: &Db) -> u64 {
    match db {
        Db::Sqlite => ["cdht.sqlite3", "cdht.sqlite3-wal"]
            .iter()
            .map(|f| std::fs::metadata(data.join(f)).map_or(0, |m| m.len()))
            .sum(),
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
    ingest: Duration,
    plain_insert: Duration,
    pull: Duration,
    pulled: usize,
    plain_read: Duration,
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

    let size_before = db_size(&data, &db);
    // The phones push at once, each through its instance.
    let started = Instant::now();
    let pushes = phones.iter().zip(&work).map(|(phone, batches)| async move {
        for b in batches {
            let answer = phone.push(b).await.unwrap();
            assert!(
                answer
                    .acks
                    .iter()
                    .all(|a| a.outcome == cdht_core::sync::AckOutcome::Accepted),
                "every record accepted"
            );
        }
    });
    futures_util::future::join_all(pushes).await;
    let ingest = started.elapsed();
    let bytes_per_pair = (db_size(&data, &db).saturating_sub(size_before)) as f64 / pairs as f64;

    // The collector's device pulls everything, page by page.
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
    let started = Instant::now();
    let (changes, _) = collector.pull_all(0).await.unwrap();
    let pull = started.elapsed();
    drop(servers);

    let rows = rows_of(&work);
    // On a thread of its own: the PostgreSQL client runs a runtime.
    let (plain_insert, plain_read) =
        std::thread::scope(|s| s.spawn(|| plain(&data, &db, &rows)).join().unwrap());
    Figures {
        bytes_per_pair,
        db: db.name(),
        instances,
        ingest,
        plain_insert,
        pull,
        pulled: changes.len(),
        plain_read,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let pairs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    let mut all = Vec::new();
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
        "pairs: {pairs} ({} records, batches of {BATCH}, {PHONES} phones at once)",
        pairs * 2
    );
    println!(
        "| database | instances | ingest (assessments/s) | plain insert (assessments/s) | \
         ingest ÷ plain | pull of {} changes | plain read | pull ÷ read | bytes per assessment |",
        pairs * 2
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for f in &all {
        let ingest = pairs as f64 / f.ingest.as_secs_f64();
        let plain = pairs as f64 / f.plain_insert.as_secs_f64();
        println!(
            "| {} | {} | {ingest:.0} | {plain:.0} | {:.3} | {:.0} ms ({} changes) | {:.0} ms | {:.1}× | {:.0} |",
            f.db,
            f.instances,
            ingest / plain,
            f.pull.as_secs_f64() * 1000.0,
            f.pulled,
            f.plain_read.as_secs_f64() * 1000.0,
            f.pull.as_secs_f64() / f.plain_read.as_secs_f64(),
            f.bytes_per_pair
        );
    }
}
