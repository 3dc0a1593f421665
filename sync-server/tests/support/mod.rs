//! The test harness: the real server on 127.0.0.1:0 with a temporary data
//! directory and the demo tree, the real sync client, and a fault-injecting
//! TCP proxy.
//!
//! The server, its clients, the record builders and the fake photos are
//! shared with the sync engine's and the app's tests (`cdht-test-support`).
#![allow(clippy::unwrap_used, dead_code, unused_imports)]

pub mod households;
pub mod moto;
pub mod serve_process;

pub use cdht_test_support::records::*;
pub use cdht_test_support::server::{fast_retry, start, start_at, start_with, TestServer};
pub use cdht_test_support::{photo, INDICATORS};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy that cuts every connection after a byte budget (both
/// directions counted), then, with `every`, grants a new budget: a link that
/// drops again and again. `down` refuses every connection.
pub struct FaultProxy {
    pub url: String,
    budget: Arc<AtomicI64>,
    every: Arc<AtomicI64>,
    pub down: Arc<AtomicBool>,
    pub cuts: Arc<AtomicI64>,
}

impl FaultProxy {
    /// `first_cut`: bytes before the first cut; `every`: bytes between later
    /// cuts (0: no later cuts).
    pub async fn start(upstream: &str, first_cut: i64, every: i64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let proxy = Self {
            url,
            budget: Arc::new(AtomicI64::new(first_cut)),
            every: Arc::new(AtomicI64::new(every)),
            down: Arc::new(AtomicBool::new(false)),
            cuts: Arc::new(AtomicI64::new(0)),
        };
        let (budget, every, down, cuts) = (
            Arc::clone(&proxy.budget),
            Arc::clone(&proxy.every),
            Arc::clone(&proxy.down),
            Arc::clone(&proxy.cuts),
        );
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (budget, every, cuts) =
                    (Arc::clone(&budget), Arc::clone(&every), Arc::clone(&cuts));
                tokio::spawn(pipe(client, server, budget, every, cuts));
            }
        });
        proxy
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    budget: Arc<AtomicI64>,
    every: Arc<AtomicI64>,
    cuts: Arc<AtomicI64>,
) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let cut = Arc::new(tokio::sync::Notify::new());
    let copy = |mut from: tokio::net::tcp::OwnedReadHalf,
                mut to: tokio::net::tcp::OwnedWriteHalf| {
        let (budget, every, cuts, cut) = (
            Arc::clone(&budget),
            Arc::clone(&every),
            Arc::clone(&cuts),
            Arc::clone(&cut),
        );
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = tokio::select! {
                    r = from.read(&mut buf) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
                    () = cut.notified() => return,
                };
                let left = budget.fetch_sub(n as i64, Ordering::SeqCst);
                if left < n as i64 {
                    // Forward what the budget allows, then cut the link.
                    let allowed = usize::try_from(left.max(0)).unwrap_or(0);
                    let _ = to.write_all(&buf[..allowed]).await;
                    let next = every.load(Ordering::SeqCst);
                    budget.store(if next > 0 { next } else { i64::MAX }, Ordering::SeqCst);
                    cuts.fetch_add(1, Ordering::SeqCst);
                    cut.notify_waiters();
                    return;
                }
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let up = tokio::spawn(copy(cr, sw));
    let downstream = tokio::spawn(copy(sr, cw));
    let _ = up.await;
    cut.notify_waiters();
    let _ = downstream.await;
}

/// Migration 13 (deletes) undone on a data folder: the deleted records'
/// table goes (a test folder from before holds no tombstone). Run before
/// [`UNDO_MIGRATION_12`].
pub const UNDO_MIGRATION_13: &str = "
    DROP TABLE deleted_records;
    PRAGMA user_version = 12;
";

/// Migration 12 undone on a data folder (tests of older versions' folders):
/// each record's first change back in the change log, at the position its
/// row carries, with what the row kept of it (`added_by`, `added_at`, or the
/// columns that were still the same).
pub const UNDO_MIGRATION_12: &str = "
    INSERT INTO changes (seq, kind, subject, origin, at, record_kind, record, difficult)
    SELECT added_seq, 'record', id, COALESCE(added_by, device_id),
           COALESCE(added_at, updated_at), 0, NULL, added_difficult
    FROM persons WHERE added_seq IS NOT NULL;
    INSERT INTO changes (seq, kind, subject, origin, at, record_kind, record, difficult)
    SELECT added_seq, 'record', person, COALESCE(added_by, device_id),
           COALESCE(added_at, updated_at), 1, id, added_difficult
    FROM assessments WHERE added_seq IS NOT NULL;
    INSERT INTO changes (seq, kind, subject, origin, at, record_kind, record, difficult)
    SELECT e.added_seq, 'record', a.person, COALESCE(e.added_by, e.device_id),
           COALESCE(e.added_at, e.updated_at), 2, e.id, e.added_difficult
    FROM evidence e LEFT JOIN assessments a ON a.id = e.assessment
    WHERE e.added_seq IS NOT NULL;
    UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT last FROM change_counter))
    WHERE name = 'changes';
    INSERT INTO sqlite_sequence (name, seq)
    SELECT 'changes', last FROM change_counter
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'changes');
    DROP TABLE change_counter;
    UPDATE assessments SET points = NULL WHERE typeof(points) = 'blob';
    DROP TABLE points_layouts;
    DROP INDEX persons_added; DROP INDEX assessments_added; DROP INDEX evidence_added;
    DROP INDEX evidence_assessment;
    ALTER TABLE persons DROP COLUMN added_seq; ALTER TABLE persons DROP COLUMN added_difficult;
    ALTER TABLE persons DROP COLUMN added_by; ALTER TABLE persons DROP COLUMN added_at;
    ALTER TABLE assessments DROP COLUMN added_seq;
    ALTER TABLE assessments DROP COLUMN added_difficult;
    ALTER TABLE assessments DROP COLUMN added_by; ALTER TABLE assessments DROP COLUMN added_at;
    ALTER TABLE evidence DROP COLUMN added_seq; ALTER TABLE evidence DROP COLUMN added_difficult;
    ALTER TABLE evidence DROP COLUMN added_by; ALTER TABLE evidence DROP COLUMN added_at;
    DROP INDEX audit_log_assessment;
    CREATE INDEX audit_log_assessment ON audit_log(assessment, id);
    CREATE INDEX assessments_year_state ON assessments(year, state);
    DROP INDEX persons_cccd; CREATE INDEX persons_cccd ON persons(cccd_hmac);
    PRAGMA user_version = 11;
";

/// Every file under `dir`, in any depth (none when it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}
