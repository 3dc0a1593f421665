//! The review of assessments: listing, approving or returning, recognition,
//! likely duplicates and the audit log.
//!
//! A review or recognition takes the change counter first (it appends a
//! change; the backend's lock order), then locks the assessments it acts on
//! (`FOR UPDATE`): two reviewers of one assessment on two instances act one
//! after the other, and the second sees the state the first left
//! (`wrong_state`).

use crate::changes::{add_change, audit, lock_last_seq, AuditRow};
use crate::error::{corrupt, Result};
use crate::{now, unsigned, PgStorage, SUBTREE};
use cdht_core::ids::{AssessmentId, UnitCode};
use cdht_core::sync::{Change, ReviewState};
use cdht_core::Code;
use cdht_server_db::{
    rules, AssessmentSummary, AuditEntry, DuplicateGroup, DuplicateMember, DuplicatePage,
    Recognition, Refusal, ReviewAction, StorageError, DUPLICATE_MEMBERS_SHOWN,
};
use postgres::Row;

/// Other assessments of the same person (same keyed CCCD) in the same year
/// as `assessment` (`$1`): likely duplicates, grouped at read time.
const SAME_PERSON_YEAR: &str = "SELECT o.id FROM assessments a
     JOIN persons p ON p.id = a.person
     JOIN persons op ON op.cccd_hmac = p.cccd_hmac
     JOIN assessments o ON o.person = op.id AND o.year = a.year
     WHERE a.id = $1 AND p.cccd_hmac IS NOT NULL AND o.id <> a.id";

fn assessment_id(s: &str) -> Result<AssessmentId> {
    s.parse().map_err(|_| corrupt(format!("assessment id {s}")))
}

pub(crate) fn num<T: TryFrom<i64>>(row: &Row, column: usize) -> Result<T> {
    let n: i64 = row.get(column);
    T::try_from(n).map_err(|_| corrupt(format!("stored number {n}")))
}

pub(crate) fn assessment_unit(db: &PgStorage, id: AssessmentId) -> Result<Option<UnitCode>> {
    Ok(db
        .conn()?
        .query_opt(
            "SELECT unit FROM assessments WHERE id = $1",
            &[&id.to_string()],
        )?
        .map(|r| UnitCode::new(r.get::<_, String>(0))))
}

pub(crate) fn list_assessments(db: &PgStorage, unit: &str) -> Result<Vec<AssessmentSummary>> {
    let mut conn = db.conn()?;
    let rows = conn.query(
        &format!(
            "{SUBTREE} SELECT a.id, a.unit, a.person, COALESCE(p.full_name, ''), a.year,
                a.catalog, a.grp, a.state, a.total, a.passed, a.threshold, a.version,
                a.return_reason, a.decision_no, a.decision_date
             FROM assessments a LEFT JOIN persons p ON p.id = a.person
             WHERE a.unit IN (SELECT code FROM sub) ORDER BY a.unit, a.id"
        ),
        &[&unit],
    )?;
    let dup = format!("{SAME_PERSON_YEAR} ORDER BY o.id LIMIT {DUPLICATE_MEMBERS_SHOWN}");
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: &str = r.get(0);
        let possible_duplicates = conn
            .query(&dup, &[&id])?
            .iter()
            .map(|d| assessment_id(d.get(0)))
            .collect::<Result<_>>()?;
        out.push(AssessmentSummary {
            id: assessment_id(id)?,
            unit: UnitCode::new(r.get::<_, String>(1)),
            person: r.get(2),
            person_name: r.get(3),
            year: num(r, 4)?,
            catalog: r.get(5),
            group: r.get(6),
            state: r.get(7),
            total: num(r, 8)?,
            passed: r.get(9),
            threshold: num(r, 10)?,
            version: num(r, 11)?,
            return_reason: r.get(12),
            decision_no: r.get(13),
            decision_date: r.get(14),
            possible_duplicates,
        });
    }
    Ok(out)
}

