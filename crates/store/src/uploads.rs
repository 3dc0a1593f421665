//! Evidence uploads: what is left to send of each photo, and progress.

use crate::error::{Result, StoreError};
use crate::model::EvidenceUpload;
use crate::sql::{now_ms, usize_to_i64};
use crate::store::Store;
use rusqlite::{OptionalExtension, Row};

impl Store {
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

    /// Photos on this device named by a queued, not rejected evidence record
    /// whose upload has neither completed nor been refused by the server
    /// ([`Store::park_upload`]): what the sync client uploads after pushing.
    pub fn pending_uploads(&self, limit: usize) -> Result<Vec<EvidenceUpload>> {
        let mut stmt = self.conn.prepare(
            "SELECT f.sha256, f.byte_size, COALESCE(u.bytes_acked, 0), u.completed_at_ms
             FROM evidence_files f LEFT JOIN evidence_uploads u ON u.sha256 = f.sha256
             WHERE u.completed_at_ms IS NULL AND u.refused_at_ms IS NULL AND f.on_device = 1
               AND EXISTS (
                 SELECT 1 FROM outbox o
                 WHERE o.record_kind = 'evidence' AND o.state <> 'rejected'
                   AND json_extract(o.payload_json, '$.sha256') = f.sha256)
             ORDER BY f.created_at_ms
             LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([usize_to_i64(limit)], upload_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How many photos [`Store::pending_uploads`] would list, counted without loading them.
    pub fn pending_upload_count(&self) -> Result<u64> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*)
             FROM evidence_files f LEFT JOIN evidence_uploads u ON u.sha256 = f.sha256
             WHERE u.completed_at_ms IS NULL AND u.refused_at_ms IS NULL AND f.on_device = 1
               AND EXISTS (
                 SELECT 1 FROM outbox o
                 WHERE o.record_kind = 'evidence' AND o.state <> 'rejected'
                   AND json_extract(o.payload_json, '$.sha256') = f.sha256)",
            [],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
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
