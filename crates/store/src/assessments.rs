//! Assessments and their answers: autosave, submit, reviews, history.

use crate::error::{Result, StoreError};
use crate::model::{
    Assessment, AssessmentBrief, AssessmentDetail, AssessmentStatus, OutboxEntry, ReplacedAnswers,
    Review, Saved, ScoreSummary, UnixMs,
};
use crate::queue::enqueue_submission;
use crate::rows::assessments::{
    answer_columns, bump_revision, load_answers, load_assessment, require_editable, upsert_answer,
};
use crate::rows::removal::deleting;
use crate::sql::{check_code, now_ms, parsed};
use crate::store::Store;
use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId, PersonId};
use cdht_core::{Answer, AreaType};
use rusqlite::{Connection, OptionalExtension};

const MAX_REASON_CHARS: usize = 1000;

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
        // A person or an assessment whose delete waits for the server is
        // neither opened nor made again until the server answers.
        let deleting_now: bool = tx.query_row(
            &format!(
                "SELECT {} OR {}",
                deleting("person", "?1"),
                deleting("assessment", "?2")
            ),
            (
                person_id.to_string(),
                existing.map(|id| id.to_string()).unwrap_or_default(),
            ),
            |row| row.get(0),
        )?;
        if deleting_now {
            return Err(StoreError::Refused(cdht_core::Code::RecordDeleted));
        }
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
            evidence: crate::rows::evidence::load_evidence(&self.conn, id)?,
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
        let mut stmt = self.conn.prepare(&format!(
            "SELECT assessment_id, year, status, total_points, passed, return_reason, updated_at_ms
             FROM assessments WHERE person_id = ?1 AND NOT {}
             ORDER BY year DESC",
            deleting("assessment", "assessment_id")
        ))?;
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
