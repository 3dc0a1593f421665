//! Issue 17's benchmark: the server's ingest against a plain batched SQLite
//! insert of the same JSON records, side by side in one run, the bytes each
//! stores, and an own-records phone's empty pull with an empty change log
//! and with a long one. Figures go to BENCHMARKS.md ("Sync server").
//!
//! ```sh
//! cargo run --release -p cdht-server --example sync_bench            # 50,000 pairs
//! cargo run --release -p cdht-server --example sync_bench -- 10000   # fewer
//! ```
//!
//! A pair is a person and their assessment (two records, two changes), so
//! 50,000 pairs leave 100,000 changes in the log.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use cdht_core::ids::{AssessmentId, DeviceId, UnitCode};
use cdht_core::sync::{DeviceScope, DeviceState, PushBatch};
use cdht_core::sync::{RecordBody, ServerScore};
use cdht_server::storage::{BatchKey, CccdUpdate, DeviceRef, PreparedRecord, RecordCheck};
use cdht_sync_client::SyncClient;
use cdht_test_support::records::{assessment, batch, person, v1};
use cdht_test_support::server::{start, TestServer};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// Records per push, as the app sends them (100 pairs).
const BATCH: usize = 200;
const PULLS: usize = 600;
/// The ingest and the plain insert are measured in turns, a slice each.
const INGEST_ROUNDS: usize = 5;
/// The pulls are measured in turns, long log then empty log.
const ROUNDS: usize = 6;
const UNIT: &str = "DEMO-X1-C1";
const POINTS: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let pairs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    // `-- N storage`: only the storage part, to profile it (`perf record`).
    let storage_alone = std::env::args().nth(2).is_some_and(|a| a == "storage");
    let server = start().await;
    let dir = server.state.config.data_dir.clone();

    // A villager's phone with one person of its own.
    let (phone, phone_ref) = villager(&server).await;

    // The records, made and encoded before any clock starts.
    let batches: Vec<PushBatch> = (0..pairs.div_ceil(BATCH / 2))
        .map(|b| {
            let records = (0..BATCH / 2)
                .take(pairs - b * BATCH / 2)
                .flat_map(|i| {
                    let (pid, p) = person(&format!("Nguyễn Văn {b}-{i}"), None);
                    let a = assessment(AssessmentId::new_v7(), pid, DeviceState::Submitted, POINTS);
                    [v1(p), v1(a)]
                })
                .collect();
            batch(b as u64 + 1, records)
        })
        .collect();
    if storage_alone {
        let took = storage_ingest(&batches).await;
        println!("apply_push alone: {:.0} ms for {pairs} pairs", ms(took));
        return;
    }
    let json: Vec<Vec<(String, String)>> = batches
        .iter()
        .map(|b| {
            b.records
                .iter()
                .map(|r| (r.body.id().to_string(), serde_json::to_string(r).unwrap()))
                .collect()
        })
        .collect();

    // The plain insert and the server's ingest in alternating rounds, a
    // slice of the batches each, so both see the same machine load; the
    // ratio is that of the medians (this machine is shared, and one round
    // can run twice as fast as the next).
    let plain_path = dir.join("plain.sqlite3");
    let mut plain_db = plain_db(&plain_path);
    let (collector, _) = enrol(&server).await;
    checkpoint(&server).await;
    let before = file_size(&dir.join("cdht.sqlite3"));
    let per_round = batches.len().div_ceil(INGEST_ROUNDS);
    let (mut plain_rates, mut ingest_rates) = (Vec::new(), Vec::new());
    let (mut plain, mut ingest) = (Duration::ZERO, Duration::ZERO);
    for (round, (slice, slice_json)) in batches
        .chunks(per_round)
        .zip(json.chunks(per_round))
        .enumerate()
    {
        let records: usize = slice.iter().map(|b| b.records.len()).sum();
        let mut run_plain = || {
            let took = plain_insert(&mut plain_db, slice_json);
            plain += took;
            plain_rates.push(records as f64 / took.as_secs_f64());
        };
        // Who goes first alternates too.
        if round % 2 == 0 {
            run_plain();
        }
        let started = Instant::now();
        for b in slice {
            collector.push(b).await.unwrap();
        }
        let took = started.elapsed();
        ingest += took;
        ingest_rates.push(records as f64 / took.as_secs_f64());
        if round % 2 == 1 {
            run_plain();
        }
    }
    plain_db
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(plain_db);
    let plain_bytes = file_size(&plain_path);
    checkpoint(&server).await;
    let server_bytes = file_size(&dir.join("cdht.sqlite3")) - before;

    // The same phone on a second server whose log is empty, measured in
    // turns with the long log, so both see the same machine load.
    let empty_server = start().await;
    let (empty_phone, empty_ref) = villager(&empty_server).await;
    let (mut long_log, mut empty_log) = (PullTimes::default(), PullTimes::default());
    for _ in 0..ROUNDS {
        time_pulls(&server, &phone, &phone_ref, &mut long_log).await;
        time_pulls(&empty_server, &empty_phone, &empty_ref, &mut empty_log).await;
    }
    let tables = table_sizes(&dir.join("cdht.sqlite3"));
    let storage_only = storage_ingest(&batches).await;
    let client = client_encoding(&batches);
    let handler = handler_stages(&server, &batches).await;

    println!("pairs: {pairs} ({} records, batches of {BATCH})", pairs * 2);
    println!(
        "plain insert: {:.0} ms, {:.0} records/s (median of {} rounds), {:.0} bytes/pair",
        ms(plain),
        median(&mut plain_rates),
        plain_rates.len(),
        plain_bytes as f64 / pairs as f64
    );
    println!(
        "server ingest: {:.0} ms, {:.0} records/s (median of {} rounds), {:.0} bytes/pair",
        ms(ingest),
        median(&mut ingest_rates),
        ingest_rates.len(),
        server_bytes as f64 / pairs as f64
    );
    println!(
        "round by round, ingest / plain: {}",
        ingest_rates
            .iter()
            .zip(&plain_rates)
            .map(|(i, p)| format!("{:.3} ({:.0}/{:.0})", i / p, i, p))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "of which the storage call (apply_push alone, on a fresh server): {:.0} ms ({:.0}%)",
        ms(storage_only),
        100.0 * storage_only.as_secs_f64() / ingest.as_secs_f64()
    );
    println!(
        "of which the client's encoding: JSON {:.0} ms, gzip {:.0} ms ({} of {} bytes); \
         gzip at level 1 would take {:.0} ms ({} bytes)",
        ms(client.json),
        ms(client.gzip),
        client.gzip_bytes,
        client.json_bytes,
        ms(client.gzip1),
        client.gzip1_bytes
    );
    println!(
        "the handler's own work, alone (ms): body inflate {:.0}, JSON into types {:.0} \
         (into a value, then types: {:.0}), batch hash {:.0}, record hashes {:.0}, scoring {:.0}",
        ms(handler.inflate),
        ms(handler.parse),
        ms(handler.parse_value),
        ms(handler.batch_hash),
        ms(handler.record_hashes),
        ms(handler.scoring)
    );
    // The bound any storage design meets: a server must at least parse,
    // hash and score what arrives, and store each record where its id finds
    // it, which is the plain insert itself. With HTTP free and the client's
    // steps on the phone, ingest takes at least the sum of both.
    let handler_steps = handler.inflate
        + handler.parse
        + handler.batch_hash
        + handler.record_hashes
        + handler.scoring;
    let client_steps = client.json + client.gzip;
    let bound = |steps: Duration| plain.as_secs_f64() / (plain + steps).as_secs_f64();
    println!(
        "bound, whatever the storage: the handler's steps alone take {:.0} ms ({:.2}x the plain \
         insert); storing at the plain insert's own cost and HTTP free, ingest / plain <= {:.3} \
         ({:.3} with the client's JSON and gzip, {:.0} ms, on the same cores)",
        ms(handler_steps),
        handler_steps.as_secs_f64() / plain.as_secs_f64(),
        bound(handler_steps),
        bound(handler_steps + client_steps),
        ms(client_steps)
    );
    let mut round_ratios: Vec<f64> = ingest_rates
        .iter()
        .zip(&plain_rates)
        .map(|(i, p)| i / p)
        .collect();
    println!(
        "ingest / plain (speed, medians): {:.3} (median of the rounds' ratios: {:.3}; \
         totals: {:.3}); bytes server / plain: {:.2}",
        median(&mut ingest_rates) / median(&mut plain_rates),
        median(&mut round_ratios),
        plain.as_secs_f64() / ingest.as_secs_f64(),
        server_bytes as f64 / plain_bytes as f64
    );
    println!("where the server's bytes are (bytes/pair, tables and indexes):");
    for (name, bytes) in tables.iter().filter(|(_, b)| *b > 4096 * 4) {
        println!("  {name}: {:.0}", *bytes as f64 / pairs as f64);
    }
    let (long, empty) = (long_log.summary(), empty_log.summary());
    for (name, t) in [("empty log", &empty), ("long log", &long)] {
        println!(
            "empty pull, {name}: HTTP p50 {:.3} ms p95 {:.3} ms; storage p50 {:.3} ms p95 {:.3} ms",
            t[0], t[1], t[2], t[3]
        );
    }
    println!(
        "long / empty log: HTTP p50 {:.2}, storage p50 {:.2}",
        long[0] / empty[0],
        long[2] / empty[2]
    );
}

