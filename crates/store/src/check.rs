//! Start-up self-check: repairs what a crash or kill can leave behind and reports
//! what only a person can fix (a photo file that is gone or damaged).

use crate::error::{Result, StoreError};
use crate::files::{file_path, hash_file, EVIDENCE_DIR, TEMP_PREFIX};
use crate::model::{BrokenEvidence, CheckDepth, FileProblem, SelfCheckReport};
use crate::rows::evidence::FILE_STILL_NEEDED_SQL;
use crate::sql::{is_sha256_hex, now_ms, parsed};
use crate::store::Store;
use cdht_core::ids::IndicatorId;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A stray file younger than this may belong to a write in progress in another
/// process; it is left for the next check.
const STRAY_MIN_AGE: Duration = Duration::from_secs(10 * 60);

impl Store {
    /// Run at start-up, before the sync client:
    /// - `PRAGMA quick_check` of the database;
    /// - outbox rows left in `sent` by a crash go back to `pending` (nothing can be
    ///   in flight at start-up; the server recognises a replay by id and hash);
    /// - every photo file is checked (exists, size; with [`CheckDepth::Full`] also
    ///   its hash) and the evidence rows of bad files are reported;
    /// - photos nothing needs any more, leftover temp files and files no row
    ///   refers to are removed.
    pub fn self_check(&mut self, depth: CheckDepth) -> Result<SelfCheckReport> {
        self.self_check_with_age(depth, STRAY_MIN_AGE)
    }

    /// [`Store::self_check`] with a chosen minimum age for stray files (tests use zero).
    #[doc(hidden)]
    pub fn self_check_with_age(
        &mut self,
        depth: CheckDepth,
        stray_min_age: Duration,
    ) -> Result<SelfCheckReport> {
        let mut report = SelfCheckReport::default();

        let mut stmt = self.conn.prepare("PRAGMA quick_check")?;
        report.database_messages = stmt
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        report.database_ok = report.database_messages == ["ok"];

        let tx = self.write_tx()?;
        // Still in their frozen batch: the retry resends the same batch id and seq.
        report.outbox_reset_to_pending = tx.execute(
            "UPDATE outbox SET state = 'pending', updated_at_ms = ?1 WHERE state = 'sent'",
            [now_ms()],
        )?;
        // Photos nothing needs any more (their upload finished after the last use
        // was removed): drop the row here, the file below.
        let unneeded: Vec<String> = {
            let mut stmt = tx.prepare("SELECT sha256 FROM evidence_files")?;
            let all = stmt
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut unneeded = Vec::new();
            for sha256 in all {
                let needed: bool =
                    tx.query_row(FILE_STILL_NEEDED_SQL, [&sha256], |row| row.get(0))?;
                if !needed {
                    unneeded.push(sha256);
                }
            }
            unneeded
        };
        for sha256 in &unneeded {
            tx.execute("DELETE FROM evidence_files WHERE sha256 = ?1", [sha256])?;
        }
        tx.commit()?;

        let files: Vec<(String, u64, bool)> = {
            let mut stmt = self.conn.prepare(
                "SELECT sha256, byte_size, on_device FROM evidence_files ORDER BY sha256",
            )?;
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        let mut known = HashSet::with_capacity(files.len());
        for (sha256, expected, on_device) in files {
            if !on_device {
                // A pulled record's photo still on the server: no file is
                // expected (a fetch in progress may be writing one; keep it).
                known.insert(sha256);
                continue;
            }
            let path = file_path(&self.data_dir, &sha256);
            let problem = match fs::metadata(&path) {
                Err(err) if err.kind() == io::ErrorKind::NotFound => Some(FileProblem::Missing),
                Err(err) => {
                    return Err(StoreError::io(format!("checking {}", path.display()), err))
                }
                Ok(meta) if meta.len() != expected => Some(FileProblem::WrongSize {
                    expected,
                    found: meta.len(),
                }),
                Ok(_) if depth == CheckDepth::Full => match hash_file(&path) {
                    Ok(actual) if actual == sha256 => None,
                    Ok(_) => Some(FileProblem::HashMismatch),
                    Err(err) => {
                        return Err(StoreError::io(format!("reading {}", path.display()), err))
                    }
                },
                Ok(_) => None,
            };
            if let Some(problem) = problem {
                let mut stmt = self.conn.prepare(
                    "SELECT evidence_id, assessment_id, indicator_id FROM evidence
                     WHERE sha256 = ?1 ORDER BY evidence_id",
                )?;
                let rows = stmt
                    .query_map([&sha256], |row| {
                        Ok(BrokenEvidence {
                            evidence_id: parsed(row, 0)?,
                            assessment_id: parsed(row, 1)?,
                            indicator_id: IndicatorId::new(row.get::<_, String>(2)?),
                            sha256: sha256.clone(),
                            problem: problem.clone(),
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                report.broken_evidence.extend(rows);
            }
            known.insert(sha256);
        }

        report.stray_files_removed =
            remove_stray_files(&self.data_dir.join(EVIDENCE_DIR), &known, stray_min_age)?;
        Ok(report)
    }
}

/// Removes temp files and photo files with no `evidence_files` row, older than `min_age`.
fn remove_stray_files(
    evidence_dir: &Path,
    known: &HashSet<String>,
    min_age: Duration,
) -> Result<usize> {
    let io_err = |path: &Path| {
        let context = format!("listing {}", path.display());
        move |err| StoreError::io(context, err)
    };
    let mut removed = 0;
    let now = SystemTime::now();
    for shard in fs::read_dir(evidence_dir).map_err(io_err(evidence_dir))? {
        let shard = shard.map_err(io_err(evidence_dir))?.path();
        if !shard.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&shard).map_err(io_err(&shard))? {
            let entry = entry.map_err(io_err(&shard))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let stray = if name.starts_with(TEMP_PREFIX) {
                true
            } else if let Some(sha256) = name.strip_suffix(".jpg") {
                is_sha256_hex(sha256) && !known.contains(sha256)
            } else {
                false
            };
            if !stray {
                continue;
            }
            let old_enough = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_none_or(|age| age >= min_age);
            if old_enough && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}
