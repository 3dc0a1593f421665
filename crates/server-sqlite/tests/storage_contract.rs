//! The storage contract (crates/server-contract) on SQLite: every scenario
//! on a fresh database file in its own temporary directory.

use cdht_server_contract::{contract_tests, Backend, Fresh};
use cdht_server_sqlite::SqliteStorage;

struct Sqlite;

impl Backend for Sqlite {
    fn fresh(&self) -> Fresh {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let storage = SqliteStorage::open(dir.path()).expect("a new database");
        Fresh::new(Box::new(storage), Box::new(dir))
    }
}

contract_tests!(Sqlite);
