//! How every pooled connection is set up.
#![allow(clippy::unwrap_used)]

use super::*;

/// Each connection the pool hands out, not only the first, commits durably
/// (`synchronous = FULL`, 2) in WAL mode with foreign keys on.
#[test]
fn every_connection_commits_to_disk_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    let held: Vec<_> = (0..3).map(|_| storage.pool.get().unwrap()).collect();
    for conn in &held {
        let synchronous: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        let journal: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let foreign_keys: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!((synchronous, journal.as_str(), foreign_keys), (2, "wal", 1));
    }
}
