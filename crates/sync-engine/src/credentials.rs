//! The device token. The store has no table for it, so it lives in a small
//! JSON file next to the database, readable by this user only (0600 on Unix).

use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file in the app's data folder that holds the device token.
pub const CREDENTIALS_FILE: &str = "sync-device.json";

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Credentials {
    pub server: String,
    pub unit: String,
    pub device_id: String,
    pub token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("unit", &self.unit)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

pub(crate) fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(CREDENTIALS_FILE)
}

pub(crate) fn load(data_dir: &Path) -> std::io::Result<Option<Credentials>> {
    match fs::read(path(data_dir)) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Writes the file atomically (temp file, fsync, rename), mode 0600.
pub(crate) fn save(data_dir: &Path, creds: &Credentials) -> std::io::Result<()> {
    let target = path(data_dir);
    let tmp = data_dir.join(format!(".{CREDENTIALS_FILE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(&serde_json::to_vec(creds).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, &target)?;
    if let Ok(dir) = fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}