pub(crate) fn review(
    db: &PgStorage,
    id: AssessmentId,
    actor: &str,
    action: &ReviewAction,
) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    lock_last_seq(&mut tx)?;
    let id_text = id.to_string();
    let r = tx
        .query_opt(
            "SELECT unit, state, person FROM assessments WHERE id = $1 FOR UPDATE",
            &[&id_text],
        )?
        .ok_or_else(|| StorageError::refused(Refusal::NotFound, Code::NotFound))?;
    let (unit, state, person): (String, String, String) = (r.get(0), r.get(1), r.get(2));
    let from = ReviewState::parse(&state).ok_or_else(|| corrupt(&state))?;
    let step = rules::review_step(from, action)
        .map_err(|code| StorageError::refused(Refusal::Conflict, code))?;
    let (to, reason) = (step.to, step.reason);
    let at = now();
    tx.execute(
        // `added_at`: the first change's time, which `updated_at` was so far.
        "UPDATE assessments SET state = $2, return_reason = $3, updated_at = $4,
            added_at = COALESCE(added_at, updated_at) WHERE id = $1",
        &[&id_text, &to.as_str(), &reason, &at],
    )?;
    audit(
        &mut tx,
        &AuditRow {
            at: &at,
            actor,
            action: step.audit,
            unit: Some(&unit),
            assessment: Some(&id_text),
            from: Some(from.as_str()),
            to: Some(to.as_str()),
            detail: reason,
        },
    )?;
    add_change(
        &mut tx,
        Some(&unit),
        Some(&person),
        None,
        &Change::Review {
            assessment: id,
            state: to,
            reason: reason.map(str::to_owned),
        },
    )?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn recognise(db: &PgStorage, unit: &str, actor: &str, rec: &Recognition) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    lock_last_seq(&mut tx)?;
    for id in &rec.assessments {
        let id_text = id.to_string();
        let Some(r) = tx.query_opt(
            &format!(
                "{SUBTREE} SELECT unit, state, person FROM assessments
                 WHERE id = $2 AND unit IN (SELECT code FROM sub) FOR UPDATE"
            ),
            &[&unit, &id_text],
        )?
        else {
            return Err(StorageError::refused_saying(
                Refusal::NotFound,
                Code::NotFound,
                format!("no assessment {id} in this unit"),
            )
            .into());
        };
        let (a_unit, state, person): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let state = ReviewState::parse(&state).ok_or_else(|| corrupt(&state))?;
        // Counted once: the same person recognised elsewhere this year blocks it.
        let elsewhere: bool = tx
            .query_one(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM assessments r WHERE r.state = 'recognised'
                        AND r.id IN ({SAME_PERSON_YEAR}))"
                ),
                &[&id_text],
            )?
            .get(0);
        rules::may_recognise(state, elsewhere).map_err(|code| match code {
            Code::AlreadyRecognisedElsewhere => StorageError::refused_saying(
                Refusal::Conflict,
                code,
                format!("the person of assessment {id} is recognised elsewhere this year"),
            ),
            code => StorageError::refused(Refusal::Conflict, code),
        })?;
        let at = now();
        tx.execute(
            "UPDATE assessments SET state = 'recognised', decision_no = $2,
                decision_date = $3, updated_at = $4, added_at = COALESCE(added_at, updated_at)
             WHERE id = $1",
            &[&id_text, &rec.decision_no, &rec.decision_date, &at],
        )?;
        audit(
            &mut tx,
            &AuditRow {
                at: &at,
                actor,
                action: "recognise",
                unit: Some(&a_unit),
                assessment: Some(&id_text),
                from: Some("approved"),
                to: Some("recognised"),
                detail: Some(&format!("{} ({})", rec.decision_no, rec.decision_date)),
            },
        )?;
        add_change(
            &mut tx,
            Some(&a_unit),
            Some(&person),
            None,
            &Change::Recognition {
                assessment: *id,
                decision_no: rec.decision_no.clone(),
                decision_date: rec.decision_date.clone(),
            },
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn duplicates(
    db: &PgStorage,
    unit: &str,
    after: Option<AssessmentId>,
    limit: u32,
) -> Result<DuplicatePage> {
    let limit = limit.max(1);
    let mut conn = db.conn()?;
    // One group per keyed CCCD and year with more than one assessment, one
    // of them in the subtree; named by its first assessment id.
    let after = after.map_or_else(String::new, |a| a.to_string());
    let rows = conn.query(
        &format!(
            "{SUBTREE} SELECT p.cccd_hmac, a.year, MIN(a.id) AS first, COUNT(*)
             FROM assessments a JOIN persons p ON p.id = a.person
             LEFT JOIN sub s ON s.code = a.unit
             WHERE p.cccd_hmac IS NOT NULL
             GROUP BY p.cccd_hmac, a.year
             HAVING COUNT(*) > 1 AND bool_or(s.code IS NOT NULL) AND MIN(a.id) > $2
             ORDER BY first LIMIT $3"
        ),
        &[&unit, &after, &(i64::from(limit) + 1)],
    )?;
    let more = rows.len() > limit as usize;
    let members = format!(
        "{SUBTREE} SELECT a.id, a.unit FROM assessments a JOIN persons p ON p.id = a.person
         WHERE p.cccd_hmac = $2 AND a.year = $3
         ORDER BY a.unit IN (SELECT code FROM sub) DESC, a.id
         LIMIT {DUPLICATE_MEMBERS_SHOWN}"
    );
    let mut groups = Vec::new();
    for r in rows.iter().take(limit as usize) {
        let (hmac, year): (&str, i64) = (r.get(0), r.get(1));
        let assessments = conn
            .query(&members, &[&unit, &hmac, &year])?
            .iter()
            .map(|m| {
                Ok(DuplicateMember {
                    assessment: assessment_id(m.get(0))?,
                    unit: UnitCode::new(m.get::<_, String>(1)),
                })
            })
            .collect::<Result<_>>()?;
        groups.push(DuplicateGroup {
            year: num(r, 1)?,
            count: unsigned(r.get(3)),
            assessments,
        });
    }
    let next = match (more, rows.get(limit as usize - 1)) {
        (true, Some(r)) => Some(assessment_id(r.get(2))?),
        _ => None,
    };
    Ok(DuplicatePage { groups, next })
}

/// `Storage::audit`: the audit log of the subtree of `unit`.
pub(crate) fn audit_log(db: &PgStorage, unit: &str) -> Result<Vec<AuditEntry>> {
    Ok(db
        .conn()?
        .query(
            &format!(
                "{SUBTREE} SELECT at, actor, action, unit, assessment, from_state, to_state,
                    detail
                 FROM audit_log WHERE unit IN (SELECT code FROM sub) ORDER BY id"
            ),
            &[&unit],
        )?
        .iter()
        .map(|r| AuditEntry {
            at: r.get(0),
            actor: r.get(1),
            action: r.get(2),
            unit: r.get(3),
            assessment: r.get(4),
            from_state: r.get(5),
            to_state: r.get(6),
            detail: r.get(7),
        })
        .collect())
}
