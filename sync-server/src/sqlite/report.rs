//! What a unit's report is computed from (`crate::report`): the subtree, its
//! assessments of the year and its people, read from narrow indexes
//! (migration 0009) so a province's 500,000 rows take a fraction of a second.

use super::SqliteStorage;
use crate::report::{
    parse_points, AssessmentFact, LegacyAnswers, MemberFact, ReportFacts, SubUnit,
};
use crate::storage::{StorageError, StorageResult};
use cdht_core::sync::ReviewState;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// The subtree of `?1` with each unit's depth, parents first.
const SUBTREE_DEPTH: &str = "WITH RECURSIVE sub(code, depth) AS (SELECT ?1, 0 UNION ALL \
     SELECT u.code, sub.depth + 1 FROM units u JOIN sub ON u.parent = sub.code)";

/// Recognised years before the report's looked at for the exemplary streak.
const STREAK_WINDOW: u16 = 30;

/// Column `i` of a row as text, borrowed.
fn text<'a>(r: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a str> {
    r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)
}

/// Numbers strings as they come (units, groups, catalogs, people).
#[derive(Default)]
struct Interner {
    index: HashMap<String, u32>,
    list: Vec<String>,
}

impl Interner {
    fn get(&mut self, s: &str) -> u32 {
        // A handful (indicators, groups): a scan beats hashing.
        if self.list.len() <= 16 {
            if let Some(i) = self.list.iter().position(|x| x == s) {
                return i as u32;
            }
        }
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.index.insert(s.to_owned(), i);
        self.list.push(s.to_owned());
        i
    }
}

pub(super) fn report_facts(
    db: &SqliteStorage,
    unit: &str,
    year: u16,
) -> StorageResult<ReportFacts> {
    let mut conn = db.conn()?;
    // One snapshot for every read below (a read transaction, rolled back
    // when dropped, also on an error).
    let tx = conn.transaction()?;
    gather(&tx, unit, year)
}

fn gather(conn: &Connection, unit: &str, year: u16) -> StorageResult<ReportFacts> {
    let units = subtree(conn, unit)?;
    let unit_index: HashMap<&str, u32> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.code.as_str(), i as u32))
        .collect();
    let mut people = Interner::default();
    let mut groups = Interner::default();
    let mut catalogs = Interner::default();
    let mut indicators = Interner::default();
    let mut assessments = Vec::new();
    let mut legacy_rows = Vec::new();
    {
        let mut stmt = conn.prepare(&format!(
            "{SUBTREE_DEPTH} SELECT unit, grp, state, passed, person, catalog, points, rowid
             FROM assessments INDEXED BY assessments_report
             WHERE year = ?2 AND unit IN (SELECT code FROM sub)"
        ))?;
        let mut rows = stmt.query(params![unit, year])?;
        while let Some(r) = rows.next()? {
            let unit_code = text(r, 0)?;
            let Some(&unit) = unit_index.get(unit_code) else {
                continue;
            };
            let state_text = text(r, 2)?;
            let state = ReviewState::parse(state_text)
                .ok_or_else(|| StorageError::Corrupt(format!("state {state_text}")))?;
            let points_text: Option<&str> = r
                .get_ref(6)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?;
            let points = match points_text.and_then(parse_points) {
                Some(pairs) => pairs
                    .into_iter()
                    .map(|(id, p)| (indicators.get(id), p))
                    .collect(),
                None => {
                    if state != ReviewState::Draft {
                        legacy_rows.push((assessments.len(), r.get::<_, i64>(7)?));
                    }
                    Vec::new()
                }
            };
            assessments.push(AssessmentFact {
                unit,
                group: groups.get(text(r, 1)?),
                state,
                passed: r.get(3)?,
                person: people.get(text(r, 4)?),
                catalog: catalogs.get(text(r, 5)?),
                points,
            });
        }
    }
    let legacy = legacy_answers(conn, &legacy_rows)?;
    let mut members = Vec::new();
    {
        let mut stmt = conn.prepare(&format!(
            "{SUBTREE_DEPTH} SELECT id, unit, birth_year, address
             FROM persons INDEXED BY persons_report WHERE unit IN (SELECT code FROM sub)"
        ))?;
        let mut rows = stmt.query(params![unit])?;
        while let Some(r) = rows.next()? {
            let Some(&unit) = unit_index.get(text(r, 1)?) else {
                continue;
            };
            members.push(MemberFact {
                person: people.get(text(r, 0)?),
                unit,
                birth_year: r.get(2)?,
                household: r.get(3)?,
            });
        }
    }
    let earlier_recognised = earlier_recognised(conn, year, &assessments, &people)?;
    Ok(ReportFacts {
        year,
        units,
        groups: groups.list,
        catalogs: catalogs.list,
        indicators: indicators.list,
        people: people.list,
        assessments,
        members,
        earlier_recognised,
        legacy,
    })
}

