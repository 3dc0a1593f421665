//! Evidence photos: each device's upload of the photos it announced, and who
//! may read a photo.
//!
//! A photo is served only through an evidence record the reader may read
//! whose `uploader` (the device that pushed the record with this sha256)
//! has itself sent every byte of it (issue 9, item 3). An upload is keyed by
//! device and sha256, with the size that device announced, so no other
//! device's announcement can fix the size of it (item 10).

use super::devices::is_device_person;
use super::units::{ancestor_chain, in_subtree};
use super::SqliteStorage;
use cdht_core::sync::{DeviceScope, EvidenceStatus};
use cdht_server_db::{Reader, StorageResult, UploadKey, UploadProgress};
use rusqlite::{params, Connection, OptionalExtension};

fn upload_row(conn: &Connection, key: &UploadKey) -> StorageResult<Option<UploadProgress>> {
    Ok(conn
        .prepare_cached(
            "SELECT size, received, complete, legacy_parts FROM uploads
             WHERE device_id = ?1 AND sha256 = ?2",
        )?
        .query_row(params![key.device, key.sha256], |r| {
            Ok(UploadProgress {
                size: r.get(0)?,
                received: r.get(1)?,
                complete: r.get(2)?,
                legacy_parts: r.get(3)?,
            })
        })
        .optional()?)
}

/// The announcement of a photo by the device that will upload it: starts its
/// upload with the announced size. A later announcement by the same device
/// may correct the size while no byte of it has arrived.
pub(super) fn announce_upload(
    conn: &Connection,
    device: &str,
    sha256: &str,
    size: u64,
) -> StorageResult<()> {
    conn.prepare_cached(
        "INSERT INTO uploads (device_id, sha256, size) VALUES (?1, ?2, ?3)
         ON CONFLICT (device_id, sha256) DO UPDATE SET size = excluded.size
         WHERE complete = 0 AND received = 0",
    )?
    .execute(params![device, sha256, size])?;
    Ok(())
}

/// Whether `reader` may read an evidence record owned by `unit`, pushed
/// last by `pushed_by`, about `person` (the same rule as pulls).
fn covers(
    conn: &Connection,
    reader: &Reader,
    unit: &str,
    pushed_by: &str,
    person: Option<&str>,
) -> StorageResult<bool> {
    Ok(match reader {
        Reader::Officer(grants) => ancestor_chain(conn, unit)?
            .iter()
            .any(|a| grants.iter().any(|g| g.unit.as_str() == a)),
        Reader::Device(d) if d.scope == DeviceScope::UnitRecords => {
            in_subtree(conn, d.unit.as_str(), unit)?
        }
        Reader::Device(d) => {
            let me = d.device_id.to_string();
            pushed_by == me
                || match person {
                    Some(p) => is_device_person(conn, &me, p)?,
                    None => false,
                }
        }
    })
}

