//! What a unit's report is computed from (`cdht_server::report`): the subtree, its
//! assessments of the year and its people, read from narrow indexes
//! (migration 0009) so a province's 500,000 rows take a fraction of a second.

use super::SqliteStorage;
use cdht_core::sync::ReviewState;
use cdht_server_db::facts::{
    AssessmentFact, LegacyAnswers, MemberFact, ReportFacts, SubUnit, MAX_INDICATORS, NO_POINTS,
};
use cdht_server_db::{StorageError, StorageResult};
use rusqlite::{params, Connection};
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

/// Numbers the few strings a column repeats (target groups, catalogs) as
/// they come: a handful each, so a look along the list beats hashing the
/// string on each of half a million rows.
#[derive(Default)]
struct Interner(Vec<String>);

impl Interner {
    fn get(&mut self, s: &str) -> u32 {
        if let Some(i) = self.0.iter().position(|known| known == s) {
            return i as u32;
        }
        self.0.push(s.to_owned());
        (self.0.len() - 1) as u32
    }

    fn into_list(self) -> Vec<String> {
        self.0
    }
}

/// A person id as a sortable key: a UUID (every id a device makes) as its
/// 128 bits, anything else by its number among such ids; the second field
/// keeps the two kinds apart.
type PersonKey = (u128, u32);

/// Numbers people by their id. Rows are noted as they are read and
/// numbered by one sort at the end: half a million probes of a hash table
/// larger than the caches cost several times the sort of the same keys.
#[derive(Default)]
struct People {
    /// Ids that are no lower-case hyphenated UUID, numbered as met.
    others: FxHashMap<String, u32>,
    other_ids: Vec<String>,
    /// Each noted row's key and its slot (the caller's numbering of rows).
    noted: Vec<(PersonKey, u32)>,
    /// After [`People::number`]: every key once, in order; a person's number
    /// is its index here.
    keys: Vec<PersonKey>,
}

impl People {
    fn with_capacity(n: usize) -> Self {
        Self {
            noted: Vec::with_capacity(n),
            ..Self::default()
        }
    }

    fn uuid(s: &str) -> Option<u128> {
        // Only the lower-case hyphenated form, which prints back as it was.
        if s.len() != 36 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        uuid::Uuid::try_parse_ascii(s.as_bytes())
            .ok()
            .map(|u| u.as_u128())
    }

    fn key(&mut self, s: &str) -> PersonKey {
        match Self::uuid(s) {
            Some(k) => (k, u32::MAX),
            None => {
                let next = self.other_ids.len() as u32;
                let i = *self.others.entry(s.to_owned()).or_insert(next);
                if i == next {
                    self.other_ids.push(s.to_owned());
                }
                (u128::from(i), 0)
            }
        }
    }

    /// Notes that row `slot` names person `s`.
    fn note(&mut self, s: &str, slot: u32) {
        let key = self.key(s);
        self.noted.push((key, slot));
    }

    /// Takes in the rows `other` noted, their slots moved up by `offset`.
    fn absorb(&mut self, other: People, offset: u32) {
        self.noted.reserve(other.noted.len());
        for ((k, kind), slot) in other.noted {
            let key = if kind == u32::MAX {
                (k, kind)
            } else {
                self.key(&other.other_ids[k as usize])
            };
            self.noted.push((key, slot + offset));
        }
    }

    /// Numbers the people noted: `numbers[slot]` is the person of that row.
    fn number(&mut self, slots: usize) -> Vec<u32> {
        let mut noted = std::mem::take(&mut self.noted);
        noted.sort_unstable_by_key(|&(key, _)| key);
        let mut numbers = vec![0; slots];
        for (key, slot) in noted {
            if self.keys.last() != Some(&key) {
                self.keys.push(key);
            }
            numbers[slot as usize] = (self.keys.len() - 1) as u32;
        }
        numbers
    }

    /// The key of `s` if it can name a person noted (ids that are no UUID
    /// are known only when noted).
    fn known_key(&self, s: &str) -> Option<PersonKey> {
        match Self::uuid(s) {
            Some(k) => Some((k, u32::MAX)),
            None => Some((u128::from(*self.others.get(s)?), 0)),
        }
    }

