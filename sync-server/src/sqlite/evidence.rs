//! Evidence photos: which ones a unit still has to upload, the upload state of
//! their blobs, and who may read them.

use super::devices::is_device_person;
use super::units::{ancestor_chain, in_subtree};
use super::SqliteStorage;
use crate::storage::{BlobProgress, EvidenceAccess, Reader, StorageResult};
use cdht_core::sync::{DeviceScope, EvidenceStatus};
use rusqlite::{params, OptionalExtension};

/// The upload state of a blob.
fn blob_row(conn: &rusqlite::Connection, sha256: &str) -> StorageResult<Option<BlobProgress>> {
    Ok(conn
        .query_row(
            "SELECT size, received, complete FROM blobs WHERE sha256 = ?1",
            [sha256],
            |r| {
                Ok(BlobProgress {
                    size: r.get(0)?,
                    received: r.get(1)?,
                    complete: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn evidence_status(
    db: &SqliteStorage,
    unit: &str,
    sha256: &[String],
) -> StorageResult<Vec<EvidenceStatus>> {
    let conn = db.conn()?;
    let mut out = Vec::with_capacity(sha256.len());
    for sha in sha256 {
        let named: Option<u64> = conn
            .query_row(
                "SELECT size FROM evidence WHERE sha256 = ?1 AND unit = ?2 LIMIT 1",
                params![sha, unit],
                |r| r.get(0),
            )
            .optional()?;
        let blob: Option<(u64, u64, bool)> = conn
            .query_row(
                "SELECT size, received, complete FROM blobs WHERE sha256 = ?1",
                [sha],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (size, received, complete) = match (named, blob) {
            (Some(_), Some(b)) => b,
            (Some(size), None) => (size, 0, false),
            _ => (0, 0, false),
        };
        out.push(EvidenceStatus {
            sha256: sha.clone(),
            size,
            received,
            complete,
        });
    }
    Ok(out)
}

pub(super) fn blob_progress(
    db: &SqliteStorage,
    unit: &str,
    sha256: &str,
) -> StorageResult<Option<BlobProgress>> {
    let conn = db.conn()?;
    let named: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = ?1 AND unit = ?2)",
        params![sha256, unit],
        |r| r.get(0),
    )?;
    if !named {
        return Ok(None);
    }
    blob_row(&conn, sha256)
}

pub(super) fn blob_add_chunk(
    db: &SqliteStorage,
    sha256: &str,
    offset: u64,
    len: u64,
) -> StorageResult<bool> {
    let n = db.conn()?.execute(
        "UPDATE blobs SET received = received + ?3, accepted_bytes = accepted_bytes + ?3
         WHERE sha256 = ?1 AND received = ?2 AND complete = 0",
        params![sha256, offset, len],
    )?;
    Ok(n == 1)
}

pub(super) fn blob_finish(db: &SqliteStorage, sha256: &str, ok: bool) -> StorageResult<()> {
    let sql = if ok {
        "UPDATE blobs SET complete = 1 WHERE sha256 = ?1"
    } else {
        "UPDATE blobs SET received = 0 WHERE sha256 = ?1 AND complete = 0"
    };
    db.conn()?.execute(sql, [sha256])?;
    Ok(())
}

pub(super) fn blob_state(db: &SqliteStorage, sha256: &str) -> StorageResult<Option<BlobProgress>> {
    blob_row(&*db.conn()?, sha256)
}

pub(super) fn stuck_blobs(db: &SqliteStorage) -> StorageResult<Vec<String>> {
    let conn = db.conn()?;
    let mut stmt = conn
        .prepare("SELECT sha256 FROM blobs WHERE complete = 0 AND size > 0 AND received >= size")?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(super) fn evidence_access(
    db: &SqliteStorage,
    sha256: &str,
    reader: &Reader,
) -> StorageResult<EvidenceAccess> {
    let conn = db.conn()?;
    let named: Vec<(String, String, Option<String>)> = conn
        .prepare(
            "SELECT e.unit, e.device_id, a.person FROM evidence e
             LEFT JOIN assessments a ON a.id = e.assessment WHERE e.sha256 = ?1",
        )?
        .query_map([sha256], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    if named.is_empty() {
        return Ok(EvidenceAccess::Absent);
    }
    let mut covered = false;
    for (unit, pushed_by, person) in &named {
        covered = match reader {
            Reader::Officer(grants) => ancestor_chain(&conn, unit)?
                .iter()
                .any(|a| grants.iter().any(|g| g.unit.as_str() == a)),
            Reader::Device(d) if d.scope == DeviceScope::UnitRecords => {
                in_subtree(&conn, d.unit.as_str(), unit)?
            }
            Reader::Device(d) => {
                let me = d.device_id.to_string();
                *pushed_by == me
                    || match person {
                        Some(p) => is_device_person(&conn, &me, p)?,
                        None => false,
                    }
            }
        };
        if covered {
            break;
        }
    }
    if !covered {
        return Ok(EvidenceAccess::OutOfScope);
    }
    let blob: Option<(u64, bool)> = conn
        .query_row(
            "SELECT size, complete FROM blobs WHERE sha256 = ?1",
            [sha256],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match blob {
        Some((size, true)) => EvidenceAccess::Ready { size },
        _ => EvidenceAccess::Incomplete,
    })
}
