//! Assessments and their answers: autosave, submit, reviews, history.

use crate::error::{Result, StoreError};
use crate::model::{
    Assessment, AssessmentBrief, AssessmentDetail, AssessmentStatus, OutboxEntry, ReplacedAnswers,
    Review, Saved, ScoreSummary, UnixMs,
};
use crate::sql::{area_col, check_code, now_ms, parsed};
use crate::sync::enqueue_submission;
use crate::Store;
use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId, LevelId, PersonId};
use cdht_core::{Answer, Answers, AreaType};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row};

/// Upper bound on stored points: a sanity check only; the catalog's own range is
/// checked by core when scoring.
pub(crate) const MAX_POINTS: i64 = 100;
const MAX_REASON_CHARS: usize = 1000;

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
    let status: AssessmentStatus = conn
        .query_row(
            "SELECT status FROM assessments WHERE assessment_id = ?1",
            [id.to_string()],
            |row| row.get(0),
        )
        .optional()?
        .ok_or_else(|| StoreError::not_found("assessment", id))?;
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

/// A reviewer's decision, inside the caller's transaction.
pub(crate) fn apply_review_in(
    tx: &Connection,
    id: AssessmentId,
    review: &Review,
    now: UnixMs,
) -> Result<Assessment> {
    let current = load_assessment(tx, id)?;
    use AssessmentStatus as S;
    let (target, allowed_from): (S, &[S]) = match review {
        Review::Approved => (S::Approved, &[S::Submitted]),
        Review::Returned { .. } => (S::Returned, &[S::Submitted, S::Approved]),
        Review::Recognised { .. } => (S::Recognised, &[S::Submitted, S::Approved]),
    };
    let replay = current.status == target
        && match review {
            Review::Approved => true,
            Review::Returned { reason } => current.return_reason.as_deref() == Some(reason),
            Review::Recognised {
                decision_number,
                decision_date,
            } => {
                current.decision_number.as_deref() == Some(decision_number)
                    && current.decision_date == Some(*decision_date)
            }
        };
    if replay {
        return Ok(current);
    }
    if !allowed_from.contains(&current.status) {
        return Err(StoreError::Conflict(format!(
            "assessment {id} is {}; it cannot become {target}",
            current.status
        )));
    }
    match review {
        Review::Approved => {
            tx.execute(
                "UPDATE assessments SET status = 'approved', updated_at_ms = ?2
                 WHERE assessment_id = ?1",
                (id.to_string(), now),
            )?;
        }
        Review::Returned { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                return Err(StoreError::invalid(
                    "a return needs a reason of at most 1000 characters",
                ));
            }
            tx.execute(
                "UPDATE assessments SET status = 'returned', return_reason = ?2,
                     updated_at_ms = ?3
                 WHERE assessment_id = ?1",
                (id.to_string(), reason, now),
            )?;
        }
        Review::Recognised {
            decision_number,
            decision_date,
        } => {
            let number = decision_number.trim();
            if number.is_empty() {
                return Err(StoreError::invalid("a recognition needs a decision number"));
            }
            tx.execute(
                "UPDATE assessments SET status = 'recognised', decision_number = ?2,
                     decision_date = ?3, updated_at_ms = ?4
                 WHERE assessment_id = ?1",
                (
                    id.to_string(),
                    number,
                    decision_date.format("%Y-%m-%d").to_string(),
                    now,
                ),
            )?;
        }
    }
    load_assessment(tx, id)
}

