//! The exemplary Learning Citizen title: who was recognised in a year (with
//! every year they were recognised in) and the titles granted by decision.

use crate::changes::{audit, AuditRow};
use crate::error::{corrupt, Result};
use crate::{now, PgStorage, SUBTREE};
use cdht_core::ids::{PersonId, UnitCode};
use cdht_core::{Code, ExemplaryStatus};
use cdht_server_db::{
    ExemplaryCandidate, ExemplaryCandidatePage, ExemplaryGrant, ExemplaryTitle, Refusal,
    StorageError, StorageResult,
};
use postgres::{GenericClient, Row};

/// Grants take this lock (transaction-level, any constant of its own), so
/// two grants on two instances never both pass the "no title yet" check.
const GRANT_LOCK: i64 = 0x0cd4_7e01;

/// The persons with a recognised assessment in year `$2` in the subtree of
/// `$1`, one row each, with the first such assessment by id (as SQLite's
/// `MIN` picks it). `{filter}` narrows on `a.person` with `$3`.
fn recognised_in_subtree(filter: &str) -> String {
    format!(
        "{SUBTREE} SELECT DISTINCT ON (a.person) a.person, COALESCE(p.full_name, ''), a.id,
            a.unit, a.catalog
         FROM assessments a LEFT JOIN persons p ON p.id = a.person
         WHERE a.year = $2 AND a.state = 'recognised' AND a.unit IN (SELECT code FROM sub)
           AND {filter}
         ORDER BY a.person, a.id"
    )
}

/// A row of [`recognised_in_subtree`] with the person's recognised years and
/// title of `year`.
fn complete(c: &mut impl GenericClient, year: u16, r: &Row) -> Result<ExemplaryCandidate> {
    let person: &str = r.get(0);
    let assessment: &str = r.get(2);
    let recognised_years = c
        .query(
            "SELECT DISTINCT year FROM assessments
             WHERE person = $1 AND state = 'recognised' ORDER BY year",
            &[&person],
        )?
        .iter()
        .map(|y| crate::review::num(y, 0))
        .collect::<Result<_>>()?;
    let title = c
        .query_opt(
            "SELECT decision_no, decision_date FROM exemplary_titles
             WHERE person = $1 AND year = $2",
            &[&person, &i64::from(year)],
        )?
        .map(|t| ExemplaryTitle {
            decision_no: t.get(0),
            decision_date: t.get(1),
        });
    Ok(ExemplaryCandidate {
        person: person
            .parse()
            .map_err(|_| corrupt(format!("person id {person}")))?,
        person_name: r.get(1),
        assessment: assessment
            .parse()
            .map_err(|_| corrupt(format!("assessment id {assessment}")))?,
        unit: UnitCode::new(r.get::<_, String>(3)),
        catalog: r.get(4),
        recognised_years,
        title,
    })
}

pub(crate) fn exemplary_candidates(
    db: &PgStorage,
    unit: &str,
    year: u16,
    after: Option<PersonId>,
    limit: u32,
) -> Result<ExemplaryCandidatePage> {
    let limit = limit.max(1);
    let mut conn = db.conn()?;
    let after = after.map_or_else(String::new, |p| p.to_string());
    let rows = conn.query(
        &format!("{} LIMIT $4", recognised_in_subtree("a.person > $3")),
        &[&unit, &i64::from(year), &after, &(i64::from(limit) + 1)],
    )?;
    let more = rows.len() > limit as usize;
    let candidates = rows
        .iter()
        .take(limit as usize)
        .map(|r| complete(&mut *conn, year, r))
        .collect::<Result<Vec<_>>>()?;
    let next = if more {
        candidates.last().map(|c| c.person)
    } else {
        None
    };
    Ok(ExemplaryCandidatePage { candidates, next })
}

pub(crate) fn grant_exemplary(
    db: &PgStorage,
    unit: &str,
    actor: &str,
    grant: &ExemplaryGrant,
    status: &dyn Fn(&ExemplaryCandidate) -> StorageResult<ExemplaryStatus>,
) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&GRANT_LOCK])?;
    let year = grant.year;
    let title = &grant.title;
    let one = recognised_in_subtree("a.person = $3");
    for person in &grant.persons {
        let person_text = person.to_string();
        let Some(row) = tx.query_opt(&one, &[&unit, &i64::from(year), &person_text])? else {
            let known: bool = tx
                .query_one(
                    &format!(
                        "{SUBTREE} SELECT EXISTS (SELECT 1 FROM assessments
                            WHERE person = $2 AND unit IN (SELECT code FROM sub))
                         OR EXISTS (SELECT 1 FROM persons
                            WHERE id = $2 AND unit IN (SELECT code FROM sub))"
                    ),
                    &[&unit, &person_text],
                )?
                .get(0);
            return Err(if known {
                // Not recognised this year in this unit: a streak of none.
                StorageError::not_eligible(person_text, year.into(), 0, 1)
            } else {
                StorageError::refused_saying(
                    Refusal::NotFound,
                    Code::NotFound,
                    format!("no person {person} in this unit"),
                )
            }
            .into());
        };
        let candidate = complete(&mut tx, year, &row)?;
        let s = status(&candidate)?;
        if !s.eligible {
            return Err(StorageError::not_eligible(
                candidate.person_name.clone(),
                year.into(),
                s.streak,
                s.required,
            )
            .into());
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
                )
                .into())
            }
            None => {}
        }
        let at = now();
        let assessment = candidate.assessment.to_string();
        tx.execute(
            "INSERT INTO exemplary_titles (person, year, unit, assessment, decision_no,
                decision_date, granted_by, granted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &person_text,
                &i64::from(year),
                &candidate.unit.as_str(),
                &assessment,
                &title.decision_no,
                &title.decision_date,
                &actor,
                &at,
            ],
        )?;
        audit(
            &mut tx,
            &AuditRow {
                at: &at,
                actor,
                action: "grant_exemplary",
                unit: Some(candidate.unit.as_str()),
                assessment: Some(&assessment),
                from: Some("eligible"),
                to: Some("exemplary"),
                detail: Some(&format!(
                    "{} ({}); năm {year}; người {person}; {} năm liền",
                    title.decision_no, title.decision_date, s.streak
                )),
            },
        )?;
    }
    tx.commit()?;
    Ok(())
}
