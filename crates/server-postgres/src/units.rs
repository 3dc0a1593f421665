//! The unit tree: units, their area types, ancestors, join keys, imports.

use crate::changes::add_change;
use crate::error::{Error, Result};
use crate::{now, PgStorage};
use cdht_core::ids::UnitCode;
use cdht_core::sync::Change;
use cdht_core::{AreaType, Code};
use cdht_server_db::{NewUnit, Refusal, StorageError, UnitRow, UnitUpdate};
use postgres::{GenericClient, Transaction};
use std::collections::{HashMap, HashSet};

pub(crate) fn unit_row(c: &mut impl GenericClient, code: &str) -> Result<Option<UnitRow>> {
    let Some(r) = c.query_opt(
        "SELECT code, name, kind, parent, area, join_key FROM units WHERE code = $1",
        &[&code],
    )?
    else {
        return Ok(None);
    };
    let mut row = UnitRow {
        code: UnitCode::new(r.get::<_, String>(0)),
        name: r.get(1),
        kind: r.get(2),
        parent: r.get::<_, Option<String>>(3).map(UnitCode::new),
        own_area: r.get::<_, Option<&str>>(4).and_then(AreaType::parse),
        area: AreaType::Normal,
        join_key: r.get(5),
    };
    // Inherit the area type from the nearest ancestor that sets it (bounded,
    // so a broken tree with a cycle cannot loop forever).
    let mut area = row.own_area;
    let mut parent = row.parent.clone();
    let mut steps = 0;
    while area.is_none() && steps < 64 {
        let Some(p) = parent else { break };
        let r = c.query_one(
            "SELECT area, parent FROM units WHERE code = $1",
            &[&p.as_str()],
        )?;
        area = r.get::<_, Option<&str>>(0).and_then(AreaType::parse);
        parent = r.get::<_, Option<String>>(1).map(UnitCode::new);
        steps += 1;
    }
    row.area = area.unwrap_or_default();
    Ok(Some(row))
}

/// The unit itself, then its parent, up to the root (bounded, so a broken
/// tree with a cycle cannot loop forever).
pub(crate) fn ancestor_chain(c: &mut impl GenericClient, code: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut next = Some(code.to_owned());
    while let Some(code) = next.take() {
        if out.len() > 64 || out.contains(&code) {
            break;
        }
        let Some(r) = c.query_opt("SELECT parent FROM units WHERE code = $1", &[&code])? else {
            break;
        };
        out.push(code);
        next = r.get(0);
    }
    Ok(out)
}

/// Whether `code` is `root` or below it.
pub(crate) fn in_subtree(c: &mut impl GenericClient, root: &str, code: &str) -> Result<bool> {
    Ok(ancestor_chain(c, code)?.iter().any(|a| a == root))
}

