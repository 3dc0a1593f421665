//! Opening the encrypted database, and turning a plain one (written before
//! encryption) into an encrypted one on first start.
//!
//! The conversion never has the data in only one place that could be half
//! written: the encrypted copy is made beside the plain file under
//! [`ENCRYPTING_SUFFIX`], checked table by table, and only then renamed over
//! the plain file (one atomic step). A copy left by a crash is deleted at the
//! next start and the conversion runs again from the intact plain file.

use crate::error::{Result, StoreError};
use crate::key::DatabaseKey;
use rusqlite::{Connection, OpenFlags};
use std::fs;
use std::path::{Path, PathBuf};

/// The encrypted copy being made, next to the database file.
pub const ENCRYPTING_SUFFIX: &str = ".encrypting";

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(StoreError::io(format!("removing {}", path.display()), err)),
    }
}

/// Opens `db_path` with `key` and proves the key reads it. A file the key does
/// not decrypt (another key, or damage: SQLCipher cannot tell them apart) is
/// [`StoreError::Corrupt`] and is left untouched.
pub fn open_connection(db_path: &Path, key: &DatabaseKey) -> Result<Connection> {
    open_connection_with_flags(db_path, key, OpenFlags::default())
}

fn open_connection_with_flags(
    db_path: &Path,
    key: &DatabaseKey,
    flags: OpenFlags,
) -> Result<Connection> {
    let conn = Connection::open_with_flags(db_path, flags)?;
    // First statement on the connection, before anything reads a page.
    conn.pragma_update(None, "key", key.sqlcipher_raw_key().as_str())?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| {
        row.get::<_, i64>(0)
    })
    .map_err(|err| match StoreError::from(err) {
        StoreError::Corrupt(message) => StoreError::Corrupt(format!(
            "{} cannot be read with this device's key (another key, or damaged): {message}",
            db_path.display()
        )),
        other => other,
    })?;
    Ok(conn)
}

/// Deletes an encrypted copy a crash left half made (and its journal); the
/// plain file beside it is still whole.
pub fn discard_unfinished(db_path: &Path) -> Result<()> {
    let copy = with_suffix(db_path, ENCRYPTING_SUFFIX);
    for suffix in ["", "-journal", "-wal", "-shm"] {
        remove_if_present(&with_suffix(&copy, suffix))?;
    }
    Ok(())
}

/// What must be the same in the plain database and its encrypted copy.
#[derive(Debug, PartialEq, Eq)]
struct Census {
    user_version: i64,
    application_id: i64,
    /// Rows per table, by table name.
    tables: Vec<(String, i64)>,
}

fn census(conn: &Connection, schema: &str) -> Result<Census> {
    let version: i64 =
        conn.query_row(&format!("PRAGMA {schema}.user_version"), [], |r| r.get(0))?;
    let app_id: i64 =
        conn.query_row(&format!("PRAGMA {schema}.application_id"), [], |r| r.get(0))?;
    let mut tables = Vec::new();
    let names: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM {schema}.sqlite_schema WHERE type = 'table' ORDER BY name"
        ))?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let count: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {schema}.\"{quoted}\""),
            [],
            |r| r.get(0),
        )?;
        tables.push((name, count));
    }
    Ok(Census {
        user_version: version,
        application_id: app_id,
        tables,
    })
}

/// Encrypts the plain database at `db_path` in place with `key`, keeping every
/// row, the schema version and the application id. The plain file (and its
/// `-wal`, `-shm`) disappears only once the encrypted copy has been checked.
pub fn encrypt_plain_database(db_path: &Path, key: &DatabaseKey) -> Result<()> {
    discard_unfinished(db_path)?;
    let copy = with_suffix(db_path, ENCRYPTING_SUFFIX);
    let plain = Connection::open(db_path)?;
    // The plain file may be another app's or a newer one: refuse before writing.
    crate::migrate::check_compatible(&plain)?;
    // Every committed row into the plain file, the WAL emptied: if the app stops
    // anywhere below, the plain file alone is the whole database.
    let (busy, _, _): (i64, i64, i64) =
        plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        return Err(StoreError::Busy(
            "another connection holds the plain database; it is encrypted at the next start"
                .to_owned(),
        ));
    }
    let expected = census(&plain, "main")?;
    plain.execute(
        "ATTACH DATABASE ?1 AS encrypted KEY ?2",
        (
            copy.to_string_lossy().as_ref(),
            key.sqlcipher_raw_key().as_str(),
        ),
    )?;
    plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    plain.pragma_update(Some("encrypted"), "user_version", expected.user_version)?;
    plain.pragma_update(Some("encrypted"), "application_id", expected.application_id)?;
    plain.execute_batch("DETACH DATABASE encrypted")?;
    plain.close().map_err(|(_, err)| StoreError::from(err))?;

    let check = open_connection_with_flags(&copy, key, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let integrity: String = check.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    let found = census(&check, "main")?;
    if integrity != "ok" || found != expected {
        drop(check);
        discard_unfinished(db_path)?;
        return Err(StoreError::Internal(format!(
            "the encrypted copy did not match the plain database (integrity: {integrity})"
        )));
    }
    check.close().map_err(|(_, err)| StoreError::from(err))?;
    fs::File::open(&copy)
        .and_then(|file| file.sync_all())
        .map_err(|err| StoreError::io(format!("syncing {}", copy.display()), err))?;
    // The plain WAL, if one is left, is empty (checkpointed above); it must not
    // sit next to the encrypted file.
    for suffix in ["-wal", "-shm"] {
        remove_if_present(&with_suffix(db_path, suffix))?;
    }
    fs::rename(&copy, db_path).map_err(|err| {
        StoreError::io(
            format!("replacing {} by its encrypted copy", db_path.display()),
            err,
        )
    })?;
    if let Some(dir) = db_path.parent() {
        crate::files::sync_dir(dir)
            .map_err(|err| StoreError::io(format!("syncing {}", dir.display()), err))?;
    }
    Ok(())
}