async fn enrol(server: &TestServer) -> (SyncClient, DeviceRef) {
    let mut client = SyncClient::new(&server.url, &[]).unwrap();
    let device_id = DeviceId::new_v7();
    client
        .enrol(&server.qr(UNIT), device_id, Some("bench"))
        .await
        .unwrap();
    let device = DeviceRef {
        device_id,
        unit: UnitCode::new(UNIT),
        scope: DeviceScope::OwnRecords,
    };
    (client, device)
}

/// The same batches given straight to `Storage::apply_push`, checked and
/// scored beforehand (as the handler would), on a fresh server: what the
/// database part of an ingest costs, without HTTP, JSON and scoring.
async fn storage_ingest(batches: &[PushBatch]) -> Duration {
    let server = start().await;
    let (_, device) = enrol(&server).await;
    let prepared: Vec<(BatchKey, Vec<PreparedRecord>)> = batches
        .iter()
        .map(|b| {
            let key = BatchKey {
                batch_id: b.batch_id,
                seq: b.seq,
                content_hash: b.batch_id.to_string(),
            };
            let records = b
                .records
                .iter()
                .map(|r| PreparedRecord {
                    envelope: r.clone(),
                    check: match r.body {
                        RecordBody::Person(_) => RecordCheck::Person {
                            cccd: CccdUpdate::Erase,
                            stored_hash: server.state.keyed_hash(&r.hash),
                            keep_household: true,
                        },
                        _ => RecordCheck::Assessment {
                            score: ServerScore {
                                total: 80,
                                passed: true,
                                threshold: 80,
                            },
                            points: "1.1:8,1.2:8,1.3:8,1.4:8,2.1:8,2.2:8,2.3:8,2.4:8,3.1:8,3.2:8"
                                .to_owned(),
                        },
                    },
                })
                .collect();
            (key, records)
        })
        .collect();
    let storage = std::sync::Arc::clone(&server.state.storage);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        for (key, records) in &prepared {
            storage.apply_push(&device, key, records).unwrap();
        }
        started.elapsed()
    })
    .await
    .unwrap()
}

