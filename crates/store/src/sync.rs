//! What the sync client needs, shaped by the protocol (`cdht_core::sync`,
//! docs/sync-protocol.md): an outbox of frozen record versions and push batches
//! with a per-device sequence number. Pulled pages and their cursors are in
//! `pull_page.rs`, resumable photo uploads in `uploads.rs`.
//!
//! Rule: nothing the server has not acknowledged is ever deleted. The database
//! enforces it too (triggers in 0001_init.sql).

use crate::assessments::load_answers;
use crate::error::{Result, StoreError};
use crate::evidence::load_evidence;
use crate::model::{
    Assessment, FrozenBatch, OutboxEntry, OutboxState, PushOutcome, RecordKind, UnixMs,
};
use crate::sql::{now_ms, parsed, parsed_opt, sha256_hex, usize_to_i64};
use crate::Store;
use cdht_core::ids::PersonId;
use cdht_core::sync::merge::{
    next_version, plan_ack, plan_freeze, plan_profile, queue_evidence, AckOp, FreezeOp,
};
use cdht_core::sync::{
    AckOutcome, AssessmentRecord, DeviceState, EvidenceRecord, PersonRecord, PushBatch,
    PushResponse, RecordBody, RecordEnvelope,
};
use rusqlite::{Connection, OptionalExtension, Row};
use uuid::Uuid;

const MAX_MESSAGE_CHARS: usize = 2000;

impl From<cdht_core::sync::RecordKind> for RecordKind {
    fn from(kind: cdht_core::sync::RecordKind) -> Self {
        match kind {
            cdht_core::sync::RecordKind::Person => Self::Person,
            cdht_core::sync::RecordKind::Assessment => Self::Assessment,
            cdht_core::sync::RecordKind::Evidence => Self::Evidence,
        }
    }
}

fn version_u32(version: i64) -> Result<u32> {
    u32::try_from(version)
        .map_err(|_| StoreError::Internal(format!("record version {version} out of range")))
}

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
        state: if assessment.status == crate::AssessmentStatus::Draft {
            DeviceState::Draft
        } else {
            DeviceState::Submitted
        },
        device_total: assessment
            .score
            .and_then(|s| u32::try_from(s.total_points).ok()),
    }))
}

