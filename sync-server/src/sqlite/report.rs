//! What a unit's report is computed from (`crate::report`): the subtree, its
//! assessments of the year and its people, read from narrow indexes
//! (migration 0009) so a province's 500,000 rows take a fraction of a second.

use super::SqliteStorage;
use crate::report::{
    AssessmentFact, LegacyAnswers, MemberFact, ReportFacts, SubUnit, MAX_INDICATORS, NO_POINTS,
};
use crate::storage::{StorageError, StorageResult};
use cdht_core::sync::ReviewState;
use rusqlite::{params, Connection, OptionalExtension};
use rustc_hash::FxHashMap;
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

/// Numbers strings as they come (people, units' groups, catalogs): each
/// string allocated once, as the key; the list is made at the end.
#[derive(Default)]
struct Interner {
    index: FxHashMap<String, u32>,
}

impl Interner {
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.index.len() as u32;
        self.index.insert(s.to_owned(), i);
        i
    }

    fn into_list(self) -> Vec<String> {
        let mut list = vec![String::new(); self.index.len()];
        for (s, i) in self.index {
            list[i as usize] = s;
        }
        list
    }
}

/// Numbers people by their id: a UUID (every id a device makes) is kept as
/// its 128 bits, hashed without touching the heap; anything else as text.
#[derive(Default)]
struct People {
    uuids: std::collections::HashMap<u128, u32, BuildMix>,
    others: FxHashMap<String, u32>,
    list: Vec<PersonKey>,
}

enum PersonKey {
    Uuid(u128),
    Text(String),
}

impl People {
    fn key(s: &str) -> Option<u128> {
        // Only the lower-case hyphenated form, which prints back as it was.
        if s.len() != 36 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        uuid::Uuid::try_parse_ascii(s.as_bytes())
            .ok()
            .map(|u| u.as_u128())
    }

    fn with_capacity(n: usize) -> Self {
        Self {
            uuids: std::collections::HashMap::with_capacity_and_hasher(n, BuildMix),
            others: FxHashMap::default(),
            list: Vec::with_capacity(n),
        }
    }

    fn get(&mut self, s: &str) -> u32 {
        let next = self.list.len() as u32;
        match Self::key(s) {
            Some(k) => *self.uuids.entry(k).or_insert_with(|| {
                self.list.push(PersonKey::Uuid(k));
                next
            }),
            None => *self.others.entry(s.to_owned()).or_insert_with(|| {
                self.list.push(PersonKey::Text(s.to_owned()));
                next
            }),
        }
    }

    fn find(&self, s: &str) -> Option<u32> {
        match Self::key(s) {
            Some(k) => self.uuids.get(&k).copied(),
            None => self.others.get(s).copied(),
        }
    }

    fn into_list(self) -> Vec<String> {
        self.list
            .into_iter()
            .map(|k| match k {
                PersonKey::Uuid(u) => uuid::Uuid::from_u128(u).hyphenated().to_string(),
                PersonKey::Text(t) => t,
            })
            .collect()
    }
}

/// Hashes a UUID's 128 bits with splitmix64's finaliser: every bit of the
/// key reaches the bucket bits (a multiply-add hash clusters UUIDs whose
/// random bits sit high).
#[derive(Default, Clone, Copy)]
struct BuildMix;

#[derive(Default)]
struct Mix(u64);

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl std::hash::Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = splitmix(self.0 ^ u64::from(*b));
        }
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = splitmix(splitmix(self.0 ^ (i >> 64) as u64) ^ i as u64);
    }
}

impl std::hash::BuildHasher for BuildMix {
    type Hasher = Mix;
    fn build_hasher(&self) -> Mix {
        Mix(0)
    }
}

/// The unit of consecutive rows (an index in unit order), looked up once per run.
struct UnitCache<'a> {
    index: &'a FxHashMap<&'a str, u32>,
    last: String,
    last_index: Option<u32>,
}

impl<'a> UnitCache<'a> {
    fn new(index: &'a FxHashMap<&'a str, u32>) -> Self {
        Self {
            index,
            last: String::new(),
            last_index: None,
        }
    }

    fn get(&mut self, code: &str) -> Option<u32> {
        if code != self.last {
            self.last.clear();
            self.last.push_str(code);
            self.last_index = self.index.get(code).copied();
        }
        self.last_index
    }
}

/// The indicator ids met so far; points texts list them in the same order,
/// so the id at a pair's position is tried first.
#[derive(Default)]
struct Indicators(Vec<String>);

impl Indicators {
    fn index(&mut self, id: &str, position: usize) -> Option<usize> {
        if self.0.get(position).is_some_and(|i| i == id) {
            return Some(position);
        }
        if let Some(i) = self.0.iter().position(|i| i == id) {
            return Some(i);
        }
        (self.0.len() < MAX_INDICATORS).then(|| {
            self.0.push(id.to_owned());
            self.0.len() - 1
        })
    }