/// A phone enrolled in the unit that pushed one person of its own.
async fn villager(server: &TestServer) -> (SyncClient, DeviceRef) {
    let (phone, device) = enrol(server).await;
    let (_, me) = person("Người của điện thoại", None);
    phone.push(&batch(1, vec![v1(me)])).await.unwrap();
    (phone, device)
}

/// Milliseconds of each pull: through HTTP, and the storage call alone.
#[derive(Default)]
struct PullTimes {
    http: Vec<f64>,
    storage: Vec<f64>,
}

impl PullTimes {
    /// HTTP p50, p95; storage p50, p95.
    fn summary(&mut self) -> [f64; 4] {
        [
            percentile(&mut self.http, 0.5),
            percentile(&mut self.http, 0.95),
            percentile(&mut self.storage, 0.5),
            percentile(&mut self.storage, 0.95),
        ]
    }
}

/// The phone's pull from the start of the log, which returns nothing (its
/// only change is its own push).
async fn time_pulls(
    server: &TestServer,
    phone: &SyncClient,
    device: &DeviceRef,
    times: &mut PullTimes,
) {
    for _ in 0..PULLS / ROUNDS {
        let t = Instant::now();
        let page = phone.pull(0).await.unwrap();
        times.http.push(ms(t.elapsed()));
        assert!(page.changes.is_empty(), "{:?}", page.changes);
    }
    let storage = std::sync::Arc::clone(&server.state.storage);
    let device = device.clone();
    let direct = tokio::task::spawn_blocking(move || {
        (0..PULLS / ROUNDS)
            .map(|_| {
                let t = Instant::now();
                assert!(storage
                    .pull(&device, 0, 500, true)
                    .unwrap()
                    .changes
                    .is_empty());
                ms(t.elapsed())
            })
            .collect::<Vec<f64>>()
    })
    .await
    .unwrap();
    times.storage.extend(direct);
}

/// The reference's database: a WAL database set up like the server's (each
/// commit on disk before it returns, as the server's answer waits for).
fn plain_db(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE records (id TEXT PRIMARY KEY, body TEXT NOT NULL);",
    )
    .unwrap();
    conn
}

