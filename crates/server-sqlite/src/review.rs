//! The review of assessments: listing, approving or returning, recognition,
//! likely duplicates and the audit log.

use super::{add_change, audit, now, write_tx, SqliteStorage, SUBTREE};
use cdht_core::ids::{AssessmentId, UnitCode};
use cdht_core::sync::{Change, ReviewState};
use cdht_core::Code;
use cdht_server_db::{
    rules, AssessmentSummary, AuditEntry, DuplicateGroup, DuplicateMember, DuplicatePage,
    Recognition, Refusal, ReviewAction, StorageError, StorageResult, DUPLICATE_MEMBERS_SHOWN,
};
use rusqlite::{params, OptionalExtension};

/// Other assessments of the same person (same keyed CCCD) in the same year
/// as `assessment`: likely duplicates, grouped at read time, never merged.
const SAME_PERSON_YEAR: &str = "SELECT o.id FROM assessments a
     JOIN persons p ON p.id = a.person
     JOIN persons op ON op.cccd_hmac = p.cccd_hmac
     JOIN assessments o ON o.person = op.id AND o.year = a.year
     WHERE a.id = ?1 AND p.cccd_hmac IS NOT NULL AND o.id <> a.id";

fn parse_assessment_id(s: &str) -> StorageResult<AssessmentId> {
    s.parse()
        .map_err(|_| StorageError::Corrupt(format!("assessment id {s}")))
}

pub(super) fn assessment_unit(
    db: &SqliteStorage,
    id: AssessmentId,
) -> StorageResult<Option<UnitCode>> {
    Ok(db
        .conn()?
        .query_row(
            "SELECT unit FROM assessments WHERE id = ?1",
            [id.to_string()],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .map(UnitCode::new))
}

pub(super) fn list_assessments(
    db: &SqliteStorage,
    unit: &str,
) -> StorageResult<Vec<AssessmentSummary>> {
    let conn = db.conn()?;
    let mut stmt = conn.prepare(&format!(
        "{SUBTREE} SELECT a.id, a.unit, a.person, COALESCE(p.full_name, ''), a.year, a.catalog,
            a.grp, a.state, a.total, a.passed, a.threshold, a.version, a.return_reason,
            a.decision_no, a.decision_date
         FROM assessments a LEFT JOIN persons p ON p.id = a.person
         WHERE a.unit IN (SELECT code FROM sub) ORDER BY a.unit, a.id"
    ))?;
    let rows = stmt.query_map([unit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            AssessmentSummary {
                id: AssessmentId::new_v7(),
                unit: UnitCode::new(r.get::<_, String>(1)?),
                person: r.get(2)?,
                person_name: r.get(3)?,
                year: r.get(4)?,
                catalog: r.get(5)?,
                group: r.get(6)?,
                state: r.get(7)?,
                total: r.get(8)?,
                passed: r.get(9)?,
                threshold: r.get(10)?,
                version: r.get(11)?,
                return_reason: r.get(12)?,
                decision_no: r.get(13)?,
                decision_date: r.get(14)?,
                possible_duplicates: Vec::new(),
            },
        ))
    })?;
    let mut out = Vec::new();
    let mut dup = conn.prepare(&format!(
        "{SAME_PERSON_YEAR} ORDER BY o.id LIMIT {DUPLICATE_MEMBERS_SHOWN}"
    ))?;
    for row in rows {
        let (id, mut summary) = row?;
        summary.id = parse_assessment_id(&id)?;
        for other in dup.query_map([&id], |r| r.get::<_, String>(0))? {
            summary
                .possible_duplicates
                .push(parse_assessment_id(&other?)?);
        }
        out.push(summary);
    }
    Ok(out)
}