impl Store {
    /// The person's assessment for `year`, created as a draft if there is none.
    /// An existing one is returned as it is (one assessment per person and year).
    pub fn create_or_get_assessment(
        &mut self,
        person_id: PersonId,
        year: i32,
        catalog_id: &CatalogId,
        group_id: &GroupId,
        area_type: AreaType,
    ) -> Result<Assessment> {
        if !(2000..=2200).contains(&year) {
            return Err(StoreError::invalid(format!("year {year} is out of range")));
        }
        check_code(catalog_id.as_str(), "catalog id")?;
        check_code(group_id.as_str(), "group id")?;
        let now = now_ms();
        let tx = self.write_tx()?;
        let person_known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM people WHERE person_id = ?1)",
            [person_id.to_string()],
            |row| row.get(0),
        )?;
        if !person_known {
            return Err(StoreError::not_found("person", person_id));
        }
        let existing: Option<AssessmentId> = tx
            .query_row(
                "SELECT assessment_id FROM assessments WHERE person_id = ?1 AND year = ?2",
                (person_id.to_string(), year),
                |row| parsed(row, 0),
            )
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                let id = AssessmentId::new_v7();
                tx.execute(
                    "INSERT INTO assessments (assessment_id, person_id, year, catalog_id,
                         group_id, area_type, status, revision, created_at_ms, updated_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', 1, ?7, ?7)",
                    rusqlite::params![
                        id.to_string(),
                        person_id.to_string(),
                        year,
                        catalog_id.as_str(),
                        group_id.as_str(),
                        area_type.as_str(),
                        now,
                    ],
                )?;
                id
            }
        };
        let assessment = load_assessment(&tx, id)?;
        tx.commit()?;
        Ok(assessment)
    }

    pub fn assessment(&self, id: AssessmentId) -> Result<Assessment> {
        load_assessment(&self.conn, id)
    }

    /// The assessment with its answers and evidence, for the form.
    pub fn assessment_detail(&self, id: AssessmentId) -> Result<AssessmentDetail> {
        Ok(AssessmentDetail {
            assessment: load_assessment(&self.conn, id)?,
            answers: load_answers(&self.conn, id)?,
            evidence: crate::evidence::load_evidence(&self.conn, id)?,
        })
    }

    /// Autosave of one indicator: stores the answer, bumps the revision and
    /// `updated_at`, and caches `score` (core's result for the new answers) if
    /// given, all in one transaction. Refused with `Locked` once submitted.
    pub fn set_answer(
        &mut self,
        id: AssessmentId,
        indicator: &IndicatorId,
        answer: &Answer,
        score: Option<ScoreSummary>,
    ) -> Result<Saved> {
        let columns = answer_columns(indicator, answer)?;
        let now = now_ms();
        let tx = self.write_tx()?;
        require_editable(&tx, id)?;
        upsert_answer(&tx, &id.to_string(), indicator, columns, now)?;
        let saved = bump_revision(&tx, id, now, score)?;
        tx.commit()?;
        Ok(saved)
    }

    /// Removes one indicator's answer (the person un-ticked it).
    pub fn clear_answer(
        &mut self,
        id: AssessmentId,
        indicator: &IndicatorId,
        score: Option<ScoreSummary>,
    ) -> Result<Saved> {
        let now = now_ms();
        let tx = self.write_tx()?;
        require_editable(&tx, id)?;
        tx.execute(
            "DELETE FROM answers WHERE assessment_id = ?1 AND indicator_id = ?2",
            (id.to_string(), indicator.as_str()),
        )?;
        let saved = bump_revision(&tx, id, now, score)?;
        tx.commit()?;
        Ok(saved)
    }

    /// Refreshes the cached score (e.g. after a catalog update) in any status.
    /// A cache, not the record: the revision does not change.
    pub fn cache_score(&mut self, id: AssessmentId, score: ScoreSummary) -> Result<()> {
        let tx = self.write_tx()?;
        let changed = tx.execute(
            "UPDATE assessments SET total_points = ?2, passed = ?3 WHERE assessment_id = ?1",
            (id.to_string(), score.total_points, score.passed),
        )?;
        if changed == 0 {
            return Err(StoreError::not_found("assessment", id));
        }
        tx.commit()?;
        Ok(())
    }

    /// Submits for review: the status change, a new revision, and an outbox row
    /// with the payload frozen as of now, in one fsynced transaction. From here the
    /// assessment is locked until a reviewer returns it.
    pub fn submit_assessment(&mut self, id: AssessmentId) -> Result<OutboxEntry> {
        self.with_full_sync(|store| {
            let now = now_ms();
            let tx = store.write_tx()?;
            require_editable(&tx, id)?;
            tx.execute(
                "UPDATE assessments SET status = 'submitted', submitted_at_ms = ?2,
                     return_reason = NULL, revision = revision + 1, updated_at_ms = ?2
                 WHERE assessment_id = ?1",
                (id.to_string(), now),
            )?;
            let assessment = load_assessment(&tx, id)?;
            let entry = enqueue_submission(&tx, &assessment, now)?;
            tx.commit()?;
            Ok(entry)
        })
    }

    /// Applies a reviewer's decision (normally through [`Store::apply_pull`]).
    /// Replaying the same decision is a no-op; one out of order is a `Conflict`.
    pub fn apply_review(&mut self, id: AssessmentId, review: &Review) -> Result<Assessment> {
        let now = now_ms();
        let tx = self.write_tx()?;
        let assessment = apply_review_in(&tx, id, review, now)?;
        tx.commit()?;
        Ok(assessment)
    }

    /// A person's assessments, newest year first.
    pub fn history(&self, person_id: PersonId) -> Result<Vec<AssessmentBrief>> {
        let known: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM people WHERE person_id = ?1)",
            [person_id.to_string()],
            |row| row.get(0),
        )?;
        if !known {
            return Err(StoreError::not_found("person", person_id));
        }
        let mut stmt = self.conn.prepare(
            "SELECT assessment_id, year, status, total_points, passed, return_reason, updated_at_ms
             FROM assessments WHERE person_id = ?1 ORDER BY year DESC",
        )?;
        let briefs = stmt
            .query_map([person_id.to_string()], |row| {
                let total: Option<i64> = row.get(3)?;
                let passed: Option<bool> = row.get(4)?;
                Ok(AssessmentBrief {
                    assessment_id: parsed(row, 0)?,
                    year: row.get(1)?,
                    status: row.get(2)?,
                    score: total
                        .zip(passed)
                        .map(|(total_points, passed)| ScoreSummary {
                            total_points,
                            passed,
                        }),
                    return_reason: row.get(5)?,
                    updated_at_ms: row.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(briefs)
    }

    /// Answers edited on this device and not sent that a newer version from
    /// another device replaced (pull), newest first. Empty once dismissed.
    pub fn replaced_answers(&self, id: AssessmentId) -> Result<Vec<ReplacedAnswers>> {
        let mut stmt = self.conn.prepare(
            "SELECT replaced_id, replaced_at_ms, by_version, answers_json FROM replaced_answers
             WHERE assessment_id = ?1 ORDER BY replaced_at_ms DESC, replaced_id DESC",
        )?;
        let rows = stmt
            .query_map([id.to_string()], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, UnixMs>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(replaced_id, replaced_at_ms, by_version, json)| {
                let answers = serde_json::from_str(&json).map_err(|err| {
                    StoreError::Corrupt(format!("kept answers {replaced_id}: {err}"))
                })?;
                Ok(ReplacedAnswers {
                    replaced_id,
                    assessment_id: id,
                    replaced_at_ms,
                    by_version,
                    answers,
                })
            })
            .collect()
    }

    /// The person has seen the kept answers ("Đã xem"): they go. Returns how
    /// many were removed (0 when there were none).
    pub fn dismiss_replaced_answers(&mut self, id: AssessmentId) -> Result<usize> {
        let tx = self.write_tx()?;
        let removed = tx.execute(
            "DELETE FROM replaced_answers WHERE assessment_id = ?1",
            [id.to_string()],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    /// Uses kept answers again ("Dùng lại câu trả lời của tôi"): the
    /// assessment's answers become exactly those, as one autosave (a new
    /// revision, not queued: the person submits when ready), and the kept row
    /// goes. `score` is core's result for them. Refused with `Locked` unless
    /// the assessment is editable here (draft or returned).
    pub fn restore_replaced_answers(
        &mut self,
        id: AssessmentId,
        replaced_id: i64,
        score: Option<ScoreSummary>,
    ) -> Result<Saved> {
        let kept = self
            .replaced_answers(id)?
            .into_iter()
            .find(|r| r.replaced_id == replaced_id)
            .ok_or_else(|| StoreError::not_found("kept answers", replaced_id))?;
        let now = now_ms();
        let tx = self.write_tx()?;
        require_editable(&tx, id)?;
        tx.execute(
            "DELETE FROM answers WHERE assessment_id = ?1",
            [id.to_string()],
        )?;
        for (indicator, answer) in &kept.answers.0 {
            let columns = answer_columns(indicator, answer)?;
            upsert_answer(&tx, &id.to_string(), indicator, columns, now)?;
        }
        tx.execute(
            "DELETE FROM replaced_answers WHERE replaced_id = ?1",
            [replaced_id],
        )?;
        let saved = bump_revision(&tx, id, now, score)?;
        tx.commit()?;
        Ok(saved)
    }
}