/// The records naming a photo, each with its uploader's progress (`None`
/// while the uploader has no upload of it).
#[allow(clippy::type_complexity)]
fn naming_records(
    conn: &Connection,
    sha256: &str,
) -> StorageResult<Vec<(String, String, Option<String>, Option<(u64, u64, bool)>)>> {
    let rows = conn
        .prepare_cached(
            "SELECT e.unit, e.device_id, a.person, u.size, u.received, u.complete
             FROM evidence e
             LEFT JOIN assessments a ON a.id = e.assessment
             LEFT JOIN uploads u ON u.device_id = e.uploader AND u.sha256 = e.sha256
             WHERE e.sha256 = ?1",
        )?
        .query_map([sha256], |r| {
            let size: Option<u64> = r.get(3)?;
            let progress = match size {
                Some(size) => Some((size, r.get(4)?, r.get(5)?)),
                None => None,
            };
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, progress))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The size of a photo `reader` may download: named by a record it may read
/// whose uploader sent every byte. `None` otherwise, whether or not the
/// server holds the bytes through somebody else's record.
fn readable_size(conn: &Connection, sha256: &str, reader: &Reader) -> StorageResult<Option<u64>> {
    for (unit, pushed_by, person, progress) in naming_records(conn, sha256)? {
        let Some((size, _, true)) = progress else {
            continue;
        };
        if covers(conn, reader, &unit, &pushed_by, person.as_deref())? {
            return Ok(Some(size));
        }
    }
    Ok(None)
}

pub(super) fn readable_photo(
    db: &SqliteStorage,
    sha256: &str,
    reader: &Reader,
) -> StorageResult<Option<u64>> {
    readable_size(&*db.conn()?, sha256, reader)
}

/// A device's view: its own upload of each photo (what it still has to
/// send); for a photo it never announced, complete when it may read it
/// anyway (a collector device editing a pulled record), else unknown.
fn device_status(
    conn: &Connection,
    reader: &Reader,
    device: &str,
    sha256: &str,
) -> StorageResult<EvidenceStatus> {
    let key = UploadKey::new(device, sha256);
    if let Some(own) = upload_row(conn, &key)? {
        return Ok(EvidenceStatus {
            sha256: sha256.to_owned(),
            size: own.size,
            received: own.received,
            complete: own.complete,
        });
    }
    Ok(match readable_size(conn, sha256, reader)? {
        Some(size) => EvidenceStatus {
            sha256: sha256.to_owned(),
            size,
            received: size,
            complete: true,
        },
        None => EvidenceStatus::unknown(sha256),
    })
}

/// An officer's view: the uploads of the records its roles cover, the most
/// advanced one (complete first).
fn officer_status(
    conn: &Connection,
    reader: &Reader,
    sha256: &str,
) -> StorageResult<EvidenceStatus> {
    let mut best: Option<(u64, u64, bool)> = None;
    for (unit, pushed_by, person, progress) in naming_records(conn, sha256)? {
        let Some(progress) = progress else { continue };
        if !covers(conn, reader, &unit, &pushed_by, person.as_deref())? {
            continue;
        }
        let better = best
            .is_none_or(|(_, received, complete)| (progress.2, progress.1) > (complete, received));
        if better {
            best = Some(progress);
        }
    }
    Ok(match best {
        Some((size, received, complete)) => EvidenceStatus {
            sha256: sha256.to_owned(),
            size,
            received,
            complete,
        },
        None => EvidenceStatus::unknown(sha256),
    })
}

pub(super) fn evidence_status(
    db: &SqliteStorage,
    reader: &Reader,
    sha256: &[String],
) -> StorageResult<Vec<EvidenceStatus>> {
    let conn = db.conn()?;
    sha256
        .iter()
        .map(|sha| match reader {
            Reader::Device(d) => device_status(&conn, reader, &d.device_id.to_string(), sha),
            Reader::Officer(_) => officer_status(&conn, reader, sha),
        })
        .collect()
}

pub(super) fn upload_progress(
    db: &SqliteStorage,
    key: &UploadKey,
) -> StorageResult<Option<UploadProgress>> {
    upload_row(&*db.conn()?, key)
}

pub(super) fn upload_add_chunk(
    db: &SqliteStorage,
    key: &UploadKey,
    offset: u64,
    len: u64,
) -> StorageResult<bool> {
    let n = db.conn()?.execute(
        "UPDATE uploads SET received = received + ?4, accepted_bytes = accepted_bytes + ?4
         WHERE device_id = ?1 AND sha256 = ?2 AND received = ?3 AND complete = 0",
        params![key.device, key.sha256, offset, len],
    )?;
    Ok(n == 1)
}

pub(super) fn upload_finish(db: &SqliteStorage, key: &UploadKey, ok: bool) -> StorageResult<()> {
    let sql = if ok {
        "UPDATE uploads SET complete = 1 WHERE device_id = ?1 AND sha256 = ?2"
    } else {
        "UPDATE uploads SET received = 0 WHERE device_id = ?1 AND sha256 = ?2 AND complete = 0"
    };
    db.conn()?.execute(sql, params![key.device, key.sha256])?;
    Ok(())
}

pub(super) fn stuck_uploads(db: &SqliteStorage) -> StorageResult<Vec<UploadKey>> {
    let conn = db.conn()?;
    let mut stmt = conn.prepare(
        "SELECT device_id, sha256 FROM uploads
         WHERE complete = 0 AND size > 0 AND received >= size",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(UploadKey {
                device: r.get(0)?,
                sha256: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
