//! The exemplary Learning Citizen title: who was recognised in a year (with
//! every year they were recognised in) and the titles granted by decision.

use super::{audit, now, write_tx, SqliteStorage, SUBTREE};
use cdht_core::ids::{PersonId, UnitCode};
use cdht_core::Code;
use cdht_core::ExemplaryStatus;
use cdht_server_db::{
    ExemplaryCandidate, ExemplaryCandidatePage, ExemplaryGrant, ExemplaryTitle, Refusal,
    StorageError, StorageResult,
};
use rusqlite::{params, Connection, OptionalExtension};

/// The persons with a recognised assessment in year `?2` in the subtree of
/// `?1`, one row each, with the first such assessment (SQLite takes the bare
/// columns from the row `MIN` picked). `{filter}` narrows on `a.person`
/// with `?3`.
fn recognised_in_subtree(filter: &str) -> String {
    format!(
        "{SUBTREE} SELECT a.person, COALESCE(p.full_name, ''), MIN(a.id), a.unit, a.catalog
         FROM assessments a LEFT JOIN persons p ON p.id = a.person
         WHERE a.year = ?2 AND a.state = 'recognised' AND a.unit IN (SELECT code FROM sub)
           AND {filter}
         GROUP BY a.person ORDER BY a.person"
    )
}

type CandidateRow = (String, String, String, String, String);

fn candidate_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CandidateRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// A row of [`recognised_in_subtree`] with the person's recognised years and
/// title of `year`.
fn complete(conn: &Connection, year: u16, row: CandidateRow) -> StorageResult<ExemplaryCandidate> {
    let (person, person_name, assessment, unit, catalog) = row;
    let recognised_years = conn
        .prepare_cached(
            "SELECT DISTINCT year FROM assessments WHERE person = ?1 AND state = 'recognised'",
        )?
        .query_map([&person], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let title = conn
        .prepare_cached(
            "SELECT decision_no, decision_date FROM exemplary_titles
             WHERE person = ?1 AND year = ?2",
        )?
        .query_row(params![person, year], |r| {
            Ok(ExemplaryTitle {
                decision_no: r.get(0)?,
                decision_date: r.get(1)?,
            })
        })
        .optional()?;
    Ok(ExemplaryCandidate {
        person: person
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("person id {person}")))?,
        person_name,
        assessment: assessment
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("assessment id {assessment}")))?,
        unit: UnitCode::new(unit),
        catalog,
        recognised_years,
        title,
    })
}

pub(super) fn exemplary_candidates(
    db: &SqliteStorage,
    unit: &str,
    year: u16,
    after: Option<PersonId>,
    limit: u32,
) -> StorageResult<ExemplaryCandidatePage> {
    let limit = limit.max(1);
    let conn = db.conn()?;
    let after = after.map_or_else(String::new, |p| p.to_string());
    let rows: Vec<CandidateRow> = conn
        .prepare(&format!(
            "{} LIMIT ?4",
            recognised_in_subtree("a.person > ?3")
        ))?
        .query_map(
            params![unit, year, after, i64::from(limit) + 1],
            candidate_row,
        )?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit as usize;
    let candidates = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| complete(&conn, year, row))
        .collect::<StorageResult<Vec<_>>>()?;
    let next = if more {
        candidates.last().map(|c| c.person)
    } else {
        None
    };
    Ok(ExemplaryCandidatePage { candidates, next })
}

pub(super) fn grant_exemplary(
    db: &SqliteStorage,
    unit: &str,
    actor: &str,
    grant: &ExemplaryGrant,
    status: &dyn Fn(&ExemplaryCandidate) -> StorageResult<ExemplaryStatus>,
) -> StorageResult<()> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    let year = grant.year;
    let title = &grant.title;
    let one = recognised_in_subtree("a.person = ?3");
    for person in &grant.persons {
        let person_text = person.to_string();
        let row = tx
            .prepare_cached(&one)?
            .query_row(params![unit, year, person_text], candidate_row)
            .optional()?;
        let Some(row) = row else {
            let known: bool = tx.query_row(
                &format!(
                    "{SUBTREE} SELECT EXISTS (SELECT 1 FROM assessments
                        WHERE person = ?2 AND unit IN (SELECT code FROM sub))
                     OR EXISTS (SELECT 1 FROM persons
                        WHERE id = ?2 AND unit IN (SELECT code FROM sub))"
                ),
                params![unit, person_text],
                |r| r.get(0),
            )?;
            return Err(if known {
                // Not recognised this year in this unit: a streak of none.
                StorageError::not_eligible(person_text, year.into(), 0, 1)
            } else {
                StorageError::refused_saying(
                    Refusal::NotFound,
                    Code::NotFound,
                    format!("no person {person} in this unit"),
                )
            });
        };
        let candidate = complete(&tx, year, row)?;
        let s = status(&candidate)?;
        if !s.eligible {
            return Err(StorageError::not_eligible(
                candidate.person_name.clone(),
                year.into(),
                s.streak,
                s.required,
            ));
        }
        match &candidate.title {
            // The same decision sent again: nothing to do.
            Some(held) if held == title => continue,
            Some(held) => {
                return Err(StorageError::refused(
                    Refusal::Conflict,
                    Code::AlreadyGranted {
                        person: candidate.person_name.clone(),
                        year: year.into(),
                        decision_no: held.decision_no.clone(),
                        decision_date: held.decision_date.clone(),
                    },
                ))
            }
            None => {}
        }
        tx.execute(
            "INSERT INTO exemplary_titles (person, year, unit, assessment, decision_no,
                decision_date, granted_by, granted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                person_text,
                year,
                candidate.unit.as_str(),
                candidate.assessment.to_string(),
                title.decision_no,
                title.decision_date,
                actor,
                now()
            ],
        )?;
        audit(
            &tx,
            actor,
            "grant_exemplary",
            Some(candidate.unit.as_str()),
            Some(&candidate.assessment.to_string()),
            Some("eligible"),
            Some("exemplary"),
            Some(&format!(
                "{} ({}); năm {year}; người {person}; {} năm liền",
                title.decision_no, title.decision_date, s.streak
            )),
        )?;
    }
    tx.commit()?;
    Ok(())
}
