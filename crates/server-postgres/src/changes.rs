//! The change log devices pull, its positions, and the audit log.
//!
//! Positions come from `change_counter`, one row, taken by an UPDATE inside
//! the writing transaction. Its row lock is held until that transaction
//! commits, so the writer that took position n commits before any other can
//! take n + 1: positions commit in their order, and a pull that saw n never
//! misses a change below n committed later (on SQLite, its single writer
//! gave this). The counter, not an identity column or a sequence (which
//! hand out numbers without ordering the commits), and not an advisory lock
//! next to one: records carry the position of their first store
//! (`added_seq`), taken from the same counter (push.rs).

use crate::error::{corrupt, Result};
use cdht_core::sync::Change;
use postgres::Transaction;

/// The next change log position, the counter locked until the commit.
pub(crate) fn next_change_seq(tx: &mut Transaction<'_>) -> Result<i64> {
    Ok(tx
        .query_one(
            "UPDATE change_counter SET last = last + 1 RETURNING last",
            &[],
        )?
        .get(0))
}

/// Locks the counter and reads the last position given, for a writer that
/// takes several (a push): it writes the last it took back with
/// [`save_last_seq`] before its commit.
pub(crate) fn lock_last_seq(tx: &mut Transaction<'_>) -> Result<i64> {
    Ok(tx
        .query_one("SELECT last FROM change_counter FOR UPDATE", &[])?
        .get(0))
}

pub(crate) fn save_last_seq(tx: &mut Transaction<'_>, last: i64) -> Result<()> {
    tx.execute("UPDATE change_counter SET last = $1", &[&last])?;
    Ok(())
}

/// Appends a change for devices to pull. `unit`: the unit it belongs to
/// (`None`: every device, as for catalogs); `subject`: the person it
/// concerns; `origin`: the device whose push caused it.
pub(crate) fn add_change(
    tx: &mut Transaction<'_>,
    unit: Option<&str>,
    subject: Option<&str>,
    origin: Option<&str>,
    change: &Change,
) -> Result<()> {
    let kind = change.kind_name();
    let body = serde_json::to_string(change).map_err(corrupt)?;
    let seq = next_change_seq(tx)?;
    tx.execute(
        "INSERT INTO changes (seq, unit, kind, subject, origin, at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&seq, &unit, &kind, &subject, &origin, &crate::now(), &body],
    )?;
    Ok(())
}

/// One row of the audit log.
pub(crate) struct AuditRow<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub unit: Option<&'a str>,
    pub assessment: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub detail: Option<&'a str>,
}

pub(crate) fn audit(tx: &mut Transaction<'_>, row: &AuditRow<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, unit, assessment, from_state, to_state, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &row.at,
            &row.actor,
            &row.action,
            &row.unit,
            &row.assessment,
            &row.from,
            &row.to,
            &row.detail,
        ],
    )?;
    Ok(())
}
