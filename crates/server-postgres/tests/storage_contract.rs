//! The storage contract (crates/server-contract) on PostgreSQL: every
//! scenario on a fresh database of the private test cluster.

use cdht_server_contract::{contract_tests, Backend, Fresh};
use cdht_server_postgres::PgStorage;

struct Postgres;

impl Backend for Postgres {
    fn fresh(&self) -> Fresh {
        let url = cdht_test_support::postgres::fresh_database();
        // As a server would run: a pool of several connections, so the
        // races of the suite meet PostgreSQL's own concurrency.
        let storage = PgStorage::open(&url, 8).expect("a new database");
        Fresh::new(Box::new(storage), Box::new(()))
    }
}

contract_tests!(Postgres);
