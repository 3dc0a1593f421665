//! A device's pull: the changes of its scope after a cursor.
//!
//! A pushed record's change names the stored record (migration 0006), and
//! carries it as the server holds it when pulled: its current version,
//! rebuilt here from its row. The changes themselves are the same as when
//! each held a copy (one per accepted version, not sent to the device that
//! pushed it), so records still come in the order they were first stored (a
//! person before its assessments); a record changed twice comes twice, at
//! its current version both times.

use super::{SqliteStorage, SUBTREE};
use cdht_core::assessment::Answers;
use cdht_core::ids::{CatalogId, GroupId, IndicatorId, UnitCode};
use cdht_core::sync::{
    AssessmentRecord, Change, DeviceScope, DeviceState, EvidenceRecord, PersonRecord, PullResponse,
    RecordBody, RecordEnvelope, ServerChange,
};
use cdht_core::AreaType;
use cdht_server_db::{DeviceRef, StorageError, StorageResult};
use rusqlite::types::ValueRef;
use rusqlite::{params, Row};

/// What every pull selects, for each change `picked` names (`seq`;
/// `logged` 1 for a row of the change log; `rk`, `rid`: the record it names,
/// see [`PICK_LOGGED`]): the change, and the row of the record (columns 6..
/// below). A record takes its unit from that row (`UNIT`); older changes
/// hold their own. A record's first change is carried by its row (migration
/// 0012): its time is `added_at`, or `updated_at` while the row was not
/// written again.
const SELECT_PICKED: &str = "SELECT x.seq,
        COALESCE(c.at, p.added_at, p.updated_at, a.added_at, a.updated_at, e.added_at,
            e.updated_at),
        c.body, COALESCE(c.unit, p.unit, a.unit, e.unit), x.rk,
        COALESCE(c.difficult, p.added_difficult, a.added_difficult, e.added_difficult),
        p.id, p.version, p.sent_hash, p.full_name, p.birth_year, p.phone, p.address,
        p.cccd_hmac IS NOT NULL, p.household, p.household_hash,
        a.id, a.version, a.hash, a.person, a.year, a.catalog, a.grp, a.answers, a.state,
        a.device_total,
        e.id, e.version, e.hash, e.assessment, e.indicator, e.sha256, e.size, e.content_type
     FROM picked x
     LEFT JOIN changes c ON x.logged AND c.seq = x.seq
     LEFT JOIN persons p ON x.rk = 0 AND p.id = x.rid
     LEFT JOIN assessments a ON x.rk = 1 AND a.id = x.rid
     LEFT JOIN evidence e ON x.rk = 2 AND e.id = x.rid
     WHERE (c.body IS NOT NULL OR p.id IS NOT NULL OR a.id IS NOT NULL OR e.id IS NOT NULL)
     ORDER BY x.seq LIMIT ?4 + 0";

// `LIMIT ?4 + 0`, not `LIMIT ?4`: SQLite's planner reads a bare bound
// LIMIT, so every new binding expired the statement and each pull prepared
// its query again (most of what an empty pull cost).

/// A row of the change log `c` as `picked` holds it.
const PICK_LOGGED: &str = "c.seq, 1, c.record_kind,
    CASE c.record_kind WHEN 0 THEN COALESCE(c.record, c.subject) ELSE c.record END";

/// A first change carried by a record's row (`r`, `kind` its record kind),
/// not sent to the device that pushed it (`?3`).
fn pick_added(kind: u8) -> String {
    format!("r.added_seq, 0, {kind}, r.id")
}
const NOT_PUSHED_HERE: &str = "COALESCE(r.added_by, r.device_id) <> ?3";

/// The records a change of the log names (for a unit-records pull, which
/// filters on their unit).
const LOGGED_RECORDS: &str = "changes c
     LEFT JOIN persons p ON c.record_kind = 0 AND p.id = COALESCE(c.record, c.subject)
     LEFT JOIN assessments a ON c.record_kind = 1 AND a.id = c.record
     LEFT JOIN evidence e ON c.record_kind = 2 AND e.id = c.record";

const UNIT: &str = "COALESCE(c.unit, p.unit, a.unit, e.unit)";

