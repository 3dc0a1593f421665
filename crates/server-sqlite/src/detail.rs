//! One assessment as a reviewer reads it (`GET /api/v1/assessments/{id}`):
//! its row, its person, its photos and its last review.

use super::SqliteStorage;
use cdht_core::ids::AssessmentId;
use cdht_server_db::{AssessmentRecord, LastReview, StorageResult};
use rusqlite::OptionalExtension;

pub(super) fn assessment_record(
    db: &SqliteStorage,
    id: AssessmentId,
) -> StorageResult<Option<AssessmentRecord>> {
    let conn = db.conn()?;
    let id_text = id.to_string();
    let row = conn
        .query_row(
            "SELECT a.unit, a.person, COALESCE(p.full_name, ''), p.birth_year, p.address,
                a.year, a.catalog, a.grp, a.answers, a.state, a.total, a.passed, a.threshold,
                a.return_reason, a.decision_no, a.decision_date, a.updated_at
             FROM assessments a LEFT JOIN persons p ON p.id = a.person WHERE a.id = ?1",
            [&id_text],
            |r| {
                Ok(AssessmentRecord {
                    id,
                    unit: r.get(0)?,
                    person: r.get(1)?,
                    person_name: r.get(2)?,
                    birth_year: r.get(3)?,
                    address: r.get(4)?,
                    year: r.get(5)?,
                    catalog: r.get(6)?,
                    group: r.get(7)?,
                    answers: r.get(8)?,
                    state: r.get(9)?,
                    total: r.get(10)?,
                    passed: r.get(11)?,
                    threshold: r.get(12)?,
                    return_reason: r.get(13)?,
                    decision_no: r.get(14)?,
                    decision_date: r.get(15)?,
                    updated_at: r.get(16)?,
                    evidence: Vec::new(),
                    last_review: None,
                })
            },
        )
        .optional()?;
    let Some(mut record) = row else {
        return Ok(None);
    };
    let mut photos = conn.prepare_cached(
        "SELECT indicator, sha256 FROM evidence WHERE assessment = ?1 ORDER BY indicator, id",
    )?;
    record.evidence = photos
        .query_map([&id_text], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // Migration 0010's index: the newest review action of this assessment.
    record.last_review = conn
        .query_row(
            "SELECT actor, at, action FROM audit_log
             WHERE assessment = ?1 AND action IN ('approve', 'return', 'recognise')
             ORDER BY id DESC LIMIT 1",
            [&id_text],
            |r| {
                Ok(LastReview {
                    actor: r.get(0)?,
                    at: r.get(1)?,
                    action: r.get(2)?,
                })
            },
        )
        .optional()?;
    Ok(Some(record))
}
