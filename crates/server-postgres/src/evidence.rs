//! Evidence photos: each device's upload of the photos it announced, and who
//! may read a photo.
//!
//! A photo is served only through an evidence record the reader may read
//! whose `uploader` (the device that pushed the record with this sha256)
//! has itself sent every byte of it. An upload is keyed by device and
//! sha256, with the size that device announced.

use crate::devices::is_device_person;
use crate::error::Result;
use crate::units::{ancestor_chain, in_subtree};
use crate::{big, unsigned, PgStorage};
use cdht_core::sync::{DeviceScope, EvidenceStatus};
use cdht_server_db::{Reader, UploadKey, UploadProgress};
use postgres::GenericClient;

fn upload_row(c: &mut impl GenericClient, key: &UploadKey) -> Result<Option<UploadProgress>> {
    Ok(c.query_opt(
        "SELECT size, received, complete, legacy_parts FROM uploads
             WHERE device_id = $1 AND sha256 = $2",
        &[&key.device, &key.sha256],
    )?
    .map(|r| UploadProgress {
        size: unsigned(r.get(0)),
        received: unsigned(r.get(1)),
        complete: r.get(2),
        legacy_parts: r.get(3),
    }))
}

/// The announcement of a photo by the device that will upload it: starts its
/// upload with the announced size. A later announcement by the same device
/// may correct the size while no byte of it has arrived.
pub(crate) fn announce_upload(
    c: &mut impl GenericClient,
    device: &str,
    sha256: &str,
    size: u64,
) -> Result<()> {
    c.execute(
        "INSERT INTO uploads (device_id, sha256, size) VALUES ($1, $2, $3)
         ON CONFLICT (device_id, sha256) DO UPDATE SET size = excluded.size
         WHERE NOT uploads.complete AND uploads.received = 0",
        &[&device, &sha256, &big(size)],
    )?;
    Ok(())
}

/// Whether `reader` may read an evidence record owned by `unit`, pushed
/// last by `pushed_by`, about `person` (the same rule as pulls).
fn covers(
    c: &mut impl GenericClient,
    reader: &Reader,
    unit: &str,
    pushed_by: &str,
    person: Option<&str>,
) -> Result<bool> {
    Ok(match reader {
        Reader::Officer(grants) => ancestor_chain(c, unit)?
            .iter()
            .any(|a| grants.iter().any(|g| g.unit.as_str() == a)),
        Reader::Device(d) if d.scope == DeviceScope::UnitRecords => {
            in_subtree(c, d.unit.as_str(), unit)?
        }
        Reader::Device(d) => {
            let me = d.device_id.to_string();
            pushed_by == me
                || match person {
                    Some(p) => is_device_person(c, &me, p)?,
                    None => false,
                }
        }
    })
}

/// A record naming a photo, with its uploader's progress (`None` while the
/// uploader has no upload of it).
struct Naming {
    unit: String,
    pushed_by: String,
    person: Option<String>,
    /// (size, received, complete)
    progress: Option<(u64, u64, bool)>,
}

fn naming_records(c: &mut impl GenericClient, sha256: &str) -> Result<Vec<Naming>> {
    Ok(c.query(
        "SELECT e.unit, e.device_id, a.person, u.size, u.received, u.complete
             FROM evidence e
             LEFT JOIN assessments a ON a.id = e.assessment
             LEFT JOIN uploads u ON u.device_id = e.uploader AND u.sha256 = e.sha256
             WHERE e.sha256 = $1",
        &[&sha256],
    )?
    .iter()
    .map(|r| Naming {
        unit: r.get(0),
        pushed_by: r.get(1),
        person: r.get(2),
        progress: r
            .get::<_, Option<i64>>(3)
            .map(|size| (unsigned(size), unsigned(r.get(4)), r.get(5))),
    })
    .collect())
}

