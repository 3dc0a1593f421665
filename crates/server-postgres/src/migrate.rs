//! The schema's numbered migrations and their runner.

use crate::error::Result;
use cdht_server_db::StorageError;
use postgres::Client;

/// The migrations, in order; migration `n` is `MIGRATIONS[n - 1]`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_schema.sql"),
    include_str!("../migrations/0002_deletes.sql"),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Any constant of its own, so that instances starting at once migrate one
/// after the other (the lock is released at the transaction's end).
const MIGRATION_LOCK: i64 = 0x0cd4_7001;

/// Brings the database to [`SCHEMA_VERSION`]: each pending migration and its
/// row in `schema_migrations` commit together (PostgreSQL's DDL is
/// transactional). A database of a newer version is refused untouched.
pub fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    bigint PRIMARY KEY,
            applied_at text NOT NULL
        )",
    )?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    if found > i64::from(SCHEMA_VERSION) {
        return Err(StorageError::SchemaTooNew {
            found: u32::try_from(found).unwrap_or(u32::MAX),
            known: SCHEMA_VERSION,
        }
        .into());
    }
    for (version, sql) in (1i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&version, &crate::now()],
        )?;
    }
    tx.commit()?;
    Ok(())
}
