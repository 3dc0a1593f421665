//! Evidence photos: content-addressed files under `<data>/evidence/<ab>/<sha256>.jpg`,
//! one file per distinct photo however many indicators use it.

use crate::error::{Result, StoreError};
use crate::files::{ensure_free_space, file_path, hash_file, write_atomically};
use crate::model::{Evidence, EvidenceMeta, Saved};
use crate::rows::assessments::{bump_revision, require_editable};
use crate::rows::evidence::{load_evidence, load_one, FILE_STILL_NEEDED_SQL};
use crate::sql::{check_code, now_ms, parsed, sha256_hex};
use crate::store::Store;
use cdht_core::ids::{AssessmentId, EvidenceId, IndicatorId};
use rusqlite::OptionalExtension;
use std::fs::{self};
use std::io;
use std::path::PathBuf;

pub const JPEG_MIME: &str = "image/jpeg";
/// Photos are shrunk when taken (a few hundred KB); anything this big is a mistake.
const MAX_PHOTO_BYTES: usize = 20 * 1024 * 1024;
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
