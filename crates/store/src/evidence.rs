//! Evidence photos: content-addressed files under `<data>/evidence/<ab>/<sha256>.jpg`,
//! one file per distinct photo however many indicators use it.

use crate::assessments::{bump_revision, require_editable};
use crate::error::{Result, StoreError};
use crate::model::{Evidence, EvidenceMeta, Saved};
use crate::sql::{check_code, now_ms, parsed, sha256_hex, u32_opt};
use crate::{Store, EVIDENCE_DIR};
use cdht_core::ids::{AssessmentId, EvidenceId, IndicatorId};
use rusqlite::{Connection, OptionalExtension, Row};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub const JPEG_MIME: &str = "image/jpeg";
/// Photos are shrunk when taken (a few hundred KB); anything this big is a mistake.
const MAX_PHOTO_BYTES: usize = 20 * 1024 * 1024;
/// Free space kept beyond the photo itself, so SQLite's WAL and the OS can still
/// write after we do: the app must never be the one that fills the phone.
pub const DISK_RESERVE_BYTES: u64 = 16 * 1024 * 1024;
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
/// Prefix of a photo being written; a leftover one is a crash mid-write.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

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

fn load_one(conn: &Connection, evidence_id: EvidenceId) -> Result<Evidence> {
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

/// `<data>/evidence/<first 2 hex>/<sha256>.jpg`
pub(crate) fn file_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir
        .join(EVIDENCE_DIR)
        .join(sha256.get(..2).unwrap_or("00"))
        .join(format!("{sha256}.jpg"))
}

/// SHA-256 of a file's content, streamed.
pub(crate) fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut content = Vec::new();
    file.read_to_end(&mut content)?;
    Ok(sha256_hex(&content))
}

/// Makes a directory entry change (create, rename, unlink) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; NTFS journals renames.
        let _ = dir;
        Ok(())
    }
}

/// Fails with `DiskFull` unless `needed` bytes plus the reserve are free.
fn ensure_free_space(data_dir: &Path, needed: u64) -> Result<()> {
    let available = fs4::available_space(data_dir).map_err(|err| {
        StoreError::io(format!("reading free space of {}", data_dir.display()), err)
    })?;
    let required = needed.saturating_add(DISK_RESERVE_BYTES);
    if available < required {
        return Err(StoreError::DiskFull(format!(
            "saving this photo needs {:.1} MB free but the device has {:.1} MB; \
             free some space and try again",
            megabytes(required),
            megabytes(available)
        )));
    }
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // a message, not a measurement
fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Writes `bytes` to `path` so that `path` holds either nothing or the whole
/// file, even across a crash: temp file in the same folder, fsync, rename, fsync
/// the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Internal(format!("{} has no folder", path.display())))?;
    let new_dir = !dir.exists();
    fs::create_dir_all(dir)
        .map_err(|err| StoreError::io(format!("creating {}", dir.display()), err))?;
    if new_dir {
        if let Some(parent) = dir.parent() {
            sync_dir(parent)
                .map_err(|err| StoreError::io(format!("syncing {}", parent.display()), err))?;
        }
    }
    let temp = dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::now_v7()));
    let written = (|| -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if let Err(err) = written {
        // Best effort: a leftover temp file is also removed by the self-check.
        let _ = fs::remove_file(&temp);
        return Err(StoreError::io(
            format!("writing photo {}", path.display()),
            err,
        ));
    }
    Ok(())
}

impl Store {
    /// Path of a stored photo, for display. A pulled record's photo has no
    /// file there until fetched ([`Evidence::on_device`]).
    #[must_use]
    pub fn evidence_path(&self, sha256: &str) -> PathBuf {
        file_path(&self.data_dir, sha256)
    }

    /// Adds a JPEG photo as evidence for one indicator. The file is written and
    /// fsynced before the row exists, after a free-space check, so a full disk
    /// gives `DiskFull` with nothing half-written. The same photo already stored
    /// is not written again; the same photo on the same indicator returns the
    /// existing evidence. Bumps the assessment's revision.
    pub fn add_evidence(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        jpeg: &[u8],
        meta: &EvidenceMeta,
    ) -> Result<Evidence> {
        check_code(indicator.as_str(), "indicator id")?;
        if meta.mime != JPEG_MIME {
            return Err(StoreError::invalid(format!(
                "evidence photos are stored as {JPEG_MIME}, got {}",
                meta.mime
            )));
        }
        if jpeg.len() > MAX_PHOTO_BYTES {
            return Err(StoreError::invalid(format!(
                "photo of {} bytes is larger than {MAX_PHOTO_BYTES}",
                jpeg.len()
            )));
        }
        if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(StoreError::invalid("the photo is not a JPEG file"));
        }
        if meta.width_px == Some(0) || meta.height_px == Some(0) {
            return Err(StoreError::invalid(
                "photo width and height must be positive",
            ));
        }
        // Refuse before touching the disk.
        require_editable(&self.conn, assessment_id)?;

        let sha256 = sha256_hex(jpeg);
        let path = file_path(&self.data_dir, &sha256);
        let intact = match hash_file(&path) {
            Ok(existing) => existing == sha256,
            Err(err) if err.kind() == io::ErrorKind::NotFound => false,
            Err(err) => {
                return Err(StoreError::io(format!("reading {}", path.display()), err));
            }
        };
        if !intact {
            let size = u64::try_from(jpeg.len()).unwrap_or(u64::MAX);
            ensure_free_space(&self.data_dir, size)?;
            write_atomically(&path, jpeg)?;
        }

