//! The SQLite backend and the PostgreSQL backend side by side: every call is
//! made on both, and what they answer must be the same (times apart).
#![allow(dead_code, clippy::unwrap_used)]

use cdht_server_db::{Storage, StorageError};
use cdht_server_postgres::PgStorage;
use cdht_server_sqlite::SqliteStorage;
use std::fmt::Debug;

pub struct Twins {
    pub sqlite: SqliteStorage,
    pub pg: PgStorage,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Twins {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (pg, url) = super::storage();
        Self {
            sqlite: SqliteStorage::open(dir.path()).unwrap(),
            pg,
            url,
            _dir: dir,
        }
    }

    /// `f` on both backends; their answers (as `show` prints them) must
    /// match. Returns PostgreSQL's.
    pub fn same<T, S: PartialEq + Debug>(
        &self,
        what: &str,
        f: impl Fn(&dyn Storage) -> Result<T, StorageError>,
        show: impl Fn(&T) -> S,
    ) -> Result<T, String> {
        let a = f(&self.sqlite);
        let b = f(&self.pg);
        match (&a, &b) {
            (Ok(x), Ok(y)) => assert_eq!(show(x), show(y), "{what}: SQLite, then PostgreSQL"),
            (Err(x), Err(y)) => assert_eq!(
                refusal(x),
                refusal(y),
                "{what}: SQLite's error {x}, PostgreSQL's {y}"
            ),
            _ => panic!(
                "{what}: SQLite answered {:?}, PostgreSQL {:?}",
                a.as_ref().map(|_| ()),
                b.as_ref().map(|_| ())
            ),
        }
        b.map_err(|e| e.to_string())
    }
}

/// A refusal's code; any other error as "error".
fn refusal(e: &StorageError) -> String {
    match e {
        StorageError::Refused { code, .. } => code.as_str().to_owned(),
        _ => "error".into(),
    }
}

/// A serialisable answer as JSON, with every time ("at", "updated_at") taken out.
pub fn timeless<T: serde::Serialize>(value: &T) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("at");
                m.remove("updated_at");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(value).unwrap();
    strip(&mut v);
    v
}
