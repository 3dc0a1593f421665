//! Rows of `assessments` and `answers`: reading them into the model, and
//! the writes every action shares (an answer, a new revision). Imports only
//! the SQL helpers.

use crate::error::{Result, StoreError};
use crate::model::{Assessment, AssessmentStatus, Saved, ScoreSummary, UnixMs};
use crate::sql::{area_col, check_code, parsed};
use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId, LevelId};
use cdht_core::{Answer, Answers};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row};

/// Upper bound on stored points: a sanity check only; the catalog's own range is
/// checked by core when scoring.
pub(crate) const MAX_POINTS: i64 = 100;

const ASSESSMENT_COLUMNS: &str = "assessment_id, person_id, year, catalog_id, group_id, \
     area_type, status, return_reason, decision_number, decision_date, revision, \
     total_points, passed, created_at_ms, updated_at_ms, submitted_at_ms";

fn assessment_from_row(row: &Row<'_>) -> rusqlite::Result<Assessment> {
    let decision_date = match row.get::<_, Option<String>>(9)? {
        None => None,
        Some(text) => Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Text, Box::new(err))
        })?),
    };
    let total: Option<i64> = row.get(11)?;
    let passed: Option<bool> = row.get(12)?;
    Ok(Assessment {
        assessment_id: parsed(row, 0)?,
        person_id: parsed(row, 1)?,
        year: row.get(2)?,
        catalog_id: CatalogId::new(row.get::<_, String>(3)?),
        group_id: GroupId::new(row.get::<_, String>(4)?),
        area_type: area_col(row, 5)?,
        status: row.get(6)?,
        return_reason: row.get(7)?,
        decision_number: row.get(8)?,
        decision_date,
        revision: row.get(10)?,
        score: total
            .zip(passed)
            .map(|(total_points, passed)| ScoreSummary {
                total_points,
                passed,
            }),
        created_at_ms: row.get(13)?,
        updated_at_ms: row.get(14)?,
        submitted_at_ms: row.get(15)?,
    })
}

pub(crate) fn load_assessment(conn: &Connection, id: AssessmentId) -> Result<Assessment> {
    conn.query_row(
        &format!("SELECT {ASSESSMENT_COLUMNS} FROM assessments WHERE assessment_id = ?1"),
        [id.to_string()],
        assessment_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found("assessment", id))
}

pub(crate) fn load_answers(conn: &Connection, id: AssessmentId) -> Result<Answers> {
    let mut stmt = conn.prepare(
        "SELECT indicator_id, points, level_id FROM answers
         WHERE assessment_id = ?1 ORDER BY indicator_id",
    )?;
    let answers = stmt
        .query_map([id.to_string()], |row| {
            let indicator = IndicatorId::new(row.get::<_, String>(0)?);
            let points: Option<i64> = row.get(1)?;
            let level: Option<String> = row.get(2)?;
            let answer = match (points, level) {
                (Some(points), _) => Answer::Points(points),
                (None, Some(level)) => Answer::Level(LevelId::new(level)),
                (None, None) => {
                    return Err(rusqlite::Error::InvalidColumnType(
                        1,
                        "points".to_owned(),
                        rusqlite::types::Type::Null,
                    ))
                }
            };
            Ok((indicator, answer))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Answers(answers))
}

/// The assessment's status, refusing with [`StoreError::Locked`] unless the device
/// is its writer (draft or returned).
pub(crate) fn require_editable(conn: &Connection, id: AssessmentId) -> Result<AssessmentStatus> {
    let (status, deleting): (AssessmentStatus, bool) = conn
        .query_row(
            &format!(
                "SELECT status, {} FROM assessments WHERE assessment_id = ?1",
                super::removal::deleting("assessment", "assessment_id")
            ),
            [id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::not_found("assessment", id))?;
    if deleting {
        // Its delete waits for the server: nothing more is written to it.
        return Err(StoreError::Refused(cdht_core::Code::RecordDeleted));
    }
    if status.is_editable() {
        Ok(status)
    } else {
        Err(StoreError::Locked {
            assessment_id: id.to_string(),
            status: status.as_str(),
        })
    }
}

/// The `answers` columns of one answer (points or a level, never both),
/// checked: a known shape of indicator id and level id, points in range.
pub(crate) fn answer_columns<'a>(
    indicator: &IndicatorId,
    answer: &'a Answer,
) -> Result<(Option<i64>, Option<&'a str>)> {
    check_code(indicator.as_str(), "indicator id")?;
    match answer {
        Answer::Points(points) if (0..=MAX_POINTS).contains(points) => Ok((Some(*points), None)),
        Answer::Points(points) => Err(StoreError::invalid(format!(
            "points {points} for indicator {indicator} are out of range"
        ))),
        Answer::Level(level) => {
            check_code(level.as_str(), "answer level")?;
            Ok((None, Some(level.as_str())))
        }
    }
}

/// Stores one answer of an assessment (autosave, restored answers, a pulled
/// record): the one place that writes the `answers` table.
pub(crate) fn upsert_answer(
    conn: &Connection,
    assessment_id: &str,
    indicator: &IndicatorId,
    (points, level): (Option<i64>, Option<&str>),
    now: UnixMs,
) -> Result<()> {
    conn.execute(
        "INSERT INTO answers (assessment_id, indicator_id, points, level_id, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (assessment_id, indicator_id) DO UPDATE SET
             points = excluded.points, level_id = excluded.level_id,
             updated_at_ms = excluded.updated_at_ms",
        rusqlite::params![assessment_id, indicator.as_str(), points, level, now],
    )?;
    Ok(())
}

/// Every local change is a new revision.
pub(crate) fn bump_revision(
    conn: &Connection,
    id: AssessmentId,
    now: UnixMs,
    score: Option<ScoreSummary>,
) -> Result<Saved> {
    let (revision, updated_at_ms) = conn.query_row(
        "UPDATE assessments SET revision = revision + 1, updated_at_ms = ?2,
             total_points = CASE WHEN ?3 THEN ?4 ELSE total_points END,
             passed = CASE WHEN ?3 THEN ?5 ELSE passed END
         WHERE assessment_id = ?1
         RETURNING revision, updated_at_ms",
        rusqlite::params![
            id.to_string(),
            now,
            score.is_some(),
            score.map(|s| s.total_points),
            score.map(|s| s.passed),
        ],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(Saved {
        revision,
        updated_at_ms,
    })
}
