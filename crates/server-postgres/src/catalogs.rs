//! The catalogs of indicators: installed ones and their announcement.

use crate::changes::{add_change, lock_last_seq};
use crate::error::{corrupt, Result};
use crate::{now, PgStorage};
use cdht_core::sync::Change;
use cdht_core::Catalog;
use postgres::Transaction;

/// A catalog change, for every device (no unit, subject or origin), with
/// the catalog's options applied: the shape every released build reads.
fn add_catalog_change(tx: &mut Transaction<'_>, catalog: &Catalog) -> Result<()> {
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

fn revision(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn catalogs(db: &PgStorage) -> Result<Vec<Catalog>> {
    db.conn()?
        .query("SELECT json FROM catalogs ORDER BY id", &[])?
        .iter()
        .map(|r| serde_json::from_str(r.get(0)).map_err(corrupt))
        .collect()
}

pub(crate) fn catalog_revisions(db: &PgStorage) -> Result<Vec<(String, u32)>> {
    Ok(db
        .conn()?
        .query("SELECT id, revision FROM catalogs ORDER BY id", &[])?
        .iter()
        .map(|r| (r.get(0), revision(r.get(1))))
        .collect())
}

pub(crate) fn add_catalog(db: &PgStorage, catalog: &Catalog) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    // The counter first (lock order); it also serialises two installs of
    // one catalog, so the revision read below stays true to the commit.
    lock_last_seq(&mut tx)?;
    let id = catalog.id.as_str();
    let installed = tx
        .query_opt("SELECT revision FROM catalogs WHERE id = $1", &[&id])?
        .map(|r| revision(r.get(0)));
    cdht_server_db::rules::may_install_catalog(id, catalog.revision, installed)?;
    let json = serde_json::to_string(catalog).map_err(corrupt)?;
    tx.execute(
        "INSERT INTO catalogs (id, revision, json, added_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET revision = $2, json = $3, added_at = $4",
        &[&id, &i64::from(catalog.revision), &json, &now()],
    )?;
    add_catalog_change(&mut tx, catalog)?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn announce_shipped_catalog(db: &PgStorage, catalog: &Catalog) -> Result<bool> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    // Every instance announces its built-in catalogs at start: the counter
    // lock makes them do it one after the other, so one change is appended.
    lock_last_seq(&mut tx)?;
    let id = catalog.id.as_str();
    let key = format!("catalog_announced:{id}");
    let announced: u32 = tx
        .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?
        .and_then(|r| r.get::<_, &str>(0).parse().ok())
        .unwrap_or(1);
    let installed: u32 = tx
        .query_opt("SELECT revision FROM catalogs WHERE id = $1", &[&id])?
        .map_or(0, |r| revision(r.get(0)));
    if catalog.revision <= announced.max(installed) {
        return Ok(false);
    }
    // Only devices enrolled before this start can hold an older
    // revision; later ones run a build that ships this one or newer.
    let devices: i64 = tx.query_one("SELECT count(*) FROM devices", &[])?.get(0);
    if devices > 0 {
        add_catalog_change(&mut tx, catalog)?;
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &catalog.revision.to_string()],
    )?;
    tx.commit()?;
    Ok(devices > 0)
}