/// Queues one frozen record version: the canonical JSON and its hash.
fn enqueue(conn: &Connection, body: &RecordBody, version: u32, now: UnixMs) -> Result<OutboxEntry> {
    let payload = String::from_utf8(body.canonical_json())
        .map_err(|err| StoreError::Internal(format!("record JSON: {err}")))?;
    let kind = RecordKind::from(body.kind());
    let record_id = body.id().to_string();
    let already: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox
             WHERE record_kind = ?1 AND record_id = ?2 AND version = ?3)",
        rusqlite::params![kind, record_id, version],
        |row| row.get(0),
    )?;
    if already {
        return Err(StoreError::AlreadyExists(format!(
            "{kind} {record_id} version {version} is already queued"
        )));
    }
    conn.execute(
        "INSERT INTO outbox (record_kind, record_id, version, payload_json, content_sha256,
             state, attempts, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6)",
        rusqlite::params![
            kind,
            record_id,
            version,
            payload,
            sha256_hex(payload.as_bytes()),
            now
        ],
    )?;
    load_outbox(conn, conn.last_insert_rowid())
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
fn queue_edited_profiles(conn: &Connection, now: UnixMs) -> Result<()> {
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

const OUTBOX_COLUMNS: &str = "outbox_id, record_kind, record_id, version, payload_json, \
     content_sha256, state, batch_id, reject_code, reject_reason, attempts, last_error, \
     created_at_ms, updated_at_ms";

fn outbox_from_row(row: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    Ok(OutboxEntry {
        outbox_id: row.get(0)?,
        record_kind: row.get(1)?,
        record_id: row.get(2)?,
        version: row.get(3)?,
        payload_json: row.get(4)?,
        content_sha256: row.get(5)?,
        state: row.get(6)?,
        batch_id: parsed_opt(row, 7)?,
        reject_code: row.get(8)?,
        reject_reason: row.get(9)?,
        attempts: row.get(10)?,
        last_error: row.get(11)?,
        created_at_ms: row.get(12)?,
        updated_at_ms: row.get(13)?,
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

fn batch_entries(conn: &Connection, batch_id: Uuid) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE batch_id = ?1 ORDER BY outbox_id"
    ))?;
    let rows = stmt
        .query_map([batch_id.to_string()], outbox_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The open batch's id and sequence number, if one is open.
fn open_batch(conn: &Connection) -> Result<Option<(Uuid, u64)>> {
    Ok(conn
        .query_row(
            "SELECT batch_id, push_seq FROM push_batches WHERE state = 'open'",
            [],
            |row| Ok((parsed(row, 0)?, row.get(1)?)),
        )
        .optional()?)
}

fn clip(text: &str) -> String {
    text.trim().chars().take(MAX_MESSAGE_CHARS).collect()
}

impl FrozenBatch {
    /// The request body of `POST /api/v1/push`.
    pub fn to_push_batch(&self) -> Result<PushBatch> {
        let records = self
            .entries
            .iter()
            .map(|entry| {
                Ok(RecordEnvelope {
                    version: entry.version,
                    hash: entry.content_sha256.clone(),
                    body: serde_json::from_str(&entry.payload_json)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PushBatch {
            batch_id: self.batch_id,
            seq: self.seq,
            // The outbox freezes version-1 hashes (the canonical serde form).
            protocol: cdht_core::sync::PROTOCOL_VERSION,
            // This build sends persons' household labels: a person without
            // one erases the server's. (The server's batch key leaves
            // `features` out, so a batch an older build froze, and maybe
            // sent, is still the same batch when resent with it.)
            features: vec![cdht_core::sync::FEATURE_HOUSEHOLD.to_owned()],
            records,
        })
    }
}

impl Store {
    /// Rows waiting to be pushed (in a batch or not), oldest first.
    pub fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.outbox_in_state(OutboxState::Pending, limit)
    }

    /// Rows in one state (e.g. `Rejected`, to show the person what to fix).
    pub fn outbox_in_state(&self, state: OutboxState, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = ?1 ORDER BY outbox_id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(
                rusqlite::params![state, usize_to_i64(limit)],
                outbox_from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Refused rows that still need a person: not settled by pulling the
    /// version that won (`resolved_by_pull_at_ms`), and not followed by a
    /// newer version of the same record (the person already fixed and
    /// resubmitted it). Oldest first. What the "Cần sửa" list shows.
    pub fn open_refusals(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o
             WHERE o.state = 'rejected' AND o.resolved_by_pull_at_ms IS NULL
               AND NOT EXISTS (SELECT 1 FROM outbox later
                   WHERE later.record_kind = o.record_kind AND later.record_id = o.record_id
                     AND later.version > o.version AND later.state <> 'rejected')
             ORDER BY o.outbox_id LIMIT ?1"
        ))?;
        let rows = stmt
            .query_map(rusqlite::params![usize_to_i64(limit)], outbox_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How many outbox rows are in `state`, counted without loading them
    /// (the `outbox_by_state` index answers it).
    pub fn outbox_count(&self, state: OutboxState) -> Result<u64> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = ?1",
            rusqlite::params![state],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub fn outbox_entry(&self, outbox_id: i64) -> Result<OutboxEntry> {
        load_outbox(&self.conn, outbox_id)
    }

    /// The batch to push: the open one as it was frozen (a retry must resend it
    /// unchanged), or a new one of up to `max_records` pending rows under the next
    /// push sequence number. `None` when nothing waits.
    pub fn open_push_batch(&mut self, max_records: usize) -> Result<Option<FrozenBatch>> {
        let now = now_ms();
        let tx = self.write_tx()?;
        let open = open_batch(&tx)?;
        if open.is_none() {
            queue_edited_profiles(&tx, now)?;
        }
        let pending: i64 = tx.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending' AND batch_id IS NULL",
            [],
            |row| row.get(0),
        )?;
        let pending = usize::try_from(pending).unwrap_or(0);
        let limit = match (plan_freeze(open.is_some(), pending, max_records), open) {
            (FreezeOp::Resend, Some((batch_id, seq))) => {
                let entries = batch_entries(&tx, batch_id)?;
                tx.commit()?;
                return Ok(Some(FrozenBatch {
                    batch_id,
                    seq,
                    entries,
                }));
            }
            (FreezeOp::Freeze { records }, _) => records,
            _ => return Ok(None),
        };
        let ids: Vec<i64> = {
            let mut stmt = tx.prepare(
                "SELECT outbox_id FROM outbox WHERE state = 'pending' AND batch_id IS NULL
                 ORDER BY outbox_id LIMIT ?1",
            )?;
            let ids = stmt
                .query_map([usize_to_i64(limit)], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ids
        };
        if ids.is_empty() {
            return Ok(None);
        }
        // A counter in the device row, never a count of rows: the server refuses
        // a new batch whose number is not above the last it applied.
        let seq: u64 = tx.query_row(
            "UPDATE device SET next_push_seq = next_push_seq + 1 WHERE singleton = 1
             RETURNING next_push_seq - 1",
            [],
            |row| row.get(0),
        )?;
        let batch_id = Uuid::now_v7();
        tx.execute(
            "INSERT INTO push_batches (batch_id, push_seq, state, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, 'open', ?3, ?3)",
            rusqlite::params![batch_id.to_string(), seq, now],
        )?;
        for id in &ids {
            tx.execute(
                "UPDATE outbox SET batch_id = ?2, updated_at_ms = ?3 WHERE outbox_id = ?1",
                rusqlite::params![id, batch_id.to_string(), now],
            )?;
        }
        let entries = batch_entries(&tx, batch_id)?;
        tx.commit()?;
        Ok(Some(FrozenBatch {
            batch_id,
            seq,
            entries,
        }))
    }

    /// Just before the request goes out: the batch's rows are `sent`, one more attempt.
    pub fn mark_batch_sent(&mut self, batch_id: Uuid) -> Result<()> {
        self.with_open_batch(batch_id, |tx, now| {
            tx.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, updated_at_ms = ?2
                 WHERE batch_id = ?1 AND state IN ('pending', 'sent')",
                (batch_id.to_string(), now),
            )?;
            Ok(())
        })
    }

    /// Retry later (network down, timeout, 5xx, 429): the batch stays frozen, its
    /// rows go back to `pending` with the error kept for the status screen.
    pub fn mark_batch_retry(&mut self, batch_id: Uuid, error: &str) -> Result<()> {
        let error = clip(error);
        self.with_open_batch(batch_id, |tx, now| {
            tx.execute(
                "UPDATE outbox SET state = 'pending', last_error = ?2, updated_at_ms = ?3
                 WHERE batch_id = ?1 AND state = 'sent'",
                (batch_id.to_string(), &error, now),
            )?;
            Ok(())
        })
    }

    /// Gives up the open batch (the server answered `seq_out_of_order`, e.g. after
    /// a reinstall): its rows return to the queue and the next batch gets a new id
    /// and number. Safe: the server answers a record it already has `already_had`.
    pub fn abandon_push_batch(&mut self, batch_id: Uuid) -> Result<()> {
        self.with_open_batch(batch_id, |tx, now| {
            tx.execute(
                "UPDATE outbox SET state = 'pending', batch_id = NULL, updated_at_ms = ?2
                 WHERE batch_id = ?1 AND state IN ('pending', 'sent')",
                (batch_id.to_string(), now),
            )?;
            tx.execute(
                "UPDATE push_batches SET state = 'abandoned', updated_at_ms = ?2
                 WHERE batch_id = ?1",
                (batch_id.to_string(), now),
            )?;
            Ok(())
        })
    }

    /// Moves the push counter past the last sequence number the server applied
    /// for this device (enrolment's `last_push_seq`). Never moves it back.
    pub fn note_server_push_seq(&mut self, last_applied: u64) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE device SET next_push_seq = max(next_push_seq, ?1 + 1) WHERE singleton = 1",
            [last_applied],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The next push sequence number this device will use.
    pub fn next_push_seq(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT next_push_seq FROM device WHERE singleton = 1",
            [],
            |row| row.get(0),
        )?)
    }

    /// Applies the server's answer to the open batch in one transaction: accepted,
    /// already-had and superseded rows are acknowledged; rejected rows are parked
    /// with the reason and, when it is an assessment's current submission, the
    /// assessment is returned to the device with that reason so it can be fixed
    /// and resubmitted as a new version. The server's score is cached.
    pub fn apply_push_response(&mut self, response: &PushResponse) -> Result<PushOutcome> {
        let now = now_ms();
        let tx = self.write_tx()?;
        let batch: Option<(u64, String)> = tx
            .query_row(
                "SELECT push_seq, state FROM push_batches WHERE batch_id = ?1",
                [response.batch_id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        match batch {
            None => return Err(StoreError::not_found("push batch", response.batch_id)),
            Some((seq, _)) if seq != response.seq => {
                return Err(StoreError::Conflict(format!(
                    "answer for batch {} has seq {}, the batch has {seq}",
                    response.batch_id, response.seq
                )))
            }
            // A second delivery of the same answer changes nothing.
            Some((_, state)) if state == "answered" => return Ok(PushOutcome::default()),
            Some((_, state)) if state != "open" => {
                return Err(StoreError::Conflict(format!(
                    "batch {} is {state}",
                    response.batch_id
                )))
            }
            Some(_) => {}
        }
        let batch_id = response.batch_id.to_string();
        let mut outcome = PushOutcome::default();
        for ack in &response.acks {
            let kind = RecordKind::from(ack.kind);
            let row: Option<i64> = tx
                .query_row(
                    "SELECT outbox_id FROM outbox
                     WHERE batch_id = ?1 AND record_kind = ?2 AND record_id = ?3 AND version = ?4",
                    rusqlite::params![batch_id, kind, ack.id.to_string(), ack.version],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(outbox_id) = row else {
                return Err(StoreError::Conflict(format!(
                    "ack for {kind} {} version {} names no record of batch {batch_id}",
                    ack.id, ack.version
                )));
            };
            // A refused assessment goes back to its person only while it is
            // still submitted at that version.
            let current_submission = ack.outcome == AckOutcome::Rejected
                && kind == RecordKind::Assessment
                && tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM assessments
                         WHERE assessment_id = ?1 AND sync_version = ?2 AND status = 'submitted')",
                    rusqlite::params![ack.id.to_string(), ack.version],
                    |row| row.get(0),
                )?;
            if let AckOp::Park { return_assessment } = plan_ack(ack.outcome, current_submission) {
                let reason = clip(
                    ack.message
                        .as_deref()
                        .or(ack.code.as_deref())
                        .unwrap_or("rejected by the server"),
                );
                tx.execute(
                    "UPDATE outbox SET state = 'rejected', reject_code = ?2, reject_reason = ?3,
                         updated_at_ms = ?4
                     WHERE outbox_id = ?1",
                    rusqlite::params![outbox_id, ack.code, reason, now],
                )?;
                if return_assessment {
                    tx.execute(
                        "UPDATE assessments SET status = 'returned', return_reason = ?3,
                             updated_at_ms = ?4
                         WHERE assessment_id = ?1 AND sync_version = ?2 AND status = 'submitted'",
                        rusqlite::params![ack.id.to_string(), ack.version, reason, now],
                    )?;
                }
                outcome.rejected += 1;
            } else {
                tx.execute(
                    "UPDATE outbox SET state = 'acked', last_error = NULL, updated_at_ms = ?2
                     WHERE outbox_id = ?1",
                    (outbox_id, now),
                )?;
                if let (RecordKind::Assessment, Some(score)) = (kind, ack.score) {
                    tx.execute(
                        "UPDATE assessments SET total_points = ?2, passed = ?3
                         WHERE assessment_id = ?1",
                        rusqlite::params![ack.id.to_string(), score.total, score.passed],
                    )?;
                }
                outcome.acked += 1;
            }
        }
        // A record the answer did not mention goes back to the queue for the next batch.
        tx.execute(
            "UPDATE outbox SET state = 'pending', batch_id = NULL, updated_at_ms = ?2
             WHERE batch_id = ?1 AND state IN ('pending', 'sent')",
            (&batch_id, now),
        )?;
        tx.execute(
            "UPDATE push_batches SET state = 'answered', updated_at_ms = ?2 WHERE batch_id = ?1",
            (&batch_id, now),
        )?;
        tx.commit()?;
        Ok(outcome)
    }

    fn with_open_batch(
        &mut self,
        batch_id: Uuid,
        update: impl FnOnce(&Connection, UnixMs) -> Result<()>,
    ) -> Result<()> {
        let now = now_ms();
        let tx = self.write_tx()?;
        match open_batch(&tx)? {
            Some((open, _)) if open == batch_id => {}
            _ => {
                return Err(StoreError::Conflict(format!(
                    "push batch {batch_id} is not the open batch"
                )))
            }
        }
        update(&tx, now)?;
        tx.commit()?;
        Ok(())
    }
}
