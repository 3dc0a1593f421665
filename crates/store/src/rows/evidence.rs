//! Rows of `evidence` (with their `evidence_files`): reading them into the
//! model. Imports only the SQL helpers.

use crate::error::{Result, StoreError};
use crate::model::Evidence;
use crate::sql::{parsed, u32_opt};
use cdht_core::ids::{AssessmentId, EvidenceId, IndicatorId};
use rusqlite::{Connection, OptionalExtension, Row};

/// Whether the photo `?1` must stay: an evidence row uses it, or an evidence
/// record naming it was queued (and not rejected) while its upload is unfinished
/// (and not refused by the server: a parked photo is kept only while used).
pub(crate) const FILE_STILL_NEEDED_SQL: &str = "SELECT
    EXISTS (SELECT 1 FROM evidence WHERE sha256 = ?1)
    OR (EXISTS (SELECT 1 FROM outbox
                WHERE record_kind = 'evidence' AND state <> 'rejected'
                  AND json_extract(payload_json, '$.sha256') = ?1)
        AND NOT EXISTS (SELECT 1 FROM evidence_uploads
                        WHERE sha256 = ?1
                          AND (completed_at_ms IS NOT NULL OR refused_at_ms IS NOT NULL)))";
const EVIDENCE_COLUMNS: &str = "e.evidence_id, e.assessment_id, e.indicator_id, e.sha256, \
     f.mime, f.byte_size, f.width_px, f.height_px, e.taken_at_ms, e.created_at_ms, f.on_device";

fn evidence_from_row(row: &Row<'_>) -> rusqlite::Result<Evidence> {
    Ok(Evidence {
        evidence_id: parsed(row, 0)?,
        assessment_id: parsed(row, 1)?,
        indicator_id: IndicatorId::new(row.get::<_, String>(2)?),
        sha256: row.get(3)?,
        mime: row.get(4)?,
        byte_size: row.get(5)?,
        width_px: u32_opt(row, 6)?,
        height_px: u32_opt(row, 7)?,
        taken_at_ms: row.get(8)?,
        created_at_ms: row.get(9)?,
        on_device: row.get(10)?,
    })
}

pub(crate) fn load_evidence(conn: &Connection, assessment: AssessmentId) -> Result<Vec<Evidence>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {EVIDENCE_COLUMNS} FROM evidence e JOIN evidence_files f USING (sha256)
         WHERE e.assessment_id = ?1 ORDER BY e.indicator_id, e.created_at_ms, e.evidence_id"
    ))?;
    let rows = stmt
        .query_map([assessment.to_string()], evidence_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn load_one(conn: &Connection, evidence_id: EvidenceId) -> Result<Evidence> {
    conn.query_row(
        &format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence e JOIN evidence_files f USING (sha256)
             WHERE e.evidence_id = ?1"
        ),
        [evidence_id.to_string()],
        evidence_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found("evidence", evidence_id))
}