/// An own-records pull (`?1` unit, `?2` since, `?3` device, `?4` limit): the
/// changes of its unit and catalogs, and those of the people it pushed that
/// others made. Index ranges and lookups from the phone's people (migrations
/// 0004, 0012), never a walk of the whole log, so what an empty pull costs
/// does not grow with it.
fn own_records_pull() -> String {
    let (person, assessment, evidence) = (pick_added(0), pick_added(1), pick_added(2));
    format!(
        "WITH picked(seq, logged, rk, rid) AS (
            SELECT seq, 1, NULL, NULL FROM changes
            WHERE kind IN ('catalog', 'unit') AND seq > ?2 AND (kind = 'catalog' OR unit = ?1)
            UNION ALL
            SELECT {PICK_LOGGED} FROM device_people d
            JOIN changes c ON c.subject = d.person AND c.seq > ?2
            WHERE d.device_id = ?3 AND (c.origin IS NULL OR c.origin <> ?3)
            UNION ALL
            SELECT {person} FROM device_people d CROSS JOIN persons r ON r.id = d.person
            WHERE d.device_id = ?3 AND r.added_seq > ?2 AND {NOT_PUSHED_HERE}
            UNION ALL
            SELECT {assessment} FROM device_people d CROSS JOIN assessments r
                ON r.person = d.person
            WHERE d.device_id = ?3 AND r.added_seq > ?2 AND {NOT_PUSHED_HERE}
            UNION ALL
            SELECT {evidence} FROM device_people d CROSS JOIN assessments a
                ON a.person = d.person CROSS JOIN evidence r ON r.assessment = a.id
            WHERE d.device_id = ?3 AND r.added_seq > ?2 AND {NOT_PUSHED_HERE})
         {SELECT_PICKED}"
    )
}

/// A unit-records pull: everything of its subtree but its own pushes, and
/// catalogs. Each part walks its table by position and stops at the limit,
/// so the first `?4` of their union are the first `?4` changes.
fn unit_records_pull() -> String {
    let mine = "(SELECT code FROM sub)";
    let added = |table: &str, kind: u8| {
        format!(
            "SELECT * FROM (SELECT {} FROM {table} r INDEXED BY {table}_added
                WHERE r.added_seq > ?2 AND r.unit IN {mine} AND {NOT_PUSHED_HERE}
                ORDER BY r.added_seq LIMIT ?4 + 0)",
            pick_added(kind)
        )
    };
    format!(
        "{SUBTREE}, picked(seq, logged, rk, rid) AS (
            SELECT * FROM (SELECT {PICK_LOGGED} FROM {LOGGED_RECORDS}
                WHERE c.seq > ?2 AND (c.kind = 'catalog'
                    OR ({UNIT} IN {mine}
                        AND NOT (c.kind = 'record' AND c.origin IS NOT NULL AND c.origin = ?3)))
                ORDER BY c.seq LIMIT ?4 + 0)
            UNION ALL {}
            UNION ALL {}
            UNION ALL {})
         {SELECT_PICKED}",
        added("persons", 0),
        added("assessments", 1),
        added("evidence", 2)
    )
}

pub(super) fn pull(
    db: &SqliteStorage,
    device: &DeviceRef,
    since: u64,
    limit: u32,
    household: bool,
) -> StorageResult<PullResponse> {
    let conn = db.conn()?;
    // The filter is in the query, so LIMIT counts only what the device
    // gets: `more` means another matching change exists, and the cursor
    // (the last seq returned) never skips one.
    let sql = match device.scope {
        DeviceScope::OwnRecords => own_records_pull(),
        DeviceScope::UnitRecords => unit_records_pull(),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        device.unit.as_str(),
        since,
        device.device_id.to_string(),
        i64::from(limit) + 1
    ])?;
    let mut changes = Vec::new();
    let mut more = false;
    while let Some(row) = rows.next()? {
        if changes.len() == limit as usize {
            more = true;
            break;
        }
        changes.push(ServerChange {
            seq: row.get(0)?,
            at: at(row.get_ref(1)?)?,
            change: change(row, household)?,
        });
    }
    let cursor = changes.last().map_or(since, |c| c.seq);
    Ok(PullResponse {
        cursor,
        more,
        changes,
    })
}

