//! One assessment as a reviewer reads it: its row, its person, its photos
//! and its last review.

use crate::error::Result;
use crate::review::num;
use crate::PgStorage;
use cdht_core::ids::AssessmentId;
use cdht_server_db::{AssessmentRecord, LastReview};

pub(crate) fn assessment_record(
    db: &PgStorage,
    id: AssessmentId,
) -> Result<Option<AssessmentRecord>> {
    let mut conn = db.conn()?;
    // One snapshot for the row, its photos and its last review.
    let mut tx = conn
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let id_text = id.to_string();
    let Some(r) = tx.query_opt(
        "SELECT a.unit, a.person, COALESCE(p.full_name, ''), p.birth_year, p.address,
            a.year, a.catalog, a.grp, a.answers, a.state, a.total, a.passed, a.threshold,
            a.return_reason, a.decision_no, a.decision_date, a.updated_at
         FROM assessments a LEFT JOIN persons p ON p.id = a.person WHERE a.id = $1",
        &[&id_text],
    )?
    else {
        return Ok(None);
    };
    let birth_year = r
        .get::<_, Option<i64>>(3)
        .and_then(|y| u16::try_from(y).ok());
    let mut record = AssessmentRecord {
        id,
        unit: r.get(0),
        person: r.get(1),
        person_name: r.get(2),
        birth_year,
        address: r.get(4),
        year: num(&r, 5)?,
        catalog: r.get(6),
        group: r.get(7),
        answers: r.get(8),
        state: r.get(9),
        total: num(&r, 10)?,
        passed: r.get(11),
        threshold: num(&r, 12)?,
        return_reason: r.get(13),
        decision_no: r.get(14),
        decision_date: r.get(15),
        updated_at: r.get(16),
        evidence: Vec::new(),
        last_review: None,
    };
    record.evidence = tx
        .query(
            "SELECT indicator, sha256 FROM evidence WHERE assessment = $1 ORDER BY indicator, id",
            &[&id_text],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // The partial index audit_log_assessment: the newest review action.
    record.last_review = tx
        .query_opt(
            "SELECT actor, at, action FROM audit_log
             WHERE assessment = $1 AND action IN ('approve', 'return', 'recognise')
             ORDER BY id DESC LIMIT 1",
            &[&id_text],
        )?
        .map(|r| LastReview {
            actor: r.get(0),
            at: r.get(1),
            action: r.get(2),
        });
    tx.commit()?;
    Ok(Some(record))
}
