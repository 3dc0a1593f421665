//! The catalogs of indicators: installed ones and their announcement.

use super::{add_change, now, write_tx, SqliteStorage};
use cdht_core::sync::Change;
use cdht_core::Catalog;
use cdht_server_db::{StorageError, StorageResult};
use rusqlite::{params, OptionalExtension, Transaction};

/// A catalog change, for every device (no unit, subject or origin), with
/// the catalog's options applied: the shape every released build reads.
fn add_catalog_change(tx: &Transaction<'_>, catalog: &Catalog) -> StorageResult<()> {
    add_change(
        tx,
        None,
        None,
        None,
        &Change::Catalog {
            catalog: catalog.for_devices(),
        },
    )
}

pub(super) fn catalogs(db: &SqliteStorage) -> StorageResult<Vec<Catalog>> {
    let conn = db.conn()?;
    let mut stmt = conn.prepare("SELECT json FROM catalogs ORDER BY id")?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    rows.iter()
        .map(|json| serde_json::from_str(json).map_err(|e| StorageError::Corrupt(e.to_string())))
        .collect()
}

pub(super) fn catalog_revisions(db: &SqliteStorage) -> StorageResult<Vec<(String, u32)>> {
    let conn = db.conn()?;
    // Once per push: prepared once per connection.
    let mut stmt = conn.prepare_cached("SELECT id, revision FROM catalogs ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(super) fn add_catalog(db: &SqliteStorage, catalog: &Catalog) -> StorageResult<()> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    let id = catalog.id.as_str();
    let installed: Option<u32> = tx
        .query_row("SELECT revision FROM catalogs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    cdht_server_db::rules::may_install_catalog(id, catalog.revision, installed)?;
    let json = serde_json::to_string(catalog).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO catalogs (id, revision, json, added_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET revision = ?2, json = ?3, added_at = ?4",
        params![id, catalog.revision, json, now()],
    )?;
    add_catalog_change(&tx, catalog)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn announce_shipped_catalog(
    db: &SqliteStorage,
    catalog: &Catalog,
) -> StorageResult<bool> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    let id = catalog.id.as_str();
    let key = format!("catalog_announced:{id}");
    let announced: u32 = tx
        .query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let installed: u32 = tx
        .query_row("SELECT revision FROM catalogs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0);
    if catalog.revision <= announced.max(installed) {
        return Ok(false);
    }
    // Only devices enrolled before this start can hold an older
    // revision; later ones run a build that ships this one or newer.
    let devices: i64 = tx.query_row("SELECT count(*) FROM devices", [], |r| r.get(0))?;
    if devices > 0 {
        add_catalog_change(&tx, catalog)?;
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, catalog.revision.to_string()],
    )?;
    tx.commit()?;
    Ok(devices > 0)
}
