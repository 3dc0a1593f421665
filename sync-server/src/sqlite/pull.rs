//! A device's pull: the changes of its scope after a cursor.

use super::{SqliteStorage, SUBTREE};
use crate::storage::{DeviceRef, StorageError, StorageResult};
use cdht_core::sync::{Change, DeviceScope, PullResponse, ServerChange};
use rusqlite::params;

/// An own-records pull (`?1` unit, `?2` since, `?3` device, `?4` limit): the
/// changes of its unit and catalogs, and those of the people it pushed that
/// others made. Two index ranges (migration 0004), never a walk of the whole
/// log, so what an empty pull costs does not grow with the log.
const OWN_RECORDS_PULL: &str = "SELECT seq, at, body FROM changes WHERE seq IN (
        SELECT seq FROM changes
        WHERE kind IN ('catalog', 'unit') AND seq > ?2 AND (kind = 'catalog' OR unit = ?1)
        UNION ALL
        SELECT c.seq FROM device_people d
        JOIN changes c ON c.subject = d.person AND c.seq > ?2
        WHERE d.device_id = ?3 AND (c.origin IS NULL OR c.origin <> ?3))
     ORDER BY seq LIMIT ?4";

pub(super) fn pull(
    db: &SqliteStorage,
    device: &DeviceRef,
    since: u64,
    limit: u32,
) -> StorageResult<PullResponse> {
    let conn = db.conn()?;
    // The filter is in the query, so LIMIT counts only what the device
    // gets: `more` means another matching change exists, and the cursor
    // (the last seq returned) never skips one.
    let sql = match device.scope {
        // The people it pushed (as others changed them), its unit, catalogs.
        DeviceScope::OwnRecords => OWN_RECORDS_PULL.to_owned(),
        // Everything of its subtree but its own pushes, and catalogs.
        DeviceScope::UnitRecords => format!(
            "{SUBTREE} SELECT seq, at, body FROM changes
             WHERE seq > ?2 AND (kind = 'catalog'
                OR (unit IN (SELECT code FROM sub)
                    AND NOT (kind = 'record' AND origin IS NOT NULL AND origin = ?3)))
             ORDER BY seq LIMIT ?4"
        ),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows: Vec<(u64, String, String)> = stmt
        .query_map(
            params![
                device.unit.as_str(),
                since,
                device.device_id.to_string(),
                i64::from(limit) + 1
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit as usize;
    let mut changes = Vec::new();
    for (seq, at, body) in rows.into_iter().take(limit as usize) {
        let change: Change =
            serde_json::from_str(&body).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        changes.push(ServerChange { seq, at, change });
    }
    let cursor = changes.last().map_or(since, |c| c.seq);
    Ok(PullResponse {
        cursor,
        more,
        changes,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// An own-records pull looks changes up by index, never scans the log
    /// (the cost of an empty pull must not grow with it; the benchmark
    /// `sync_bench` measures it with 100,000 changes).
    #[test]
    fn own_records_pull_never_scans_the_change_log() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let conn = storage.conn().unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {OWN_RECORDS_PULL}"))
            .unwrap()
            .query_map(params!["U1", 0, "D1", 100], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN")),
            "{plan:#?}"
        );
        assert!(
            plan.iter().any(|s| s.contains("changes_broadcast"))
                && plan.iter().any(|s| s.contains("changes_subject")),
            "{plan:#?}"
        );
    }
}
