//! What goes into the outbox, and in which order: a submission's profile,
//! assessment and new evidence records; profiles edited since they were last
//! sent. The versions come from the planner (`cdht_core::sync::merge`).

use crate::error::{Result, StoreError};
use crate::model::{Assessment, AssessmentStatus, OutboxEntry, UnixMs};
use crate::rows::assessments::load_answers;
use crate::rows::evidence::load_evidence;
use crate::rows::outbox::{enqueue, version_u32};
use crate::sql::parsed;
use cdht_core::ids::PersonId;
use cdht_core::sync::merge::{next_version, plan_profile, queue_evidence};
use cdht_core::sync::{AssessmentRecord, DeviceState, EvidenceRecord, PersonRecord, RecordBody};
use rusqlite::Connection;

fn person_body(conn: &Connection, person_id: PersonId) -> Result<RecordBody> {
    let person = conn.query_row(
        "SELECT person_id, full_name, birth_year, cccd, household_address, phone,
             cccd IS NULL AND server_has_cccd = 1, household_label
         FROM people WHERE person_id = ?1",
        [person_id.to_string()],
        |row| {
            Ok(PersonRecord {
                id: parsed(row, 0)?,
                full_name: row.get(1)?,
                birth_year: row
                    .get::<_, Option<i64>>(2)?
                    .and_then(|y| u16::try_from(y).ok()),
                // Stored only with consent; the server keeps only a keyed hash of it.
                cccd: row.get(3)?,
                phone: row.get(5)?,
                address: row.get(4)?,
                // A pulled person whose number only the server holds: keep it.
                keep_cccd: row.get(6)?,
                // Sent in batches naming `household` (every batch frozen now).
                household: row.get(7)?,
            })
        },
    )?;
    Ok(RecordBody::Person(person))
}

fn assessment_body(conn: &Connection, assessment: &Assessment) -> Result<RecordBody> {
    Ok(RecordBody::Assessment(AssessmentRecord {
        id: assessment.assessment_id,
        person: assessment.person_id,
        year: u16::try_from(assessment.year)
            .map_err(|_| StoreError::Internal(format!("year {}", assessment.year)))?,
        catalog: assessment.catalog_id.clone(),
        group: assessment.group_id.clone(),
        answers: load_answers(conn, assessment.assessment_id)?,
        state: if assessment.status == AssessmentStatus::Draft {
            DeviceState::Draft
        } else {
            DeviceState::Submitted
        },
        device_total: assessment
            .score
            .and_then(|s| u32::try_from(s.total_points).ok()),
    }))
}

/// Queues the person's profile as a new version if it changed since it was
/// last queued (or pulled); `server_holds_only`: only if the server has it.
fn queue_profile_if_changed(
    conn: &Connection,
    person_id: PersonId,
    server_holds_only: bool,
    now: UnixMs,
) -> Result<()> {
    let (edited, sync_version): (bool, i64) = conn.query_row(
        "SELECT revision <> synced_revision, sync_version FROM people WHERE person_id = ?1",
        [person_id.to_string()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if let Some(version) = plan_profile(edited, version_u32(sync_version)?, server_holds_only) {
        enqueue(conn, &person_body(conn, person_id)?, version, now)?;
        conn.execute(
            "UPDATE people SET sync_version = ?2, synced_revision = revision WHERE person_id = ?1",
            (person_id.to_string(), version),
        )?;
    }
    Ok(())
}

/// Profiles the server already holds (sent with a submission, or pulled)
/// and edited here since: queued when a new batch is frozen, so a profile
/// correction reaches the server without waiting for a submission, and a
/// day of autosaves travels as one version. People the server never had
/// still go first with their first submission.
pub(crate) fn queue_edited_profiles(conn: &Connection, now: UnixMs) -> Result<()> {
    let ids: Vec<PersonId> = conn
        .prepare(
            "SELECT person_id FROM people
             WHERE sync_version > 0 AND revision <> synced_revision
             ORDER BY updated_at_ms",
        )?
        .query_map([], |row| parsed(row, 0))?
        .collect::<rusqlite::Result<_>>()?;
    for person_id in ids {
        queue_profile_if_changed(conn, person_id, true, now)?;
    }
    Ok(())
}

/// Queues what a submission sends, in an order whose references resolve on the
/// server: the person's profile if it changed since last queued, the assessment
/// (a new version), then evidence records not queued before. Returns the
/// assessment's row.
pub(crate) fn enqueue_submission(
    conn: &Connection,
    assessment: &Assessment,
    now: UnixMs,
) -> Result<OutboxEntry> {
    queue_profile_if_changed(conn, assessment.person_id, false, now)?;

    let held: i64 = conn.query_row(
        "SELECT sync_version FROM assessments WHERE assessment_id = ?1",
        [assessment.assessment_id.to_string()],
        |row| row.get(0),
    )?;
    let version = next_version(version_u32(held)?)
        .ok_or_else(|| StoreError::Internal(format!("record version {held} out of range")))?;
    conn.execute(
        "UPDATE assessments SET sync_version = ?2, synced_revision = revision
         WHERE assessment_id = ?1",
        (assessment.assessment_id.to_string(), version),
    )?;
    let entry = enqueue(conn, &assessment_body(conn, assessment)?, version, now)?;

    for evidence in load_evidence(conn, assessment.assessment_id)? {
        let (queued, pulled): (bool, bool) = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE record_kind = 'evidence' AND record_id = ?1),
                 EXISTS (SELECT 1 FROM evidence WHERE evidence_id = ?1 AND from_server = 1)",
            [evidence.evidence_id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        if queue_evidence(queued, pulled) {
            // A photo never changes: every evidence record has version 1.
            let body = RecordBody::Evidence(EvidenceRecord {
                id: evidence.evidence_id,
                assessment: evidence.assessment_id,
                indicator: evidence.indicator_id,
                sha256: evidence.sha256,
                size: evidence.byte_size,
                content_type: evidence.mime,
            });
            enqueue(conn, &body, 1, now)?;
        }
    }
    Ok(entry)
}