        let now = now_ms();
        let tx = self.write_tx()?;
        require_editable(&tx, assessment_id)?;
        tx.execute(
            "INSERT INTO evidence_files (sha256, mime, byte_size, width_px, height_px, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (sha256) DO UPDATE SET on_device = 1",
            rusqlite::params![
                sha256,
                meta.mime,
                u64::try_from(jpeg.len()).unwrap_or(u64::MAX),
                meta.width_px,
                meta.height_px,
                now
            ],
        )?;
        let existing: Option<EvidenceId> = tx
            .query_row(
                "SELECT evidence_id FROM evidence
                 WHERE assessment_id = ?1 AND indicator_id = ?2 AND sha256 = ?3",
                (assessment_id.to_string(), indicator.as_str(), &sha256),
                |row| parsed(row, 0),
            )
            .optional()?;
        let evidence_id = match existing {
            Some(id) => id,
            None => {
                let id = EvidenceId::new_v7();
                tx.execute(
                    "INSERT INTO evidence (evidence_id, assessment_id, indicator_id, sha256,
                         taken_at_ms, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![
                        id.to_string(),
                        assessment_id.to_string(),
                        indicator.as_str(),
                        sha256,
                        meta.taken_at_ms,
                        now
                    ],
                )?;
                bump_revision(&tx, assessment_id, now, None)?;
                id
            }
        };
        let evidence = load_one(&tx, evidence_id)?;
        tx.commit()?;
        Ok(evidence)
    }

    /// Removes one use of a photo. The file goes only when no evidence row uses it
    /// and no queued evidence record still needs its bytes uploaded.
    pub fn remove_evidence(&mut self, evidence_id: EvidenceId) -> Result<Saved> {
        let now = now_ms();
        let tx = self.write_tx()?;
        let (assessment_id, sha256): (AssessmentId, String) = tx
            .query_row(
                "SELECT assessment_id, sha256 FROM evidence WHERE evidence_id = ?1",
                [evidence_id.to_string()],
                |row| Ok((parsed(row, 0)?, row.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("evidence", evidence_id))?;
        require_editable(&tx, assessment_id)?;
        tx.execute(
            "DELETE FROM evidence WHERE evidence_id = ?1",
            [evidence_id.to_string()],
        )?;
        let saved = bump_revision(&tx, assessment_id, now, None)?;
        let still_needed: bool =
            tx.query_row(FILE_STILL_NEEDED_SQL, [&sha256], |row| row.get(0))?;
        if !still_needed {
            tx.execute("DELETE FROM evidence_files WHERE sha256 = ?1", [&sha256])?;
        }
        tx.commit()?;
        if !still_needed {
            // After the commit: a crash here leaves an unreferenced file, which the
            // self-check removes; the other order could lose a photo still in use.
            // Failure to unlink is not the person's problem: the row is gone and
            // the self-check removes the file later.
            let _ = fs::remove_file(file_path(&self.data_dir, &sha256));
        }
        Ok(saved)
    }

    /// Whether the photo's file is on this device (`false`: a pulled record's
    /// photo still on the server). `NotFound` when no evidence names it.
    pub fn evidence_on_device(&self, sha256: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT on_device FROM evidence_files WHERE sha256 = ?1",
                [sha256],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("evidence file", sha256))
    }

    /// Keeps the bytes of a photo fetched from the server (a pulled record's
    /// evidence, `on_device` false until now): checks they are the photo the
    /// row names (sha256, size), writes the content-addressed file atomically
    /// and marks it on the device. Returns the file's path. Fetching a photo
    /// already on the device changes nothing.
    pub fn save_fetched_evidence(&mut self, sha256: &str, bytes: &[u8]) -> Result<PathBuf> {
        let (byte_size, on_device): (u64, bool) = self
            .conn
            .query_row(
                "SELECT byte_size, on_device FROM evidence_files WHERE sha256 = ?1",
                [sha256],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("evidence file", sha256))?;
        let path = file_path(&self.data_dir, sha256);
        if sha256_hex(bytes) != sha256 {
            return Err(StoreError::invalid(format!(
                "the fetched bytes are not photo {sha256}"
            )));
        }
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size != byte_size {
            return Err(StoreError::invalid(format!(
                "photo {sha256} has {size} bytes, its record says {byte_size}"
            )));
        }
        let intact = on_device && hash_file(&path).is_ok_and(|existing| existing == sha256);
        if !intact {
            ensure_free_space(&self.data_dir, size)?;
            write_atomically(&path, bytes)?;
        }
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE evidence_files SET on_device = 1 WHERE sha256 = ?1",
            [sha256],
        )?;
        tx.commit()?;
        Ok(path)
    }

    /// One evidence row by id (e.g. to name the person behind a queued photo).
    pub fn evidence(&self, evidence_id: EvidenceId) -> Result<Evidence> {
        load_one(&self.conn, evidence_id)
    }

    /// The evidence of one assessment, by indicator.
    pub fn list_evidence(&self, assessment_id: AssessmentId) -> Result<Vec<Evidence>> {
        load_evidence(&self.conn, assessment_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn too_little_space_is_disk_full_before_writing() {
        let dir = std::env::temp_dir();
        let err = ensure_free_space(&dir, u64::MAX / 2).err();
        assert_eq!(
            err.as_ref().map(StoreError::kind),
            Some(ErrorKind::DiskFull)
        );
        assert!(err
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("free some space"));
        assert!(ensure_free_space(&dir, 1).is_ok());
    }
}