    /// Every person's id, by number.
    fn into_list(self) -> Vec<String> {
        let mut others = self.other_ids.into_iter().map(Some).collect::<Vec<_>>();
        self.keys
            .into_iter()
            .map(|(k, kind)| {
                if kind == u32::MAX {
                    uuid::Uuid::from_u128(k).hyphenated().to_string()
                } else {
                    others[k as usize].take().unwrap_or_default()
                }
            })
            .collect()
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

    /// Kept points (one byte per indicator of `ids`, see `points.rs`) read
    /// into `points`; false when they do not match the list.
    fn read_kept(
        &mut self,
        ids: &[String],
        kept: &[u8],
        points: &mut [u8; MAX_INDICATORS],
    ) -> bool {
        if ids.len() != kept.len() {
            return false;
        }
        for (position, (id, p)) in ids.iter().zip(kept).enumerate() {
            if let Some(i) = self.index(id, position) {
                points[i] = (*p).min(NO_POINTS - 1);
            }
        }
        true
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
    // The assessments and the people are read at once on two connections,
    // each in a read transaction (rolled back when dropped, also on an
    // error): a province's two scans take about as long each. The two
    // snapshots start a moment apart; a write that lands between them shows
    // in one scan only, and the next report agrees with itself again. The
    // second connection only if one is free now: reports that each held one
    // and waited for another could hold the whole pool.
    let members_conn = db.try_conn();
    let tx = conn.transaction()?;
    let units = subtree(&tx, unit)?;
    let unit_index: FxHashMap<&str, u32> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.code.as_str(), i as u32))
        .collect();
    let (scanned, members) = match members_conn {
        Some(mut members_conn) => std::thread::scope(|s| {
            let members = s.spawn(|| {
                let members_tx = members_conn.transaction()?;
                scan_members(&members_tx, unit, &unit_index)
            });
            let scanned = scan_assessments(&tx, unit, year, &unit_index);
            let members = members
                .join()
                .unwrap_or_else(|_| Err(StorageError::Corrupt("report scan panicked".into())));
            (scanned, members)
        }),
        None => (
            scan_assessments(&tx, unit, year, &unit_index),
            scan_members(&tx, unit, &unit_index),
        ),
    };
    let Scanned {
        mut people,
        mut assessments,
        groups,
        catalogs,
        indicators,
        legacy_rows,
    } = scanned?;
    let (mut members, member_people) = members?;
    let legacy = legacy_answers(&tx, &legacy_rows)?;
    let n_rows = assessments.len();
    people.absorb(member_people, n_rows as u32);
    let numbers = people.number(n_rows + members.len());
    for (a, &n) in assessments.iter_mut().zip(&numbers) {
        a.person = n;
    }
    for (m, &n) in members.iter_mut().zip(&numbers[n_rows..]) {
        m.person = n;
    }
    drop(numbers);
    let earlier_recognised = earlier_recognised(&tx, year, &assessments, &people)?;
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

/// What the scan of a subtree's assessments of the year gives.
struct Scanned {
    /// The person of each assessment, noted by its row.
    people: People,
    assessments: Vec<AssessmentFact>,
    groups: Interner,
    catalogs: Interner,
    indicators: Indicators,
    /// Assessments stored without points: (index in `assessments`, rowid).
    legacy_rows: Vec<(usize, i64)>,
}

fn scan_assessments(
    conn: &Connection,
    unit: &str,
    year: u16,
    unit_index: &FxHashMap<&str, u32>,
) -> StorageResult<Scanned> {
    // Sized once from a count over the same index range: growing vectors of
    // half a million rows by doubling touches (and faults in) twice the memory.
    let n: i64 = conn.query_row(
        &format!(
            "{SUBTREE_DEPTH} SELECT COUNT(*) FROM assessments INDEXED BY assessments_report
             WHERE year = ?2 AND unit IN (SELECT code FROM sub)"
        ),
        params![unit, year],
        |r| r.get(0),
    )?;
    let n = usize::try_from(n).unwrap_or(0);
    let mut people = People::with_capacity(n);
    let mut units_seen = UnitCache::new(unit_index);
    let mut groups = Interner::default();
    let mut catalogs = Interner::default();
    let mut indicators = Indicators::default();
    let mut assessments = Vec::with_capacity(n);
    let mut legacy_rows = Vec::new();
    let layouts = super::points::layouts(conn)?;
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
        let mut points = [NO_POINTS; MAX_INDICATORS];
        // Bytes after their layout (migration 0012), or text before.
        let read = match r.get_ref(6)? {
            rusqlite::types::ValueRef::Blob(bytes) => super::points::read_bytes(bytes)
                .and_then(|(layout, kept)| Some((layouts.get(&layout)?, kept)))
                .is_some_and(|(ids, kept)| indicators.read_kept(ids, kept, &mut points)),
            other => other
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?
                .is_some_and(|t| indicators.read(t, &mut points)),
        };
        if !read && state != ReviewState::Draft {
            points = [NO_POINTS; MAX_INDICATORS];
            legacy_rows.push((assessments.len(), r.get::<_, i64>(7)?));
        }
        people.note(text(r, 4)?, assessments.len() as u32);
        assessments.push(AssessmentFact {
            unit,
            group: groups.get(text(r, 1)?),
            state,
            passed: r.get(3)?,
            // Numbered once every row is read (`People::number`).
            person: 0,
            catalog: catalogs.get(text(r, 5)?),
            points,
        });
    }
    Ok(Scanned {
        people,
        assessments,
        groups,
        catalogs,
        indicators,
        legacy_rows,
    })
}