    /// A points text (`1.1:8,1.2:10,…`) read into `points`; false when it is
    /// not of that form.
    fn read(&mut self, text: &str, points: &mut [u8; MAX_INDICATORS]) -> bool {
        for (position, pair) in text.split(',').enumerate() {
            let Some((id, p)) = pair.split_once(':') else {
                return false;
            };
            let Ok(p) = p.parse::<u8>() else {
                return false;
            };
            if let Some(i) = self.index(id, position) {
                points[i] = p.min(NO_POINTS - 1);
            }
        }
        true
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
    let unit_index: FxHashMap<&str, u32> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.code.as_str(), i as u32))
        .collect();
    // Sized once from counts over the same index ranges: growing tables of
    // half a million rows by doubling touches (and faults in) twice the memory.
    let (n_assessments, n_members) = counts(conn, unit, year)?;
    let mut people = People::with_capacity(n_assessments.max(n_members));
    let mut units_seen = UnitCache::new(&unit_index);
    let mut groups = Interner::default();
    let mut catalogs = Interner::default();
    let mut indicators = Indicators::default();
    let mut assessments = Vec::with_capacity(n_assessments);
    let mut legacy_rows = Vec::new();
    {
        let mut stmt = conn.prepare(&format!(
            "{SUBTREE_DEPTH} SELECT unit, grp, state, passed, person, catalog, points, rowid
             FROM assessments INDEXED BY assessments_report
             WHERE year = ?2 AND unit IN (SELECT code FROM sub)"
        ))?;
        let mut rows = stmt.query(params![unit, year])?;
        while let Some(r) = rows.next()? {
            let Some(unit) = units_seen.get(text(r, 0)?) else {
                continue;
            };
            let state_text = text(r, 2)?;
            let state = ReviewState::parse(state_text)
                .ok_or_else(|| StorageError::Corrupt(format!("state {state_text}")))?;
            let points_text: Option<&str> = r
                .get_ref(6)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?;
            let mut points = [NO_POINTS; MAX_INDICATORS];
            let read = points_text.is_some_and(|t| indicators.read(t, &mut points));
            if !read && state != ReviewState::Draft {
                points = [NO_POINTS; MAX_INDICATORS];
                legacy_rows.push((assessments.len(), r.get::<_, i64>(7)?));
            }
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
    let mut members = Vec::with_capacity(n_members);
    {
        let mut stmt = conn.prepare(&format!(
            "{SUBTREE_DEPTH} SELECT id, unit, birth_year, address
             FROM persons INDEXED BY persons_report WHERE unit IN (SELECT code FROM sub)"
        ))?;
        let mut rows = stmt.query(params![unit])?;
        while let Some(r) = rows.next()? {
            let Some(unit) = units_seen.get(text(r, 1)?) else {
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
        groups: groups.into_list(),
        catalogs: catalogs.into_list(),
        indicators: indicators.0,
        people: people.into_list(),
        assessments,
        members,
        earlier_recognised,
        legacy,
    })
}

/// How many assessments of `year` and people the subtree of `unit` has.
fn counts(conn: &Connection, unit: &str, year: u16) -> StorageResult<(usize, usize)> {
    let n: i64 = conn.query_row(
        &format!(
            "{SUBTREE_DEPTH} SELECT COUNT(*) FROM assessments INDEXED BY assessments_report
             WHERE year = ?2 AND unit IN (SELECT code FROM sub)"
        ),
        params![unit, year],
        |r| r.get(0),
    )?;
    let m: i64 = conn.query_row(
        &format!(
            "{SUBTREE_DEPTH} SELECT COUNT(*) FROM persons INDEXED BY persons_report
             WHERE unit IN (SELECT code FROM sub)"
        ),
        params![unit],
        |r| r.get(0),
    )?;
    Ok((
        usize::try_from(n).unwrap_or(0),
        usize::try_from(m).unwrap_or(0),
    ))
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
    people: &People,
) -> StorageResult<FxHashMap<u32, Vec<i32>>> {
    let mut out: FxHashMap<u32, Vec<i32>> = assessments
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
        let Some(person) = people.find(text(r, 0)?) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_texts_are_read_in_place_and_bad_ones_refused() {
        let mut ids = Indicators::default();
        let mut points = [NO_POINTS; MAX_INDICATORS];
        assert!(ids.read("1.1:8,1.2:10", &mut points));
        assert_eq!(
            (ids.0.clone(), points[0], points[1], points[2]),
            (vec!["1.1".to_owned(), "1.2".to_owned()], 8, 10, NO_POINTS)
        );
        // Another order finds the same indicators.
        let mut again = [NO_POINTS; MAX_INDICATORS];
        assert!(ids.read("1.2:3,1.1:4", &mut again));
        assert_eq!((again[0], again[1]), (4, 3));
        assert!(!ids.read("1.1=8", &mut points));
        assert!(!ids.read("1.1:x", &mut points));
    }
}
