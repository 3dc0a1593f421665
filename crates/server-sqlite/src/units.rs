//! The unit tree: units, their area types, ancestors, join keys, imports.

use super::{add_change, now, write_tx, SqliteStorage};
use cdht_core::ids::UnitCode;
use cdht_core::sync::Change;
use cdht_core::AreaType;
use cdht_core::Code;
use cdht_server_db::{NewUnit, Refusal, StorageError, StorageResult, UnitRow, UnitUpdate};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::{HashMap, HashSet};

fn parse_area(s: Option<String>) -> Option<AreaType> {
    s.as_deref().and_then(AreaType::parse)
}

pub(super) fn unit_row(conn: &rusqlite::Connection, code: &str) -> StorageResult<Option<UnitRow>> {
    let row = conn
        .prepare_cached(
            "SELECT code, name, kind, parent, area, join_key FROM units WHERE code = ?1",
        )?
        .query_row([code], |r| {
            Ok(UnitRow {
                code: UnitCode::new(r.get::<_, String>(0)?),
                name: r.get(1)?,
                kind: r.get(2)?,
                parent: r.get::<_, Option<String>>(3)?.map(UnitCode::new),
                own_area: parse_area(r.get(4)?),
                area: AreaType::Normal,
                join_key: r.get(5)?,
            })
        })
        .optional()?;
    let Some(mut row) = row else { return Ok(None) };
    // Inherit the area type from the nearest ancestor that sets it.
    let mut area = row.own_area;
    let mut parent = row.parent.clone();
    while area.is_none() {
        let Some(p) = parent else { break };
        let (a, pp): (Option<String>, Option<String>) = conn
            .prepare_cached("SELECT area, parent FROM units WHERE code = ?1")?
            .query_row([p.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        area = parse_area(a);
        parent = pp.map(UnitCode::new);
    }
    row.area = area.unwrap_or_default();
    Ok(Some(row))
}

/// The unit itself, then its parent, up to the root (bounded, so a broken
/// tree with a cycle cannot loop forever).
pub(super) fn ancestor_chain(conn: &Connection, code: &str) -> StorageResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut next = Some(code.to_owned());
    while let Some(c) = next.take() {
        if out.len() > 64 || out.contains(&c) {
            break;
        }
        let parent: Option<Option<String>> = conn
            .prepare_cached("SELECT parent FROM units WHERE code = ?1")?
            .query_row([&c], |r| r.get(0))
            .optional()?;
        let Some(parent) = parent else { break };
        out.push(c);
        next = parent;
    }
    Ok(out)
}

/// Whether `code` is `root` or below it.
pub(super) fn in_subtree(conn: &Connection, root: &str, code: &str) -> StorageResult<bool> {
    Ok(ancestor_chain(conn, code)?.iter().any(|a| a == root))
}

fn insert_units(tx: &Transaction<'_>, units: &[NewUnit]) -> StorageResult<()> {
    let at = now();
    for unit in units {
        tx.execute(
            "INSERT INTO units (code, name, kind, parent, area, join_key, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                unit.code.as_str(),
                unit.name,
                unit.kind,
                unit.parent.as_ref().map(UnitCode::as_str),
                unit.area.map(AreaType::as_str),
                unit.join_key,
                at
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StorageError::refused_saying(
                    Refusal::Conflict,
                    Code::UnitExists {
                        unit: unit.code.to_string(),
                    },
                    format!(
                        "unit {} exists already, or its parent does not exist",
                        unit.code
                    ),
                )
            }
            other => other.into(),
        })?;
    }
    Ok(())
}

pub(super) fn add_units(db: &SqliteStorage, units: &[NewUnit]) -> StorageResult<()> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    insert_units(&tx, units)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn unit(db: &SqliteStorage, code: &str) -> StorageResult<Option<UnitRow>> {
    unit_row(&*db.conn()?, code)
}

pub(super) fn units(db: &SqliteStorage) -> StorageResult<Vec<UnitRow>> {
    let conn = db.conn()?;
    let codes: Vec<String> = {
        let mut stmt = conn.prepare("SELECT code FROM units ORDER BY code")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(row) = unit_row(&conn, &code)? {
            out.push(row);
        }
    }
    Ok(out)
}

pub(super) fn ancestors(db: &SqliteStorage, code: &str) -> StorageResult<Vec<UnitCode>> {
    Ok(ancestor_chain(&*db.conn()?, code)?
        .into_iter()
        .map(UnitCode::new)
        .collect())
}

pub(super) fn set_join_key(db: &SqliteStorage, code: &str, join_key: &str) -> StorageResult<()> {
    let n = db.conn()?.execute(
        "UPDATE units SET join_key = ?2, updated_at = ?3 WHERE code = ?1",
        params![code, join_key, now()],
    )?;
    if n == 0 {
        return Err(StorageError::refused_saying(
            Refusal::NotFound,
            Code::UnknownUnit {
                unit: code.to_string(),
            },
            format!("no unit {code} (see `cdht-server units list`)"),
        ));
    }
    Ok(())
}

pub(super) fn import_units(
    db: &SqliteStorage,
    new: &[NewUnit],
    updates: &[UnitUpdate],
) -> StorageResult<Vec<UnitCode>> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    // New units first: an update may move a unit below one of them.
    insert_units(&tx, new)?;
    let codes: Vec<String> = tx
        .prepare("SELECT code FROM units ORDER BY code")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut before: HashMap<String, AreaType> = HashMap::new();
    for code in &codes {
        if let Some(row) = unit_row(&tx, code)? {
            before.insert(code.clone(), row.area);
        }
    }
    let mut changed: HashSet<String> = HashSet::new();
    for u in updates {
        let n = tx.execute(
            "UPDATE units SET name = ?2, kind = ?3, parent = ?4, area = ?5, updated_at = ?6
             WHERE code = ?1 AND NOT (name = ?2 AND kind = ?3 AND parent IS ?4 AND area IS ?5)",
            params![
                u.code.as_str(),
                u.name,
                u.kind,
                u.parent.as_ref().map(UnitCode::as_str),
                u.area.map(AreaType::as_str),
                now()
            ],
        )?;
        if n > 0 {
            changed.insert(u.code.as_str().to_owned());
        }
    }
    // A new parent must not make a loop with the units already there.
    for code in &changed {
        let chain = ancestor_chain(&tx, code)?;
        let root_parent: Option<Option<String>> = match chain.last() {
            Some(last) => tx
                .query_row("SELECT parent FROM units WHERE code = ?1", [last], |r| {
                    r.get(0)
                })
                .optional()?,
            None => None,
        };
        if matches!(root_parent, Some(Some(_))) {
            return Err(StorageError::refused_saying(
                Refusal::Conflict,
                Code::Cycle {
                    unit: code.to_string(),
                },
                format!("the new parent of {code} makes a loop in the unit tree"),
            ));
        }
    }
    let mut out = Vec::new();
    for code in &codes {
        let Some(row) = unit_row(&tx, code)? else {
            continue;
        };
        let was_changed = changed.contains(code);
        if was_changed || before.get(code) != Some(&row.area) {
            add_change(
                &tx,
                Some(code),
                None,
                None,
                &Change::Unit { unit: row.info() },
            )?;
        }
        if was_changed {
            out.push(row.code);
        }
    }
    tx.commit()?;
    Ok(out)
}