/// The people whose unit is in the subtree (in the caller's transaction);
/// each noted by its index in the list.
fn scan_members(
    tx: &Connection,
    unit: &str,
    unit_index: &FxHashMap<&str, u32>,
) -> StorageResult<(Vec<MemberFact>, People)> {
    let n: i64 = tx.query_row(
        &format!(
            "{SUBTREE_DEPTH} SELECT COUNT(*) FROM persons INDEXED BY persons_report
             WHERE unit IN (SELECT code FROM sub)"
        ),
        params![unit],
        |r| r.get(0),
    )?;
    let n = usize::try_from(n).unwrap_or(0);
    let mut people = People::with_capacity(n);
    let mut members = Vec::with_capacity(n);
    let mut units_seen = UnitCache::new(unit_index);
    let mut stmt = tx.prepare(&format!(
        "{SUBTREE_DEPTH} SELECT id, unit, birth_year,
             COALESCE(NULLIF(TRIM(household), ''), address)
         FROM persons INDEXED BY persons_report WHERE unit IN (SELECT code FROM sub)"
    ))?;
    let mut rows = stmt.query(params![unit])?;
    while let Some(r) = rows.next()? {
        let Some(unit) = units_seen.get(text(r, 1)?) else {
            continue;
        };
        people.note(text(r, 0)?, members.len() as u32);
        members.push(MemberFact {
            person: 0,
            unit,
            birth_year: r.get(2)?,
            household: r.get(3)?,
        });
    }
    Ok((members, people))
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
    let mut recognised = vec![false; people.keys.len()];
    for a in assessments {
        if a.state == ReviewState::Recognised {
            recognised[a.person as usize] = true;
        }
    }
    let mut out: FxHashMap<u32, Vec<i32>> = FxHashMap::default();
    if !recognised.contains(&true) {
        return Ok(out);
    }
    // Keys of the earlier rows, sorted, then walked beside the sorted keys of
    // the people: no lookup per row.
    let mut earlier: Vec<(PersonKey, i32)> = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT person, year FROM assessments INDEXED BY assessments_report
         WHERE year >= ?1 AND year < ?2 AND state = 'recognised'",
    )?;
    let mut rows = stmt.query(params![year.saturating_sub(STREAK_WINDOW), year])?;
    while let Some(r) = rows.next()? {
        if let Some(key) = people.known_key(text(r, 0)?) {
            earlier.push((key, r.get(1)?));
        }
    }
    earlier.sort_unstable();
    let mut person = 0;
    for (key, y) in earlier {
        while people.keys.get(person).is_some_and(|k| *k < key) {
            person += 1;
        }
        if people.keys.get(person) == Some(&key) && recognised[person] {
            out.entry(person as u32).or_default().push(y);
        }
    }
    Ok(out)
}

/// Names of persons by id (those not found are left out), in one
/// statement: a province's exemplary list holds thousands.
pub(super) fn person_names(
    db: &SqliteStorage,
    ids: &[String],
) -> StorageResult<HashMap<String, String>> {
    let conn = db.conn()?;
    let ids_json = serde_json::to_string(ids).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.full_name FROM json_each(?1) AS j JOIN persons p ON p.id = j.value",
    )?;
    let names = stmt
        .query_map([ids_json], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<HashMap<String, String>, _>>()?;
    Ok(names)
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

    #[test]
    fn people_are_numbered_once_across_both_scans_and_found_again() {
        let uuid = "0b0a6c3e-5a3c-4a47-9a51-2f0e1f8e9c11";
        let mut assessed = People::with_capacity(3);
        assessed.note(uuid, 0);
        assessed.note("p-1", 1);
        assessed.note(uuid, 2);
        let mut members = People::with_capacity(3);
        members.note("p-2", 0);
        members.note("p-1", 1);
        members.note(uuid, 2);
        assessed.absorb(members, 3);
        let numbers = assessed.number(6);
        // The same id, the same number, whichever scan met it.
        assert_eq!(numbers[0], numbers[2]);
        assert_eq!(numbers[0], numbers[5]);
        assert_eq!(numbers[1], numbers[4]);
        assert_ne!(numbers[1], numbers[3]);
        assert_ne!(numbers[0], numbers[1]);
        let found = |s| {
            assessed
                .known_key(s)
                .and_then(|k| assessed.keys.binary_search(&k).ok())
        };
        assert_eq!(found(uuid), Some(numbers[0] as usize));
        assert_eq!(found("p-1"), Some(numbers[1] as usize));
        // An upper-case UUID is another id, as stored.
        assert_eq!(found(&uuid.to_uppercase()), None);
        let list = assessed.into_list();
        assert_eq!(list.len(), 3);
        assert_eq!(list[numbers[0] as usize], uuid);
        assert_eq!(list[numbers[3] as usize], "p-2");
    }
}