pub(super) fn review(
    db: &SqliteStorage,
    id: AssessmentId,
    actor: &str,
    action: &ReviewAction,
) -> StorageResult<()> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    let id_text = id.to_string();
    let (unit, state, person): (String, String, String) = tx
        .query_row(
            "SELECT unit, state, person FROM assessments WHERE id = ?1",
            [&id_text],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| StorageError::refused(Refusal::NotFound, Code::NotFound))?;
    let from = ReviewState::parse(&state).ok_or_else(|| StorageError::Corrupt(state.clone()))?;
    let step = rules::review_step(from, action)
        .map_err(|code| StorageError::refused(Refusal::Conflict, code))?;
    let (to, reason) = (step.to, step.reason);
    tx.execute(
        // `added_at`: the first change's time, which `updated_at` was so far.
        "UPDATE assessments SET state = ?2, return_reason = ?3, updated_at = ?4,
            added_at = COALESCE(added_at, updated_at) WHERE id = ?1",
        params![id_text, to.as_str(), reason, now()],
    )?;
    audit(
        &tx,
        actor,
        step.audit,
        Some(&unit),
        Some(&id_text),
        Some(from.as_str()),
        Some(to.as_str()),
        reason,
    )?;
    add_change(
        &tx,
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

pub(super) fn recognise(
    db: &SqliteStorage,
    unit: &str,
    actor: &str,
    rec: &Recognition,
) -> StorageResult<()> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    for id in &rec.assessments {
        let id_text = id.to_string();
        let row: Option<(String, String, String)> = tx
            .query_row(
                &format!(
                    "{SUBTREE} SELECT unit, state, person FROM assessments
                     WHERE id = ?2 AND unit IN (SELECT code FROM sub)"
                ),
                params![unit, id_text],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((a_unit, state, person)) = row else {
            return Err(StorageError::refused_saying(
                Refusal::NotFound,
                Code::NotFound,
                format!("no assessment {id} in this unit"),
            ));
        };
        let state =
            ReviewState::parse(&state).ok_or_else(|| StorageError::Corrupt(state.clone()))?;
        // Counted once: the same person recognised elsewhere this year blocks it.
        let elsewhere: bool = tx.query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM assessments r WHERE r.state = 'recognised'
                    AND r.id IN ({SAME_PERSON_YEAR}))"
            ),
            [&id_text],
            |r| r.get(0),
        )?;
        rules::may_recognise(state, elsewhere).map_err(|code| match code {
            Code::AlreadyRecognisedElsewhere => StorageError::refused_saying(
                Refusal::Conflict,
                code,
                format!("the person of assessment {id} is recognised elsewhere this year"),
            ),
            code => StorageError::refused(Refusal::Conflict, code),
        })?;
        tx.execute(
            "UPDATE assessments SET state = 'recognised', decision_no = ?2,
                decision_date = ?3, updated_at = ?4, added_at = COALESCE(added_at, updated_at)
             WHERE id = ?1",
            params![id_text, rec.decision_no, rec.decision_date, now()],
        )?;
        audit(
            &tx,
            actor,
            "recognise",
            Some(&a_unit),
            Some(&id_text),
            Some("approved"),
            Some("recognised"),
            Some(&format!("{} ({})", rec.decision_no, rec.decision_date)),
        )?;
        add_change(
            &tx,
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

pub(super) fn duplicates(
    db: &SqliteStorage,
    unit: &str,
    after: Option<AssessmentId>,
    limit: u32,
) -> StorageResult<DuplicatePage> {
    let limit = limit.max(1);
    let conn = db.conn()?;
    // One group per keyed CCCD and year with more than one assessment,
    // one of them in the subtree; named by its first assessment id.
    let mut stmt = conn.prepare(&format!(
        "{SUBTREE} SELECT p.cccd_hmac, a.year, MIN(a.id) AS first, COUNT(*)
         FROM assessments a JOIN persons p ON p.id = a.person
         WHERE p.cccd_hmac IS NOT NULL
         GROUP BY p.cccd_hmac, a.year
         HAVING COUNT(*) > 1 AND MAX(a.unit IN (SELECT code FROM sub)) = 1
            AND first > ?2
         ORDER BY first LIMIT ?3"
    ))?;
    let after = after.map_or_else(String::new, |a| a.to_string());
    let rows: Vec<(String, u16, String, u64)> = stmt
        .query_map(params![unit, after, i64::from(limit) + 1], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit as usize;
    let mut members = conn.prepare(&format!(
        "{SUBTREE} SELECT a.id, a.unit FROM assessments a JOIN persons p ON p.id = a.person
         WHERE p.cccd_hmac = ?2 AND a.year = ?3
         ORDER BY a.unit IN (SELECT code FROM sub) DESC, a.id
         LIMIT {DUPLICATE_MEMBERS_SHOWN}"
    ))?;
    let mut groups = Vec::new();
    for (hmac, year, _, count) in rows.iter().take(limit as usize) {
        let assessments = members
            .query_map(params![unit, hmac, year], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .map(|row| {
                let (id, unit) = row?;
                Ok(DuplicateMember {
                    assessment: parse_assessment_id(&id)?,
                    unit: UnitCode::new(unit),
                })
            })
            .collect::<StorageResult<_>>()?;
        groups.push(DuplicateGroup {
            year: *year,
            count: *count,
            assessments,
        });
    }
    let next = match (more, rows.get(limit as usize - 1)) {
        (true, Some((_, _, first, _))) => Some(parse_assessment_id(first)?),
        _ => None,
    };
    Ok(DuplicatePage { groups, next })
}

/// `Storage::audit`: the audit log of the subtree of `unit` (named apart
/// from `audit`, which writes an entry).
pub(super) fn audit_log(db: &SqliteStorage, unit: &str) -> StorageResult<Vec<AuditEntry>> {
    let conn = db.conn()?;
    let mut stmt = conn.prepare(&format!(
        "{SUBTREE} SELECT at, actor, action, unit, assessment, from_state, to_state, detail
         FROM audit_log WHERE unit IN (SELECT code FROM sub) ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([unit], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                unit: r.get(3)?,
                assessment: r.get(4)?,
                from_state: r.get(5)?,
                to_state: r.get(6)?,
                detail: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
