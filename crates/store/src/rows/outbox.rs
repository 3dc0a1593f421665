//! Rows of `outbox` and `push_batches`: frozen record versions and the
//! batch that is open. Imports only the SQL helpers.

use crate::error::{Result, StoreError};
use crate::model::{OutboxEntry, RecordKind, UnixMs};
use crate::sql::{parsed, parsed_opt};
use cdht_core::sync::RecordBody;
use rusqlite::{Connection, OptionalExtension, Row};
use uuid::Uuid;

impl From<cdht_core::sync::RecordKind> for RecordKind {
    fn from(kind: cdht_core::sync::RecordKind) -> Self {
        match kind {
            cdht_core::sync::RecordKind::Person => Self::Person,
            cdht_core::sync::RecordKind::Assessment => Self::Assessment,
            cdht_core::sync::RecordKind::Evidence => Self::Evidence,
        }
    }
}

pub(crate) fn version_u32(version: i64) -> Result<u32> {
    u32::try_from(version)
        .map_err(|_| StoreError::Internal(format!("record version {version} out of range")))
}

/// Queues one frozen record version: the canonical JSON and its hash.
pub(crate) fn enqueue(
    conn: &Connection,
    body: &RecordBody,
    version: u32,
    now: UnixMs,
) -> Result<OutboxEntry> {
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
        rusqlite::params![kind, record_id, version, payload, body.hash_v1(), now],
    )?;
    load_outbox(conn, conn.last_insert_rowid())
}

pub(crate) const OUTBOX_COLUMNS: &str =
    "outbox_id, record_kind, record_id, version, payload_json, \
     content_sha256, state, batch_id, reject_code, reject_reason, attempts, last_error, \
     created_at_ms, updated_at_ms";

pub(crate) fn outbox_from_row(row: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
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

pub(crate) fn load_outbox(conn: &Connection, outbox_id: i64) -> Result<OutboxEntry> {
    conn.query_row(
        &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE outbox_id = ?1"),
        [outbox_id],
        outbox_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found("outbox row", outbox_id))
}

pub(crate) fn batch_entries(conn: &Connection, batch_id: Uuid) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE batch_id = ?1 ORDER BY outbox_id"
    ))?;
    let rows = stmt
        .query_map([batch_id.to_string()], outbox_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The open batch's id and sequence number, if one is open.
pub(crate) fn open_batch(conn: &Connection) -> Result<Option<(Uuid, u64)>> {
    Ok(conn
        .query_row(
            "SELECT batch_id, push_seq FROM push_batches WHERE state = 'open'",
            [],
            |row| Ok((parsed(row, 0)?, row.get(1)?)),
        )
        .optional()?)
}