/// The unit and every unit below it, parents first.
fn subtree(conn: &Connection, unit: &str) -> StorageResult<Vec<SubUnit>> {
    let rows: Vec<(String, String, Option<String>)> = conn
        .prepare(&format!(
            "{SUBTREE_DEPTH} SELECT u.code, u.name, u.parent FROM sub JOIN units u ON u.code = sub.code
             ORDER BY sub.depth, u.code"
        ))?
        .query_map([unit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, (code, name, parent)) in rows.into_iter().enumerate() {
        let parent = if i == 0 {
            None
        } else {
            parent.and_then(|p| index.get(&p).copied())
        };
        index.insert(code.clone(), i as u32);
        out.push(SubUnit { code, name, parent });
    }
    Ok(out)
}

/// The answers of assessments stored without points (before migration 0009).
fn legacy_answers(conn: &Connection, rows: &[(usize, i64)]) -> StorageResult<Vec<LegacyAnswers>> {
    let mut stmt =
        conn.prepare_cached("SELECT catalog, grp, answers FROM assessments WHERE rowid = ?1")?;
    rows.iter()
        .map(|&(fact, rowid)| {
            let (catalog, group, answers) =
                stmt.query_row([rowid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(LegacyAnswers {
                fact,
                catalog,
                group,
                answers,
            })
        })
        .collect()
}

/// For each person recognised in `year` among `assessments`, the years before
/// in which they were recognised (in any unit).
fn earlier_recognised(
    conn: &Connection,
    year: u16,
    assessments: &[AssessmentFact],
    people: &Interner,
) -> StorageResult<HashMap<u32, Vec<i32>>> {
    let mut out: HashMap<u32, Vec<i32>> = assessments
        .iter()
        .filter(|a| a.state == ReviewState::Recognised)
        .map(|a| (a.person, Vec::new()))
        .collect();
    if out.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn.prepare(
        "SELECT person, year FROM assessments INDEXED BY assessments_report
         WHERE year >= ?1 AND year < ?2 AND state = 'recognised'",
    )?;
    let mut rows = stmt.query(params![year.saturating_sub(STREAK_WINDOW), year])?;
    while let Some(r) = rows.next()? {
        let Some(&person) = people.index.get(text(r, 0)?) else {
            continue;
        };
        if let Some(years) = out.get_mut(&person) {
            years.push(r.get(1)?);
        }
    }
    Ok(out)
}

/// Names of persons by id (those not found are left out).
pub(super) fn person_names(
    db: &SqliteStorage,
    ids: &[String],
) -> StorageResult<HashMap<String, String>> {
    let conn = db.conn()?;
    let mut stmt = conn.prepare_cached("SELECT full_name FROM persons WHERE id = ?1")?;
    let mut out = HashMap::with_capacity(ids.len());
    for id in ids {
        if let Some(name) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            out.insert(id.clone(), name);
        }
    }
    Ok(out)
}
