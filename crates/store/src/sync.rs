//! What the sync client needs: the outbox of frozen revisions, the per-device push
//! sequence, pull cursors per unit and resumable photo uploads.
//!
//! Rule: nothing the server has not acknowledged is ever deleted. The database
//! enforces it too (triggers in 0001_init.sql).

use crate::assessments::load_answers;
use crate::error::{Result, StoreError};
use crate::evidence::load_evidence;
use crate::model::{
    Assessment, AssessmentStatus, EvidenceUpload, Gender, OutboxEntry, OutboxState, RecordKind,
    ScoreSummary, UnixMs,
};
use crate::sql::{now_ms, sha256_hex, usize_to_i64};
use crate::Store;
use cdht_core::ids::{
    AssessmentId, DeviceId, EvidenceId, GroupId, IndicatorId, PersonId, UnitCode,
};
use cdht_core::AssessmentInput;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

/// Version of the payload layout below, so the server can read old queued rows.
const PAYLOAD_SCHEMA: u32 = 1;
const MAX_MESSAGE_CHARS: usize = 2000;

/// An assessment as pushed: everything the reviewer needs, as of the submit.
#[derive(Serialize)]
struct AssessmentPayload {
    schema: u32,
    device_id: DeviceId,
    assessment_id: AssessmentId,
    revision: i64,
    status: AssessmentStatus,
    submitted_at_ms: Option<UnixMs>,
    year: i32,
    person: PersonPayload,
    input: AssessmentInput,
    score: Option<ScoreSummary>,
    evidence: Vec<EvidencePayload>,
}

#[derive(Serialize)]
struct PersonPayload {
    person_id: PersonId,
    unit_code: Option<UnitCode>,
    full_name: String,
    birth_year: Option<i32>,
    gender: Option<Gender>,
    ethnicity: Option<String>,
    target_group: Option<GroupId>,
    household_label: Option<String>,
    household_address: Option<String>,
    /// Present only when stored, i.e. with consent: the server uses it to catch
    /// one person declaring in two places.
    #[serde(skip_serializing_if = "Option::is_none")]
    cccd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cccd_consent_at_ms: Option<UnixMs>,
}

#[derive(Serialize)]
struct EvidencePayload {
    evidence_id: EvidenceId,
    indicator_id: IndicatorId,
    sha256: String,
    mime: String,
    byte_size: u64,
    width_px: Option<u32>,
    height_px: Option<u32>,
    taken_at_ms: Option<UnixMs>,
}

/// The JSON pushed for `assessment`, read inside the submitting transaction.
pub(crate) fn assessment_payload(
    conn: &Connection,
    device_id: DeviceId,
    assessment: &Assessment,
) -> Result<String> {
    let person = conn.query_row(
        "SELECT person_id, unit_code, full_name, birth_year, gender, ethnicity, target_group,
             household_label, household_address, cccd, cccd_consent_at_ms
         FROM people WHERE person_id = ?1",
        [assessment.person_id.to_string()],
        |row| {
            Ok(PersonPayload {
                person_id: crate::sql::parsed(row, 0)?,
                unit_code: row.get::<_, Option<String>>(1)?.map(UnitCode::new),
                full_name: row.get(2)?,
                birth_year: row.get(3)?,
                gender: row.get(4)?,
                ethnicity: row.get(5)?,
                target_group: row.get::<_, Option<String>>(6)?.map(GroupId::new),
                household_label: row.get(7)?,
                household_address: row.get(8)?,
                cccd: row.get(9)?,
                cccd_consent_at_ms: row.get(10)?,
            })
        },
    )?;
    let evidence = load_evidence(conn, assessment.assessment_id)?
        .into_iter()
        .map(|e| EvidencePayload {
            evidence_id: e.evidence_id,
            indicator_id: e.indicator_id,
            sha256: e.sha256,
            mime: e.mime,
            byte_size: e.byte_size,
            width_px: e.width_px,
            height_px: e.height_px,
            taken_at_ms: e.taken_at_ms,
        })
        .collect();
    let payload = AssessmentPayload {
        schema: PAYLOAD_SCHEMA,
        device_id,
        assessment_id: assessment.assessment_id,
        revision: assessment.revision,
        status: assessment.status,
        submitted_at_ms: assessment.submitted_at_ms,
        year: assessment.year,
        person,
        input: AssessmentInput {
            catalog: assessment.catalog_id.clone(),
            group: assessment.group_id.clone(),
            area: assessment.area_type,
            answers: load_answers(conn, assessment.assessment_id)?,
        },
        score: assessment.score,
        evidence,
    };
    Ok(serde_json::to_string(&payload)?)
}

