//! A device's pull: the changes of its scope after a cursor.
//!
//! The same query shapes as the SQLite backend's (`cdht_server_sqlite`'s
//! pull.rs): a record's first change is carried by its row (`added_seq`),
//! later versions name the stored record in the change log, and a pull
//! sends each record as the server holds it when pulled, rebuilt from its
//! row. One statement, so one snapshot: with positions committing in their
//! order ([`crate::changes`]), what it sees is every change up to some
//! position and none above, so the cursor it returns never passes a change
//! that commits later.

use crate::error::{corrupt, Result};
use crate::{big, PgStorage, SUBTREE};
use cdht_core::assessment::Answers;
use cdht_core::ids::{CatalogId, GroupId, IndicatorId, UnitCode};
use cdht_core::sync::{
    AssessmentRecord, Change, DeviceScope, DeviceState, EvidenceRecord, PersonRecord, PullResponse,
    RecordBody, RecordEnvelope, ServerChange,
};
use cdht_core::AreaType;
use cdht_server_db::DeviceRef;
use postgres::Row;

/// What every pull selects, for each change `picked` names (`seq`; `logged`
/// for a row of the change log; `rk`, `rid`: the record it names): the
/// change, and the row of the record (columns 6.. below). A record's first
/// change is carried by its row: its time is `added_at`, or `updated_at`
/// while the row was not written again.
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
     ORDER BY x.seq LIMIT $4";

/// A row of the change log `c` as `picked` holds it.
const PICK_LOGGED: &str = "c.seq, true, c.record_kind,
    CASE c.record_kind WHEN 0 THEN COALESCE(c.record, c.subject) ELSE c.record END";

/// A first change carried by a record's row (`r`, `kind` its record kind),
/// not sent to the device that pushed it (`$3`).
fn pick_added(kind: u8) -> String {
    format!("r.added_seq, false, {kind}::smallint, r.id")
}
const NOT_PUSHED_HERE: &str = "COALESCE(r.added_by, r.device_id) <> $3";

/// The records a change of the log names (for a unit-records pull, which
/// filters on their unit).
const LOGGED_RECORDS: &str = "changes c
     LEFT JOIN persons p ON c.record_kind = 0 AND p.id = COALESCE(c.record, c.subject)
     LEFT JOIN assessments a ON c.record_kind = 1 AND a.id = c.record
     LEFT JOIN evidence e ON c.record_kind = 2 AND e.id = c.record";

const UNIT: &str = "COALESCE(c.unit, p.unit, a.unit, e.unit)";

/// An own-records pull (`$1` unit, `$2` since, `$3` device, `$4` limit):
/// the changes of its unit and catalogs, and those of the people it pushed
/// that others made, found from the phone's people by index.
fn own_records_pull() -> String {
    let (person, assessment, evidence) = (pick_added(0), pick_added(1), pick_added(2));
    format!(
        "WITH picked(seq, logged, rk, rid) AS (
            SELECT seq, true, NULL::smallint, NULL::text FROM changes
            WHERE kind IN ('catalog', 'unit') AND seq > $2 AND (kind = 'catalog' OR unit = $1)
            UNION ALL
            SELECT {PICK_LOGGED} FROM device_people d
            JOIN changes c ON c.subject = d.person AND c.seq > $2
            WHERE d.device_id = $3 AND (c.origin IS NULL OR c.origin <> $3)
            UNION ALL
            SELECT {person} FROM device_people d JOIN persons r ON r.id = d.person
            WHERE d.device_id = $3 AND r.added_seq > $2 AND {NOT_PUSHED_HERE}
            UNION ALL
            SELECT {assessment} FROM device_people d JOIN assessments r ON r.person = d.person
            WHERE d.device_id = $3 AND r.added_seq > $2 AND {NOT_PUSHED_HERE}
            UNION ALL
            SELECT {evidence} FROM device_people d JOIN assessments a ON a.person = d.person
                JOIN evidence r ON r.assessment = a.id
            WHERE d.device_id = $3 AND r.added_seq > $2 AND {NOT_PUSHED_HERE})
         {SELECT_PICKED}"
    )
}

