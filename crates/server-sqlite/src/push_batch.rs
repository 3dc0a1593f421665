//! What one push batch keeps while its records are applied: what it
//! learnt (so later records need not ask again), its change log positions,
//! its time.

use cdht_core::AreaType;
use cdht_server_db::StorageResult;
use rusqlite::{ToSql, Transaction};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// What a batch learnt from its earlier records, so that its later ones
/// need not ask again (it is one transaction: what it wrote stays true).
#[derive(Default)]
pub(super) struct BatchMemo {
    /// The effective area type of units.
    pub areas: HashMap<String, AreaType>,
    /// The people it wrote, with their owning unit.
    pub people: HashMap<String, String>,
    /// The people `device_people` has for this device.
    pub linked: HashSet<String>,
    /// The points layouts looked up (`points.rs`), by indicator list.
    pub points_layouts: HashMap<String, u16>,
    /// The last change log position the batch took, once it took one.
    last_seq: Option<i64>,
    /// The `push` rows of the audit log, written at the batch's end.
    pub audits: Vec<PushAudit>,
}

impl BatchMemo {
    /// The next change log position. Read from the counter once, kept
    /// here, written back by [`Self::save_seq`] before the commit: the
    /// transaction holds the write lock throughout (see
    /// [`super::next_change_seq`]).
    pub(super) fn next_seq(&mut self, tx: &Transaction<'_>) -> StorageResult<i64> {
        let last = match self.last_seq {
            Some(last) => last,
            None => tx.query_row("SELECT last FROM change_counter", [], |r| r.get(0))?,
        };
        self.last_seq = Some(last + 1);
        Ok(last + 1)
    }

    pub(super) fn save_seq(&self, tx: &Transaction<'_>) -> StorageResult<()> {
        if let Some(last) = self.last_seq {
            tx.prepare_cached("UPDATE change_counter SET last = ?1")?
                .execute([last])?;
        }
        Ok(())
    }
}

/// The change that first stores a record, carried by its row (migration
/// 0012): its change log position and its unit's area type then.
pub(super) struct FirstStore {
    pub seq: i64,
    pub difficult: bool,
}

/// What a record's row keeps of its first change when it is written again
/// (the UPSERT's `DO UPDATE`, where a column names the value held): the
/// device that first pushed it, and when, once they differ from the
/// columns that now change. NULL until then, so an ingest stores nothing.
pub(super) const FIRST_STORE_KEPT: &str = "added_by = COALESCE(added_by, NULLIF(device_id, ?3)),
    added_at = COALESCE(added_at, updated_at)";

/// When a batch is applied: as RFC 3339 text ([`super::now`]) for the rows, as
/// Unix milliseconds for the change log.
pub(super) struct BatchTime {
    pub text: String,
    pub millis: i64,
}

impl BatchTime {
    pub(super) fn now() -> Self {
        let at = chrono::Utc::now();
        Self {
            text: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            millis: at.timestamp_millis(),
        }
    }
}

/// An assessment's new state, for the audit log: a `push` row of the
/// batch's device at the batch's time. Kept until the batch's end, where
/// [`write_audits`] writes them all (nothing in a push reads them back).
pub(super) struct PushAudit {
    pub unit: String,
    pub assessment: String,
    pub from: Option<&'static str>,
    pub to: &'static str,
}

/// Rows per audit INSERT, largest first: a few fixed sizes, so the
/// statement cache holds four statements, not one per batch size.
const AUDIT_ROWS: [usize; 4] = [64, 16, 4, 1];

/// Writes a batch's `push` audit rows, in their order, a few statements
/// for the whole batch. Why: `audit_log` is AUTOINCREMENT, and SQLite reads
/// and rewrites its `sqlite_sequence` row once per INSERT statement, which
/// made a one-row INSERT cost half an assessment's. Same rows, same ids.
pub(super) fn write_audits(
    tx: &Transaction<'_>,
    at: &str,
    actor: &str,
    rows: &[PushAudit],
) -> StorageResult<()> {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        AUDIT_ROWS
            .iter()
            .map(|&n| {
                let values: Vec<String> = (0..n)
                    .map(|i| {
                        let p = 3 + 4 * i;
                        format!(
                            "(?1, ?2, 'push', ?{p}, ?{}, ?{}, ?{}, NULL)",
                            p + 1,
                            p + 2,
                            p + 3
                        )
                    })
                    .collect();
                format!(
                    "INSERT INTO audit_log (at, actor, action, unit, assessment, from_state,
                        to_state, detail) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    let mut rest = rows;
    while !rest.is_empty() {
        let k = AUDIT_ROWS
            .iter()
            .position(|&n| n <= rest.len())
            .unwrap_or(AUDIT_ROWS.len() - 1);
        let (chunk, tail) = rest.split_at(AUDIT_ROWS[k]);
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(2 + 4 * chunk.len());
        params.push(&at);
        params.push(&actor);
        for row in chunk {
            params.extend([&row.unit as &dyn ToSql, &row.assessment, &row.from, &row.to]);
        }
        tx.prepare_cached(&sql[k])?.execute(params.as_slice())?;
        rest = tail;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 87 rows take every statement size (64, 16, 4, 1, 1, 1) and come back
    /// in their order, each with its own values.
    #[test]
    fn audits_of_a_batch_keep_their_order_across_statements() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::SqliteStorage::open(dir.path()).unwrap();
        let mut conn = db.conn().unwrap();
        let rows: Vec<PushAudit> = (0..87)
            .map(|i| PushAudit {
                unit: format!("U{}", i % 3),
                assessment: format!("A{i}"),
                from: (i % 2 == 1).then_some("draft"),
                to: "submitted",
            })
            .collect();
        let tx = crate::write_tx(&mut conn).unwrap();
        write_audits(&tx, "T", "device:D", &rows).unwrap();
        tx.commit().unwrap();
        let got: Vec<(String, String, String, String, Option<String>, String)> = conn
            .prepare("SELECT at, actor, unit, assessment, from_state, to_state FROM audit_log ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<_> = rows
            .iter()
            .map(|r| {
                let from = r.from.map(str::to_owned);
                (
                    "T".into(),
                    "device:D".into(),
                    r.unit.clone(),
                    r.assessment.clone(),
                    from,
                    r.to.into(),
                )
            })
            .collect();
        assert_eq!(got, want);
        let actions: Vec<String> = conn
            .prepare("SELECT DISTINCT action FROM audit_log")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(actions, ["push"]);
    }
}