const OUTBOX_COLUMNS: &str = "outbox_id, push_seq, record_kind, record_id, revision, \
     payload_json, content_sha256, state, reject_reason, attempts, last_error, \
     created_at_ms, updated_at_ms";

fn outbox_from_row(row: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        outbox_id: row.get(0)?,
        push_seq: row.get(1)?,
        record_kind: row.get(2)?,
        record_id: row.get(3)?,
        revision: row.get(4)?,
        payload_json: row.get(5)?,
        content_sha256: row.get(6)?,
        state: row.get(7)?,
        reject_reason: row.get(8)?,
        attempts: row.get(9)?,
        last_error: row.get(10)?,
        created_at_ms: row.get(11)?,
        updated_at_ms: row.get(12)?,
    })
}

fn load_outbox(conn: &Connection, outbox_id: i64) -> Result<OutboxEntry> {
    conn.query_row(
        &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE outbox_id = ?1"),
        [outbox_id],
        outbox_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found("outbox row", outbox_id))
}

/// Queues one frozen revision under the next push sequence number.
pub(crate) fn enqueue(
    conn: &Connection,
    kind: RecordKind,
    record_id: &str,
    revision: i64,
    payload_json: &str,
    now: UnixMs,
) -> Result<OutboxEntry> {
    let already: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox
             WHERE record_kind = ?1 AND record_id = ?2 AND revision = ?3)",
        rusqlite::params![kind, record_id, revision],
        |row| row.get(0),
    )?;
    if already {
        return Err(StoreError::AlreadyExists(format!(
            "{kind} {record_id} revision {revision} is already queued"
        )));
    }
    // A counter in the device row, never a count of outbox rows: acked rows may
    // one day be pruned, and the server's cursor must never see a number twice.
    let push_seq: i64 = conn.query_row(
        "UPDATE device SET next_push_seq = next_push_seq + 1 WHERE singleton = 1
         RETURNING next_push_seq - 1",
        [],
        |row| row.get(0),
    )?;
    conn.execute(
        "INSERT INTO outbox (push_seq, record_kind, record_id, revision, payload_json,
             content_sha256, state, attempts, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7)",
        rusqlite::params![
            push_seq,
            kind,
            record_id,
            revision,
            payload_json,
            sha256_hex(payload_json.as_bytes()),
            now,
        ],
    )?;
    load_outbox(conn, conn.last_insert_rowid())
}

fn clip(text: &str) -> String {
    text.trim().chars().take(MAX_MESSAGE_CHARS).collect()
}