/// A unit-records pull: everything of its subtree but its own pushes, and
/// catalogs. Each part walks its table by position and stops at the limit,
/// so the first `$4` of their union are the first `$4` changes.
fn unit_records_pull() -> String {
    let mine = "(SELECT code FROM sub)";
    let added = |table: &str, kind: u8| {
        format!(
            "(SELECT {} FROM {table} r
                WHERE r.added_seq > $2 AND r.unit IN {mine} AND {NOT_PUSHED_HERE}
                ORDER BY r.added_seq LIMIT $4)",
            pick_added(kind)
        )
    };
    format!(
        "{SUBTREE}, picked(seq, logged, rk, rid) AS (
            (SELECT {PICK_LOGGED} FROM {LOGGED_RECORDS}
                WHERE c.seq > $2 AND (c.kind = 'catalog'
                    OR ({UNIT} IN {mine}
                        AND NOT (c.kind = 'record' AND c.origin IS NOT NULL AND c.origin = $3)))
                ORDER BY c.seq LIMIT $4)
            UNION ALL {}
            UNION ALL {}
            UNION ALL {})
         {SELECT_PICKED}",
        added("persons", 0),
        added("assessments", 1),
        added("evidence", 2)
    )
}

pub(crate) fn pull(
    db: &PgStorage,
    device: &DeviceRef,
    since: u64,
    limit: u32,
    household: bool,
) -> Result<PullResponse> {
    let sql = match device.scope {
        DeviceScope::OwnRecords => own_records_pull(),
        DeviceScope::UnitRecords => unit_records_pull(),
    };
    // The filter is in the query, so LIMIT counts only what the device
    // gets: `more` means another matching change exists.
    let rows = db.conn()?.query(
        &sql,
        &[
            &device.unit.as_str(),
            &big(since),
            &device.device_id.to_string(),
            &(i64::from(limit) + 1),
        ],
    )?;
    let more = rows.len() > limit as usize;
    let changes = rows
        .iter()
        .take(limit as usize)
        .map(|row| {
            Ok(ServerChange {
                seq: crate::unsigned(row.get(0)),
                at: row.get(1),
                change: change(row, household)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cursor = changes.last().map_or(since, |c| c.seq);
    Ok(PullResponse {
        cursor,
        more,
        changes,
    })
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| corrupt(format!("stored id {s}")))
}

fn num<T: TryFrom<i64>>(row: &Row, column: usize) -> Result<T> {
    let n: i64 = row.get(column);
    T::try_from(n).map_err(|_| corrupt(format!("stored number {n}")))
}

fn opt_num<T: TryFrom<i64>>(row: &Row, column: usize) -> Result<Option<T>> {
    row.get::<_, Option<i64>>(column)
        .map(|n| T::try_from(n).map_err(|_| corrupt(format!("stored number {n}"))))
        .transpose()
}

/// The change of a row of [`SELECT_PICKED`]: its stored body, or the
/// record it names rebuilt from its row.
fn change(row: &Row, household: bool) -> Result<Change> {
    if let Some(body) = row.get::<_, Option<&str>>(2) {
        return serde_json::from_str(body).map_err(corrupt);
    }
    let (body, version, hash) = match row.get::<_, Option<i16>>(4) {
        Some(0) => {
            let mut person = PersonRecord {
                id: parse(row.get(6))?,
                full_name: row.get(9),
                birth_year: opt_num(row, 10)?,
                cccd: None,
                phone: row.get(11),
                address: row.get(12),
                keep_cccd: row.get(13),
                household: None,
            };
            // The label goes only to clients asking for it, with the hash
            // of the body as sent (`household_hash`, set when one is held).
            let label: Option<String> = row.get(14);
            let hash: Option<String> = match label {
                Some(label) if household => {
                    person.household = Some(label);
                    row.get(15)
                }
                _ => row.get(8),
            };
            let hash = hash.ok_or_else(|| corrupt("a person without its hash"))?;
            (RecordBody::Person(person), num(row, 7)?, hash)
        }
        Some(1) => {
            let answers: Answers = serde_json::from_str(row.get(23)).map_err(corrupt)?;
            let state = if row.get::<_, &str>(24) == "draft" {
                DeviceState::Draft
            } else {
                DeviceState::Submitted
            };
            let body = RecordBody::Assessment(AssessmentRecord {
                id: parse(row.get(16))?,
                person: parse(row.get(19))?,
                year: num(row, 20)?,
                catalog: CatalogId::new(row.get::<_, String>(21)),
                group: GroupId::new(row.get::<_, String>(22)),
                answers,
                state,
                device_total: opt_num(row, 25)?,
            });
            (body, num(row, 17)?, row.get(18))
        }
        Some(2) => {
            let body = RecordBody::Evidence(EvidenceRecord {
                id: parse(row.get(26))?,
                assessment: parse(row.get(29))?,
                indicator: IndicatorId::new(row.get::<_, String>(30)),
                sha256: row.get(31),
                size: num(row, 32)?,
                content_type: row.get(33),
            });
            (body, num(row, 27)?, row.get(28))
        }
        other => return Err(corrupt(format!("record kind {other:?}"))),
    };
    let area = if row.get::<_, Option<bool>>(5).unwrap_or(false) {
        AreaType::Difficult
    } else {
        AreaType::Normal
    };
    Ok(Change::Record {
        unit: UnitCode::new(row.get::<_, String>(3)),
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
    use super::{own_records_pull, unit_records_pull};

    /// The plan of `sql` on a commune's worth of other people's records and
    /// changes and one phone with a few people, analysed, so the planner
    /// prices by real counts.
    fn plan(sql: &str) -> String {
        let url = cdht_test_support::postgres::fresh_database();
        let db = crate::PgStorage::open(&url, 1).unwrap();
        let mut conn = db.conn().unwrap();
        conn.batch_execute(
            "INSERT INTO units (code, name, kind, join_key, updated_at)
                VALUES ('U1', 'U', 'commune', 'k', 'now');
             INSERT INTO persons (id, unit, device_id, version, hash, full_name, updated_at,
                added_seq)
                SELECT 'p' || i, 'U1', 'D2', 1, 'h', 'n', 'now', i FROM generate_series(1, 20000) i;
             INSERT INTO assessments (id, unit, device_id, person, year, catalog, grp, answers,
                version, hash, state, total, passed, threshold, updated_at, added_seq)
                SELECT 'a' || i, 'U1', 'D2', 'p' || i, 2026, 'c', 'g', '{}', 1, 'h', 'draft', 0,
                    false, 0, 'now', 20000 + i FROM generate_series(1, 20000) i;
             INSERT INTO changes (seq, kind, subject, origin, at, record_kind, difficult)
                SELECT 40000 + i, 'record', 'p' || i, 'D2', 'now', 0, false
                FROM generate_series(1, 20000) i;
             INSERT INTO device_people (device_id, person)
                SELECT 'D1', 'p' || i FROM generate_series(1, 5) i;
             ANALYZE",
        )
        .unwrap();
        let lines: Vec<String> = conn
            .query(&format!("EXPLAIN {sql}"), &[&"U1", &0i64, &"D1", &100i64])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        lines.join("\n")
    }

    /// An own-records pull looks changes and records up from the phone's
    /// people, never walks the change log or a record table by position
    /// (what an empty pull costs must not grow with them).
    #[test]
    fn own_records_pull_looks_up_from_the_phones_people() {
        let plan = plan(&own_records_pull());
        for index in ["changes_subject", "persons_pkey", "assessments_person"] {
            assert!(plan.contains(index), "{index}: {plan}");
        }
        assert!(!plan.contains("_added"), "{plan}");
        assert!(!plan.contains("Seq Scan on changes"), "{plan}");
    }

    /// A unit-records pull walks the log and each record table by position
    /// from the cursor (a first sync pages through a commune's records: each
    /// page must cost its own size).
    #[test]
    fn unit_records_pull_walks_each_part_by_position() {
        let plan = plan(&unit_records_pull());
        for index in ["changes_pkey", "persons_added", "assessments_added"] {
            assert!(plan.contains(index), "{index}: {plan}");
        }
        for table in ["changes", "persons", "assessments"] {
            assert!(!plan.contains(&format!("Seq Scan on {table}")), "{plan}");
        }
    }
}