/// The size of a photo `reader` may download: named by a record it may read
/// whose uploader sent every byte. `None` otherwise, whether or not the
/// server holds the bytes through somebody else's record.
fn readable_size(c: &mut impl GenericClient, sha256: &str, reader: &Reader) -> Result<Option<u64>> {
    for n in naming_records(c, sha256)? {
        let Some((size, _, true)) = n.progress else {
            continue;
        };
        if covers(c, reader, &n.unit, &n.pushed_by, n.person.as_deref())? {
            return Ok(Some(size));
        }
    }
    Ok(None)
}

pub(crate) fn readable_photo(db: &PgStorage, sha256: &str, reader: &Reader) -> Result<Option<u64>> {
    readable_size(&mut *db.conn()?, sha256, reader)
}

/// A device's view: its own upload of each photo (what it still has to
/// send); for a photo it never announced, complete when it may read it
/// anyway (a collector device editing a pulled record), else unknown.
fn device_status(
    c: &mut impl GenericClient,
    reader: &Reader,
    device: &str,
    sha256: &str,
) -> Result<EvidenceStatus> {
    if let Some(own) = upload_row(c, &UploadKey::new(device, sha256))? {
        return Ok(EvidenceStatus {
            sha256: sha256.to_owned(),
            size: own.size,
            received: own.received,
            complete: own.complete,
        });
    }
    Ok(match readable_size(c, sha256, reader)? {
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
    c: &mut impl GenericClient,
    reader: &Reader,
    sha256: &str,
) -> Result<EvidenceStatus> {
    let mut best: Option<(u64, u64, bool)> = None;
    for n in naming_records(c, sha256)? {
        let Some(progress) = n.progress else { continue };
        if !covers(c, reader, &n.unit, &n.pushed_by, n.person.as_deref())? {
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

pub(crate) fn evidence_status(
    db: &PgStorage,
    reader: &Reader,
    sha256: &[String],
) -> Result<Vec<EvidenceStatus>> {
    let mut conn = db.conn()?;
    sha256
        .iter()
        .map(|sha| match reader {
            Reader::Device(d) => device_status(&mut *conn, reader, &d.device_id.to_string(), sha),
            Reader::Officer(_) => officer_status(&mut *conn, reader, sha),
        })
        .collect()
}

pub(crate) fn upload_progress(db: &PgStorage, key: &UploadKey) -> Result<Option<UploadProgress>> {
    upload_row(&mut *db.conn()?, key)
}

/// Counts a chunk only if `offset` is still the received count: of two
/// instances given the same chunk, one counts it (the row's lock orders
/// the two updates, and the second no longer matches).
pub(crate) fn upload_add_chunk(
    db: &PgStorage,
    key: &UploadKey,
    offset: u64,
    len: u64,
) -> Result<bool> {
    let n = db.conn()?.execute(
        "UPDATE uploads SET received = received + $4, accepted_bytes = accepted_bytes + $4
         WHERE device_id = $1 AND sha256 = $2 AND received = $3 AND NOT complete",
        &[&key.device, &key.sha256, &big(offset), &big(len)],
    )?;
    Ok(n == 1)
}

pub(crate) fn upload_finish(db: &PgStorage, key: &UploadKey, ok: bool) -> Result<()> {
    let sql = if ok {
        "UPDATE uploads SET complete = true WHERE device_id = $1 AND sha256 = $2"
    } else {
        "UPDATE uploads SET received = 0 WHERE device_id = $1 AND sha256 = $2 AND NOT complete"
    };
    db.conn()?.execute(sql, &[&key.device, &key.sha256])?;
    Ok(())
}

pub(crate) fn stuck_uploads(db: &PgStorage) -> Result<Vec<UploadKey>> {
    Ok(db
        .conn()?
        .query(
            "SELECT device_id, sha256 FROM uploads
             WHERE NOT complete AND size > 0 AND received >= size",
            &[],
        )?
        .iter()
        .map(|r| UploadKey {
            device: r.get(0),
            sha256: r.get(1),
        })
        .collect())
}