impl Store {
    /// Rows waiting to be pushed, oldest push sequence first.
    pub fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.outbox_in_state(OutboxState::Pending, limit)
    }

    /// Rows in one state (e.g. `Rejected`, to show the person what to fix).
    pub fn outbox_in_state(&self, state: OutboxState, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = ?1 ORDER BY push_seq LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(
                rusqlite::params![state, usize_to_i64(limit)],
                outbox_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn outbox_entry(&self, outbox_id: i64) -> Result<OutboxEntry> {
        load_outbox(&self.conn, outbox_id)
    }

    /// Just before the request goes out: pending → sent, one more attempt.
    pub fn mark_outbox_sent(&mut self, outbox_id: i64) -> Result<()> {
        self.outbox_transition(outbox_id, &[OutboxState::Pending], |tx, now| {
            tx.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, updated_at_ms = ?2
                 WHERE outbox_id = ?1",
                (outbox_id, now),
            )
        })
    }

    /// The server stored the row (or answered a replay with the original success).
    pub fn mark_outbox_acked(&mut self, outbox_id: i64) -> Result<()> {
        let current = load_outbox(&self.conn, outbox_id)?;
        if current.state == OutboxState::Acked {
            return Ok(());
        }
        self.outbox_transition(
            outbox_id,
            &[OutboxState::Pending, OutboxState::Sent],
            |tx, now| {
                tx.execute(
                    "UPDATE outbox SET state = 'acked', last_error = NULL, updated_at_ms = ?2
                     WHERE outbox_id = ?1",
                    (outbox_id, now),
                )
            },
        )
    }

    /// Retry later (network down, timeout, 5xx): back to pending with the error kept.
    pub fn mark_outbox_retry(&mut self, outbox_id: i64, error: &str) -> Result<()> {
        let error = clip(error);
        self.outbox_transition(
            outbox_id,
            &[OutboxState::Pending, OutboxState::Sent],
            |tx, now| {
                tx.execute(
                    "UPDATE outbox SET state = 'pending', last_error = ?2, updated_at_ms = ?3
                     WHERE outbox_id = ?1",
                    (outbox_id, &error, now),
                )
            },
        )
    }

    /// The server refused the record for a reason a person must fix: the row is
    /// parked (kept, not retried) and, if it is the assessment's current
    /// submission, the assessment is returned to the device with that reason so
    /// it can be corrected and resubmitted as a new revision.
    pub fn mark_outbox_rejected(&mut self, outbox_id: i64, reason: &str) -> Result<()> {
        let reason = clip(reason);
        if reason.is_empty() {
            return Err(StoreError::invalid("a rejection needs a reason"));
        }
        self.outbox_transition(
            outbox_id,
            &[OutboxState::Pending, OutboxState::Sent],
            |tx, now| {
                tx.execute(
                    "UPDATE outbox SET state = 'rejected', reject_reason = ?2, updated_at_ms = ?3
                     WHERE outbox_id = ?1",
                    (outbox_id, &reason, now),
                )?;
                tx.execute(
                    "UPDATE assessments SET status = 'returned', return_reason = ?2,
                         updated_at_ms = ?3
                     WHERE status = 'submitted' AND (assessment_id, revision) IN (
                         SELECT record_id, revision FROM outbox
                         WHERE outbox_id = ?1 AND record_kind = 'assessment')",
                    (outbox_id, &reason, now),
                )
            },
        )
    }

    fn outbox_transition(
        &mut self,
        outbox_id: i64,
        allowed_from: &[OutboxState],
        update: impl FnOnce(&Connection, UnixMs) -> rusqlite::Result<usize>,
    ) -> Result<()> {
        let now = now_ms();
        let tx = self.write_tx()?;
        let current = load_outbox(&tx, outbox_id)?;
        if !allowed_from.contains(&current.state) {
            return Err(StoreError::Conflict(format!(
                "outbox row {outbox_id} is {}",
                current.state
            )));
        }
        update(&tx, now)?;
        tx.commit()?;
        Ok(())
    }

    /// The next push sequence number this device will use.
    pub fn next_push_seq(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT next_push_seq FROM device WHERE singleton = 1",
            [],
            |row| row.get(0),
        )?)
    }

    pub fn pull_cursor(&self, unit_code: &UnitCode) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT cursor FROM pull_cursors WHERE unit_code = ?1",
                [unit_code.as_str()],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Stores where the last pull of `unit_code` stopped. Call it in the same
    /// step as applying the pulled records' effects where possible.
    pub fn set_pull_cursor(&mut self, unit_code: &UnitCode, cursor: &str) -> Result<()> {
        let tx = self.write_tx()?;
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM units WHERE unit_code = ?1)",
            [unit_code.as_str()],
            |row| row.get(0),
        )?;
        if !known {
            return Err(StoreError::not_found("unit", unit_code));
        }
        tx.execute(
            "INSERT INTO pull_cursors (unit_code, cursor, updated_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (unit_code) DO UPDATE SET
                 cursor = excluded.cursor, updated_at_ms = excluded.updated_at_ms",
            (unit_code.as_str(), cursor, now_ms()),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Upload progress of one photo (zero bytes if never started).
    pub fn evidence_upload(&self, sha256: &str) -> Result<EvidenceUpload> {
        self.conn
            .query_row(
                "SELECT f.sha256, f.byte_size, COALESCE(u.bytes_acked, 0), u.completed_at_ms
                 FROM evidence_files f LEFT JOIN evidence_uploads u ON u.sha256 = f.sha256
                 WHERE f.sha256 = ?1",
                [sha256],
                upload_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("evidence file", sha256))
    }

    /// Photos of submitted assessments whose upload has not completed.
    pub fn pending_uploads(&self, limit: usize) -> Result<Vec<EvidenceUpload>> {
        let mut stmt = self.conn.prepare(
            "SELECT f.sha256, f.byte_size, COALESCE(u.bytes_acked, 0), u.completed_at_ms
             FROM evidence_files f LEFT JOIN evidence_uploads u ON u.sha256 = f.sha256
             WHERE u.completed_at_ms IS NULL AND EXISTS (
                 SELECT 1 FROM evidence e JOIN assessments a USING (assessment_id)
                 WHERE e.sha256 = f.sha256 AND a.submitted_at_ms IS NOT NULL)
             ORDER BY f.created_at_ms
             LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([usize_to_i64(limit)], upload_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Records bytes the server confirmed. Never moves backwards, so a late,
    /// reordered acknowledgement cannot make a resumed upload re-send data.
    pub fn record_upload_progress(&mut self, sha256: &str, bytes_acked: u64) -> Result<()> {
        let tx = self.write_tx()?;
        let byte_size: u64 = tx
            .query_row(
                "SELECT byte_size FROM evidence_files WHERE sha256 = ?1",
                [sha256],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("evidence file", sha256))?;
        if bytes_acked > byte_size {
            return Err(StoreError::invalid(format!(
                "{bytes_acked} bytes acknowledged of a {byte_size}-byte file"
            )));
        }
        tx.execute(
            "INSERT INTO evidence_uploads (sha256, bytes_acked, updated_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (sha256) DO UPDATE SET
                 bytes_acked = max(bytes_acked, excluded.bytes_acked),
                 updated_at_ms = excluded.updated_at_ms",
            rusqlite::params![sha256, bytes_acked, now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The server has the whole file and its hash matched.
    pub fn mark_upload_complete(&mut self, sha256: &str) -> Result<()> {
        let now = now_ms();
        let tx = self.write_tx()?;
        let changed = tx.execute(
            "INSERT INTO evidence_uploads (sha256, bytes_acked, completed_at_ms, updated_at_ms)
             SELECT sha256, byte_size, ?2, ?2 FROM evidence_files WHERE sha256 = ?1
             ON CONFLICT (sha256) DO UPDATE SET
                 bytes_acked = excluded.bytes_acked,
                 completed_at_ms = COALESCE(completed_at_ms, excluded.completed_at_ms),
                 updated_at_ms = excluded.updated_at_ms",
            (sha256, now),
        )?;
        if changed == 0 {
            return Err(StoreError::not_found("evidence file", sha256));
        }
        tx.commit()?;
        Ok(())
    }
}

fn upload_from_row(row: &Row<'_>) -> rusqlite::Result<EvidenceUpload> {
    Ok(EvidenceUpload {
        sha256: row.get(0)?,
        byte_size: row.get(1)?,
        bytes_acked: row.get(2)?,
        completed_at_ms: row.get(3)?,
    })
}