fn insert_units(tx: &mut Transaction<'_>, units: &[NewUnit]) -> Result<()> {
    let at = now();
    for unit in units {
        // A savepoint, so that a refused unit can be told as such (the
        // transaction is rolled back whole by the caller anyway).
        let mut sp = tx.transaction()?;
        let done = sp.execute(
            "INSERT INTO units (code, name, kind, parent, area, join_key, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &unit.code.as_str(),
                &unit.name,
                &unit.kind,
                &unit.parent.as_ref().map(UnitCode::as_str),
                &unit.area.map(AreaType::as_str),
                &unit.join_key,
                &at,
            ],
        );
        match done.map_err(Error::from) {
            Ok(_) => sp.commit()?,
            Err(e) if e.is_constraint() => {
                return Err(StorageError::refused_saying(
                    Refusal::Conflict,
                    Code::UnitExists {
                        unit: unit.code.to_string(),
                    },
                    format!(
                        "unit {} exists already, or its parent does not exist",
                        unit.code
                    ),
                )
                .into())
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(crate) fn add_units(db: &PgStorage, units: &[NewUnit]) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    insert_units(&mut tx, units)?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn unit(db: &PgStorage, code: &str) -> Result<Option<UnitRow>> {
    unit_row(&mut *db.conn()?, code)
}

fn all_codes(c: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(c.query("SELECT code FROM units ORDER BY code", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub(crate) fn units(db: &PgStorage) -> Result<Vec<UnitRow>> {
    let mut conn = db.conn()?;
    // One snapshot for the whole tree.
    let mut tx = conn
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let mut out = Vec::new();
    for code in all_codes(&mut tx)? {
        if let Some(row) = unit_row(&mut tx, &code)? {
            out.push(row);
        }
    }
    tx.commit()?;
    Ok(out)
}

pub(crate) fn ancestors(db: &PgStorage, code: &str) -> Result<Vec<UnitCode>> {
    Ok(ancestor_chain(&mut *db.conn()?, code)?
        .into_iter()
        .map(UnitCode::new)
        .collect())
}

pub(crate) fn set_join_key(db: &PgStorage, code: &str, join_key: &str) -> Result<()> {
    let n = db.conn()?.execute(
        "UPDATE units SET join_key = $2, updated_at = $3 WHERE code = $1",
        &[&code, &join_key, &now()],
    )?;
    if n == 0 {
        return Err(StorageError::refused_saying(
            Refusal::NotFound,
            Code::UnknownUnit {
                unit: code.to_string(),
            },
            format!("no unit {code} (see `cdht-server units list`)"),
        )
        .into());
    }
    Ok(())
}

pub(crate) fn import_units(
    db: &PgStorage,
    new: &[NewUnit],
    updates: &[UnitUpdate],
) -> Result<Vec<UnitCode>> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    // The unit tree is read whole and rewritten: one import at a time, and
    // no other writer of units between the read and the commit. The counter
    // first, in the backend's lock order.
    crate::changes::lock_last_seq(&mut tx)?;
    tx.batch_execute("LOCK TABLE units IN SHARE ROW EXCLUSIVE MODE")?;
    // New units first: an update may move a unit below one of them.
    insert_units(&mut tx, new)?;
    let codes = all_codes(&mut tx)?;
    let mut before: HashMap<String, AreaType> = HashMap::new();
    for code in &codes {
        if let Some(row) = unit_row(&mut tx, code)? {
            before.insert(code.clone(), row.area);
        }
    }
    let mut changed: HashSet<String> = HashSet::new();
    for u in updates {
        let n = tx.execute(
            "UPDATE units SET name = $2, kind = $3, parent = $4, area = $5, updated_at = $6
             WHERE code = $1 AND NOT (name = $2 AND kind = $3
                AND parent IS NOT DISTINCT FROM $4 AND area IS NOT DISTINCT FROM $5)",
            &[
                &u.code.as_str(),
                &u.name,
                &u.kind,
                &u.parent.as_ref().map(UnitCode::as_str),
                &u.area.map(AreaType::as_str),
                &now(),
            ],
        )?;
        if n > 0 {
            changed.insert(u.code.as_str().to_owned());
        }
    }
    // A new parent must not make a loop with the units already there.
    for code in &changed {
        let chain = ancestor_chain(&mut tx, code)?;
        let root_parent: Option<Option<String>> = match chain.last() {
            Some(last) => tx
                .query_opt("SELECT parent FROM units WHERE code = $1", &[last])?
                .map(|r| r.get(0)),
            None => None,
        };
        if matches!(root_parent, Some(Some(_))) {
            return Err(StorageError::refused_saying(
                Refusal::Conflict,
                Code::Cycle {
                    unit: code.to_string(),
                },
                format!("the new parent of {code} makes a loop in the unit tree"),
            )
            .into());
        }
    }
    let mut out = Vec::new();
    for code in &codes {
        let Some(row) = unit_row(&mut tx, code)? else {
            continue;
        };
        let was_changed = changed.contains(code);
        if was_changed || before.get(code) != Some(&row.area) {
            add_change(
                &mut tx,
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
