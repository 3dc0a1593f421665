//! What the PostgreSQL backend's tests share: a backend on a fresh database
//! of the private test cluster (cdht-test-support, feature `postgres`).
#![allow(dead_code, clippy::unwrap_used)]

use cdht_core::ids::UnitCode;
use cdht_server_db::{NewUnit, Storage};
use cdht_server_postgres::PgStorage;

/// A backend on a new, empty database, and that database's URL.
pub fn storage() -> (PgStorage, String) {
    let url = cdht_test_support::postgres::fresh_database();
    (PgStorage::open(&url, 4).unwrap(), url)
}

/// A direct connection, to look at rows the trait does not show.
pub fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

pub fn new_unit(code: &str, parent: Option<&str>, key: &str) -> NewUnit {
    NewUnit {
        code: UnitCode::new(code),
        name: format!("Unit {code}"),
        kind: "commune".into(),
        parent: parent.map(UnitCode::new),
        area: None,
        join_key: key.into(),
    }
}

/// A province P with a difficult district D below it and a commune C1 below
/// that, whose join key is `key-C1`.
pub fn tree(db: &dyn Storage) {
    let mut d = new_unit("D", Some("P"), "key-D");
    d.area = Some(cdht_core::AreaType::Difficult);
    db.add_units(&[
        new_unit("P", None, "key-P"),
        d,
        new_unit("C1", Some("D"), "key-C1"),
    ])
    .unwrap();
}
pub mod records;
pub mod twins;
