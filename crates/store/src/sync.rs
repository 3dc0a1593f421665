//! What the sync client needs, shaped by the protocol (`cdht_core::sync`,
//! docs/sync-protocol.md): an outbox of frozen record versions and push batches
//! with a per-device sequence number. Pulled pages and their cursors are in
//! `pull_page.rs`, resumable photo uploads in `uploads.rs`.
//!
//! Rule: nothing the server has not acknowledged is ever deleted. The database
//! enforces it too (triggers in 0001_init.sql).

use crate::error::{Result, StoreError};
use crate::files::file_path;
use crate::model::{FrozenBatch, OutboxEntry, OutboxState, PushOutcome, RecordKind, UnixMs};
use crate::queue::queue_edited_profiles;
use crate::rows::outbox::{
    batch_entries, load_outbox, open_batch, outbox_from_row, OUTBOX_COLUMNS,
};
use crate::rows::removal::{any_assessments, remove_assessment, remove_person};
use crate::sql::{now_ms, usize_to_i64};
use crate::store::Store;
use cdht_core::sync::merge::{
    person_removable, plan_ack, plan_delete_ack, plan_freeze, AckFacts, AckOp, DeleteAckOp,
    FreezeOp,
};
use cdht_core::sync::{AckOutcome, PushBatch, PushResponse, RecordAck, RecordEnvelope};
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

const MAX_MESSAGE_CHARS: usize = 2000;

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
            // sent, is still the same batch when resent with it.) A batch
            // carrying a tombstone names deletes too.
            features: std::iter::once(cdht_core::sync::FEATURE_HOUSEHOLD)
                .chain(
                    records
                        .iter()
                        .any(|r| r.body.is_tombstone())
                        .then_some(cdht_core::sync::FEATURE_DELETE),
                )
                .map(str::to_owned)
                .collect(),
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
        let mut unused_photos = Vec::new();
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
            if is_tombstone(&tx, outbox_id)? {
                let parked = delete_acked(&tx, outbox_id, kind, ack, now, &mut unused_photos)?;
                if parked {
                    outcome.rejected += 1;
                } else {
                    outcome.acked += 1;
                }
                continue;
            }
            let held = if kind == RecordKind::Assessment
                && matches!(ack.outcome, AckOutcome::Rejected | AckOutcome::Superseded)
            {
                ack_facts(&tx, ack)?
            } else {
                AckFacts::default()
            };
            match plan_ack(ack.outcome, held) {
                AckOp::Park { return_assessment } => {
                    park(&tx, outbox_id, ack, return_assessment, now)?;
                    outcome.rejected += 1;
                }
                AckOp::Acknowledge { unsent } => {
                    tx.execute(
                        "UPDATE outbox SET state = 'acked', last_error = NULL, updated_at_ms = ?2
                         WHERE outbox_id = ?1",
                        (outbox_id, now),
                    )?;
                    if unsent {
                        // No revision equals -1: "edited since last sent", so
                        // the newer version, when pulled, keeps these answers.
                        tx.execute(
                            "UPDATE assessments SET synced_revision = -1
                             WHERE assessment_id = ?1 AND sync_version = ?2",
                            rusqlite::params![ack.id.to_string(), ack.version],
                        )?;
                    }
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
        for sha in unused_photos {
            // After the commit; a file left by a crash is the self-check's.
            let _ = std::fs::remove_file(file_path(&self.data_dir, &sha));
        }
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

fn is_tombstone(tx: &Connection, outbox_id: i64) -> Result<bool> {
    Ok(tx.query_row(
        "SELECT json_extract(payload_json, '$.kind') = 'tombstone' FROM outbox
         WHERE outbox_id = ?1",
        [outbox_id],
        |row| row.get(0),
    )?)
}

/// The server's answer to a delete (`merge::plan_delete_ack`): accepted,
/// the record goes for good; refused or superseded, it shows again (its
/// tombstone row no longer waits: `rows::removal::deleting`), a refusal
/// parked with its reason. Returns whether it was parked.
fn delete_acked(
    tx: &Connection,
    outbox_id: i64,
    kind: RecordKind,
    ack: &RecordAck,
    now: UnixMs,
    unused_photos: &mut Vec<String>,
) -> Result<bool> {
    let id = ack.id.to_string();
    if ack.outcome == AckOutcome::Rejected {
        park(tx, outbox_id, ack, false, now)?;
        return Ok(true);
    }
    tx.execute(
        "UPDATE outbox SET state = 'acked', last_error = NULL, updated_at_ms = ?2
         WHERE outbox_id = ?1",
        (outbox_id, now),
    )?;
    match plan_delete_ack(ack.outcome) {
        DeleteAckOp::Restore => {}
        DeleteAckOp::Remove if kind == RecordKind::Person => {
            // An assessment of theirs still here (never sent) keeps them,
            // shown again.
            if person_removable(any_assessments(tx, &id)?) {
                remove_person(tx, &id, now)?;
            }
        }
        DeleteAckOp::Remove => unused_photos.extend(remove_assessment(tx, &id, now)?),
    }
    Ok(false)
}

/// What the device holds of an acked assessment.
fn ack_facts(tx: &Connection, ack: &RecordAck) -> Result<AckFacts> {
    let held: Option<(bool, bool)> = tx
        .query_row(
            "SELECT sync_version = ?2, status = 'submitted' FROM assessments
             WHERE assessment_id = ?1",
            rusqlite::params![ack.id.to_string(), ack.version],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (at_version, submitted) = held.unwrap_or_default();
    Ok(AckFacts {
        at_version,
        submitted,
    })
}

/// A refused record: parked with the reason; an assessment still submitted
/// at that version goes back to its person, editable, with the reason.
fn park(
    tx: &Connection,
    outbox_id: i64,
    ack: &RecordAck,
    return_assessment: bool,
    now: UnixMs,
) -> Result<()> {
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
            "UPDATE assessments SET status = 'returned', return_reason = ?3, updated_at_ms = ?4
             WHERE assessment_id = ?1 AND sync_version = ?2 AND status = 'submitted'",
            rusqlite::params![ack.id.to_string(), ack.version, reason, now],
        )?;
    }
    Ok(())
}
