//! What a unit's report is computed from (`cdht_server::report`): the
//! subtree, its assessments of the year and its people, in one snapshot.
//!
//! Straightforward where the SQLite backend is tuned (its own scans of
//! narrow indexes, on two connections): the same facts, read in four
//! queries of one REPEATABLE READ transaction. People are numbered by their
//! id's order.

use crate::error::{corrupt, Result};
use crate::PgStorage;
use cdht_core::sync::ReviewState;
use cdht_server_db::facts::{
    AssessmentFact, LegacyAnswers, MemberFact, ReportFacts, SubUnit, MAX_INDICATORS, NO_POINTS,
};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap};

/// The subtree of `$1` with each unit's depth, parents first.
const SUBTREE_DEPTH: &str = "WITH RECURSIVE sub(code, depth) AS (SELECT $1::text COLLATE \"C\", 0 \
     UNION ALL SELECT u.code, sub.depth + 1 FROM units u JOIN sub ON u.parent = sub.code)";

/// Recognised years before the report's looked at for the exemplary streak.
const STREAK_WINDOW: i64 = 30;

/// Numbers the few strings a column repeats (target groups, catalogs).
#[derive(Default)]
struct Interner(Vec<String>);

impl Interner {
    fn get(&mut self, s: &str) -> u32 {
        match self.0.iter().position(|known| known == s) {
            Some(i) => i as u32,
            None => {
                self.0.push(s.to_owned());
                (self.0.len() - 1) as u32
            }
        }
    }
}

/// A points text (`1.1:8,1.2:10,…`) read into `points`, indicators numbered
/// as met; false when it is not of that form.
fn read_points(ids: &mut Vec<String>, text: &str, points: &mut [u8; MAX_INDICATORS]) -> bool {
    for pair in text.split(',') {
        let Some((id, p)) = pair.split_once(':') else {
            return false;
        };
        let Ok(p) = p.parse::<u8>() else {
            return false;
        };
        let i = match ids.iter().position(|known| known == id) {
            Some(i) => i,
            None if ids.len() < MAX_INDICATORS => {
                ids.push(id.to_owned());
                ids.len() - 1
            }
            None => continue,
        };
        points[i] = p.min(NO_POINTS - 1);
    }
    true
}

fn small<T: TryFrom<i64>>(n: Option<i64>) -> Option<T> {
    n.and_then(|n| T::try_from(n).ok())
}

#[allow(clippy::too_many_lines)] // four reads and how they fit together, in order
pub(crate) fn report_facts(db: &PgStorage, unit: &str, year: u16) -> Result<ReportFacts> {
    let mut conn = db.conn()?;
    let mut tx = conn
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let year_n = i64::from(year);
    // The subtree, parents first.
    let mut units = Vec::new();
    let mut unit_index: HashMap<String, u32> = HashMap::new();
    for (i, r) in tx
        .query(
            &format!(
                "{SUBTREE_DEPTH} SELECT u.code, u.name, u.parent FROM sub
                 JOIN units u ON u.code = sub.code ORDER BY sub.depth, u.code"
            ),
            &[&unit],
        )?
        .iter()
        .enumerate()
    {
        let code: String = r.get(0);
        let parent = if i == 0 {
            None
        } else {
            r.get::<_, Option<&str>>(2)
                .and_then(|p| unit_index.get(p).copied())
        };
        unit_index.insert(code.clone(), i as u32);
        units.push(SubUnit {
            code,
            name: r.get(1),
            parent,
        });
    }
    // Person ids → numbers, given once every id is known (sorted).
    let mut people: BTreeMap<String, u32> = BTreeMap::new();
    let assessment_rows = tx.query(
        &format!(
            "{SUBTREE_DEPTH} SELECT a.unit, a.grp, a.state, a.passed, a.person, a.catalog,
                a.points, a.answers
             FROM assessments a WHERE a.year = $2 AND a.unit IN (SELECT code FROM sub)"
        ),
        &[&unit, &year_n],
    )?;
    let member_rows = tx.query(
        &format!(
            "{SUBTREE_DEPTH} SELECT id, unit, birth_year,
                COALESCE(NULLIF(TRIM(household), ''), address)
             FROM persons WHERE unit IN (SELECT code FROM sub)"
        ),
        &[&unit],
    )?;
    for r in &assessment_rows {
        people.insert(r.get(4), 0);
    }
    for r in &member_rows {
        people.insert(r.get(0), 0);
    }
    for (n, number) in people.values_mut().enumerate() {
        *number = n as u32;
    }
    let (mut groups, mut catalogs) = (Interner::default(), Interner::default());
    let mut indicators = Vec::new();
    let mut assessments = Vec::with_capacity(assessment_rows.len());
    let mut legacy = Vec::new();
    let mut recognised_now: Vec<String> = Vec::new();
    for r in &assessment_rows {
        let Some(&unit) = unit_index.get(r.get::<_, &str>(0)) else {
            continue;
        };
        let state_text: &str = r.get(2);
        let state =
            ReviewState::parse(state_text).ok_or_else(|| corrupt(format!("state {state_text}")))?;
        let person: &str = r.get(4);
        let mut points = [NO_POINTS; MAX_INDICATORS];
        let read = r
            .get::<_, Option<&str>>(6)
            .is_some_and(|t| read_points(&mut indicators, t, &mut points));
        if !read && state != ReviewState::Draft {
            points = [NO_POINTS; MAX_INDICATORS];
            legacy.push(LegacyAnswers {
                fact: assessments.len(),
                catalog: r.get(5),
                group: r.get(1),
                answers: r.get(7),
            });
        }
        if state == ReviewState::Recognised {
            recognised_now.push(person.to_owned());
        }
        assessments.push(AssessmentFact {
            unit,
            group: groups.get(r.get(1)),
            state,
            passed: r.get(3),
            person: people[person],
            catalog: catalogs.get(r.get(5)),
            points,
        });
    }
    let mut members = Vec::with_capacity(member_rows.len());
    for r in &member_rows {
        let Some(&unit) = unit_index.get(r.get::<_, &str>(1)) else {
            continue;
        };
        members.push(MemberFact {
            person: people[r.get::<_, &str>(0)],
            unit,
            birth_year: small(r.get(2)),
            household: r.get(3),
        });
    }
    // The years before in which those recognised now were recognised.
    let mut earlier_recognised: FxHashMap<u32, Vec<i32>> = FxHashMap::default();
    if !recognised_now.is_empty() {
        for r in tx.query(
            "SELECT person, year FROM assessments
             WHERE year >= $1 AND year < $2 AND state = 'recognised' AND person = ANY($3)
             ORDER BY person, year",
            &[&(year_n - STREAK_WINDOW).max(0), &year_n, &recognised_now],
        )? {
            if let (Some(&n), Some(y)) = (people.get(r.get::<_, &str>(0)), small(r.get(1))) {
                earlier_recognised.entry(n).or_default().push(y);
            }
        }
    }
    tx.commit()?;
    Ok(ReportFacts {
        year,
        units,
        groups: groups.0,
        catalogs: catalogs.0,
        indicators,
        people: people.into_keys().collect(),
        assessments,
        members,
        earlier_recognised,
        legacy,
    })
}

/// Names of persons by id (those not found are left out), in one statement.
pub(crate) fn person_names(db: &PgStorage, ids: &[String]) -> Result<HashMap<String, String>> {
    Ok(db
        .conn()?
        .query(
            "SELECT id, full_name FROM persons WHERE id = ANY($1)",
            &[&ids],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
