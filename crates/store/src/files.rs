//! The app's data folder: the database file and the evidence photos, written
//! so that a crash leaves either nothing or the whole file.

use crate::error::{Result, StoreError};
use crate::sql::sha256_hex;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The database file inside the app's data folder.
pub const DB_FILE_NAME: &str = "cdht.sqlite3";
/// The folder of evidence photos inside the app's data folder.
pub const EVIDENCE_DIR: &str = "evidence";
/// Free space kept beyond the photo itself, so SQLite's WAL and the OS can still
/// write after we do: the app must never be the one that fills the phone.
pub const DISK_RESERVE_BYTES: u64 = 16 * 1024 * 1024;
/// Prefix of a photo being written; a leftover one is a crash mid-write.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

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
pub(crate) fn ensure_free_space(data_dir: &Path, needed: u64) -> Result<()> {
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
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
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