/// The reference: each record's JSON as it arrives, one row per record keyed
/// by its id, one transaction per batch.
fn plain_insert(conn: &mut rusqlite::Connection, batches: &[Vec<(String, String)>]) -> Duration {
    let started = Instant::now();
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
    started.elapsed()
}

/// What the client does to a batch before sending it, alone: the JSON
/// encoding and the gzip of the body (as `SyncClient` does, and at the
/// fastest level for comparison).
struct ClientEncoding {
    json: Duration,
    gzip: Duration,
    gzip1: Duration,
    json_bytes: usize,
    gzip_bytes: usize,
    gzip1_bytes: usize,
}

/// The push handler's steps before storage, each over every batch, alone
/// (as `api/push.rs` does them; no HTTP, no storage).
struct HandlerStages {
    inflate: Duration,
    parse: Duration,
    parse_value: Duration,
    batch_hash: Duration,
    record_hashes: Duration,
    scoring: Duration,
}

async fn handler_stages(server: &TestServer, batches: &[PushBatch]) -> HandlerStages {
    use std::io::Read;
    let gzipped: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| cdht_sync_client::gzip(&serde_json::to_vec(b).unwrap()))
        .collect();
    let started = Instant::now();
    let bodies: Vec<Vec<u8>> = gzipped
        .iter()
        .map(|g| {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&g[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        })
        .collect();
    let inflate = started.elapsed();
    // Before: into a JSON value, then types (what protocol 2 still needs).
    let started = Instant::now();
    for b in &bodies {
        let value: serde_json::Value = serde_json::from_slice(b).unwrap();
        black_box(cdht_server::error::decode_json::<PushBatch>(&value).unwrap());
    }
    let parse_value = started.elapsed();
    let started = Instant::now();
    let parsed: Vec<PushBatch> = bodies
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect();
    let parse = started.elapsed();
    let state = &server.state;
    let started = Instant::now();
    for batch in &parsed {
        black_box(state.keyed_hash(&cdht_server::sha256_hex(
            &serde_json::to_vec(batch).unwrap(),
        )));
    }
    let batch_hash = started.elapsed();
    let started = Instant::now();
    for batch in &parsed {
        for r in &batch.records {
            let canonical = black_box(cdht_server::sha256_hex(&r.body.canonical_json()));
            if matches!(r.body, RecordBody::Person(_)) {
                black_box(state.keyed_hash(&canonical));
            }
        }
    }
    let record_hashes = started.elapsed();
    let revisions = state
        .db(|s| s.catalog_revisions())
        .await
        .unwrap_or_default();
    let catalogs = state.scoring_catalogs_at(revisions).await.unwrap();
    let started = Instant::now();
    for batch in &parsed {
        for r in &batch.records {
            if let RecordBody::Assessment(a) = &r.body {
                let input = cdht_core::AssessmentInput {
                    catalog: a.catalog.clone(),
                    group: a.group.clone(),
                    area: cdht_core::AreaType::Normal,
                    answers: a.answers.clone(),
                };
                let result =
                    cdht_core::score_with(&catalogs, &input, cdht_core::Completeness::Complete)
                        .unwrap();
                black_box(cdht_server::report::points_text(&result.indicators));
            }
        }
    }
    HandlerStages {
        inflate,
        parse,
        parse_value,
        batch_hash,
        record_hashes,
        scoring: started.elapsed(),
    }
}

fn client_encoding(batches: &[PushBatch]) -> ClientEncoding {
    use std::io::Write;
    let started = Instant::now();
    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| serde_json::to_vec(b).unwrap())
        .collect();
    let json = started.elapsed();
    let started = Instant::now();
    let gzip_bytes: usize = bodies.iter().map(|b| cdht_sync_client::gzip(b).len()).sum();
    let gzip = started.elapsed();
    let started = Instant::now();
    let gzip1_bytes: usize = bodies
        .iter()
        .map(|b| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(b).unwrap();
            e.finish().unwrap().len()
        })
        .sum();
    ClientEncoding {
        json,
        gzip,
        gzip1: started.elapsed(),
        json_bytes: bodies.iter().map(Vec::len).sum(),
        gzip_bytes,
        gzip1_bytes,
    }
}

async fn checkpoint(server: &TestServer) {
    let storage = std::sync::Arc::clone(&server.state.storage);
    let done = tokio::task::spawn_blocking(move || storage.checkpoint(true).unwrap())
        .await
        .unwrap();
    assert!(done, "the write-ahead log could not be emptied");
}

/// Bytes of each table and index (SQLite's `dbstat`), largest first.
fn table_sizes(path: &Path) -> Vec<(String, u64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    percentile(v, 0.5)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}