/// A change's time: RFC 3339 text, or Unix milliseconds (record changes
/// since migration 0006), written out as [`super::now`] writes it.
fn at(value: ValueRef<'_>) -> StorageResult<String> {
    match value {
        ValueRef::Integer(millis) => chrono::DateTime::from_timestamp_millis(millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .ok_or_else(|| corrupt(format!("change time {millis}"))),
        other => Ok(other.as_str().map_err(corrupt)?.to_owned()),
    }
}

fn hash(row: &Row<'_>, column: usize) -> StorageResult<String> {
    super::hash_text(row.get_ref(column)?)?.ok_or_else(|| corrupt("a record without its hash"))
}

fn corrupt(what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(what.to_string())
}

fn parse<T: std::str::FromStr>(s: &str) -> StorageResult<T> {
    s.parse().map_err(|_| corrupt(format!("stored id {s}")))
}

/// The change of a row of [`SELECT_PICKED`]: its stored body, or the
/// record it names rebuilt from its row.
fn change(row: &Row<'_>, household: bool) -> StorageResult<Change> {
    if let Some(body) = row.get_ref(2)?.as_str_or_null().map_err(corrupt)? {
        return serde_json::from_str(body).map_err(corrupt);
    }
    let (body, version, hash) = match row.get::<_, u8>(4)? {
        0 => {
            let id: String = row.get(6)?;
            let mut person = PersonRecord {
                id: parse(&id)?,
                full_name: row.get(9)?,
                birth_year: row.get(10)?,
                cccd: None,
                phone: row.get(11)?,
                address: row.get(12)?,
                keep_cccd: row.get(13)?,
                household: None,
            };
            // The label goes only to clients asking for it, with the hash
            // of the body as sent (`household_hash`, set when one is held).
            let label: Option<String> = row.get(14)?;
            let hash = match label {
                Some(label) if household => {
                    person.household = Some(label);
                    hash(row, 15)?
                }
                _ => hash(row, 8)?,
            };
            (RecordBody::Person(person), row.get(7)?, hash)
        }
        1 => {
            let id: String = row.get(16)?;
            let person: String = row.get(19)?;
            let answers: Answers =
                serde_json::from_str(row.get_ref(23)?.as_str().map_err(corrupt)?)
                    .map_err(corrupt)?;
            let state = if row.get_ref(24)?.as_str().map_err(corrupt)? == "draft" {
                DeviceState::Draft
            } else {
                DeviceState::Submitted
            };
            let body = RecordBody::Assessment(AssessmentRecord {
                id: parse(&id)?,
                person: parse(&person)?,
                year: row.get(20)?,
                catalog: CatalogId::new(row.get::<_, String>(21)?),
                group: GroupId::new(row.get::<_, String>(22)?),
                answers,
                state,
                device_total: row.get(25)?,
            });
            (body, row.get(17)?, hash(row, 18)?)
        }
        _ => {
            let id: String = row.get(26)?;
            let assessment: String = row.get(29)?;
            let body = RecordBody::Evidence(EvidenceRecord {
                id: parse(&id)?,
                assessment: parse(&assessment)?,
                indicator: IndicatorId::new(row.get::<_, String>(30)?),
                sha256: row.get(31)?,
                size: row.get(32)?,
                content_type: row.get(33)?,
            });
            (body, row.get(27)?, hash(row, 28)?)
        }
    };
    let area = if row.get(5)? {
        AreaType::Difficult
    } else {
        AreaType::Normal
    };
    Ok(Change::Record {
        unit: UnitCode::new(row.get::<_, String>(3)?),
        area,
        record: RecordEnvelope {
            version,
            hash,
            body,
        },
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
            .prepare(&format!("EXPLAIN QUERY PLAN {}", own_records_pull()))
            .unwrap()
            .query_map(params!["U1", 0, "D1", 100], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // The one scan is of `picked` (x), the changes found.
        assert!(
            plan.iter()
                .all(|step| !step.starts_with("SCAN") || step == "SCAN x"),
            "{plan:#?}"
        );
        assert!(
            plan.iter().any(|s| s.contains("changes_broadcast"))
                && plan.iter().any(|s| s.contains("changes_subject")),
            "{plan:#?}"
        );
        // Records' first changes (migration 0012): from the phone's people,
        // never a walk of a table by position.
        assert!(plan.iter().all(|s| !s.contains("_added")), "{plan:#?}");
        assert!(
            plan.iter().any(|s| s.contains("assessments_person"))
                && plan.iter().any(|s| s.contains("evidence_assessment")),
            "{plan:#?}"
        );
    }

    /// A unit-records pull walks the log and each record table by position
    /// from the cursor, never a whole table (a first sync pages through a
    /// commune's records: each page must cost its own size).
    #[test]
    fn unit_records_pull_walks_each_part_by_position() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let conn = storage.conn().unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", unit_records_pull()))
            .unwrap()
            .query_map(params!["U1", 0, "D1", 100], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for table in ["persons", "assessments", "evidence"] {
            assert!(
                plan.iter()
                    .any(|s| s.contains(&format!("{table}_added (added_seq>?)"))),
                "{table}: {plan:#?}"
            );
        }
        assert!(
            plan.iter()
                .any(|s| s.starts_with("SEARCH c USING INTEGER PRIMARY KEY (rowid>?)")),
            "{plan:#?}"
        );
    }
}
