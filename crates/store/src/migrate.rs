//! Schema migrations, embedded in the binary and tracked by `PRAGMA user_version`.
//!
//! Hand-rolled rather than `rusqlite_migration`: it is this one loop, it gives the
//! typed [`StoreError::TooNew`] directly, and it keeps one fewer crate whose
//! version must move in step with rusqlite's.
//!
//! Rules for new migrations: append only (never edit a released file); each runs
//! in its own transaction with `foreign_keys` on, so a migration that rebuilds a
//! table must not rely on turning foreign keys off.

use crate::error::{Result, StoreError};
use rusqlite::{Connection, TransactionBehavior};

/// `(file name, SQL)`, in order; migration N sets `user_version` to N.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("../migrations/0001_init.sql")),
    (
        "0002_lock_reviewed_answers.sql",
        include_str!("../migrations/0002_lock_reviewed_answers.sql"),
    ),
    (
        "0003_unit_name_known.sql",
        include_str!("../migrations/0003_unit_name_known.sql"),
    ),
    (
        "0004_pulled_records.sql",
        include_str!("../migrations/0004_pulled_records.sql"),
    ),
    (
        "0005_refusal_resolved_by_pull.sql",
        include_str!("../migrations/0005_refusal_resolved_by_pull.sql"),
    ),
    (
        "0006_replaced_local_answers.sql",
        include_str!("../migrations/0006_replaced_local_answers.sql"),
    ),
];

/// `PRAGMA application_id` of a CDHT database ("CDHT" in ASCII).
pub const APPLICATION_ID: i64 = 0x4344_4854;

/// The schema version this binary writes.
#[must_use]
pub fn latest_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

pub fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Refuses a database from a newer app and one that is not ours, before anything is written.
pub fn check_compatible(conn: &Connection) -> Result<i64> {
    let version = schema_version(conn)?;
    let supported = latest_version();
    if version > supported {
        return Err(StoreError::TooNew {
            found: version,
            supported,
        });
    }
    let application_id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    if version > 0 && application_id != APPLICATION_ID {
        return Err(StoreError::Corrupt(format!(
            "not a CDHT database (application_id {application_id})"
        )));
    }
    Ok(version)
}

/// Applies the missing migrations, each atomically with its version bump.
pub fn migrate(conn: &mut Connection) -> Result<i64> {
    let mut version = check_compatible(conn)?;
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let target = i64::try_from(index + 1).unwrap_or(i64::MAX);
        if target <= version {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the write lock.
        if schema_version(&tx)? >= target {
            version = target;
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|err| match StoreError::from(err) {
                StoreError::Database(err) => {
                    StoreError::Internal(format!("migration {name} failed: {err}"))
                }
                other => other,
            })?;
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
        version = target;
    }
    Ok(version)
}
