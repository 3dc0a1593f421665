//! The device token used to live in a small JSON file next to the database
//! (0600). It now lives in the store (`Store::sync_credentials`, migration 4);
//! an existing file is moved into the store once and then deleted.

use cdht_core::ids::UnitCode;
use cdht_core::sync::DeviceScope;
use cdht_store::{Store, StoreError, SyncCredentials};
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};

/// The file older versions kept the device token in (moved into the store).
pub const CREDENTIALS_FILE: &str = "sync-device.json";

/// The old file's content.
#[derive(Deserialize)]
struct FileCredentials {
    server: String,
    unit: String,
    device_id: String,
    token: String,
}

pub(crate) fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(CREDENTIALS_FILE)
}

fn io_error(context: String, source: std::io::Error) -> StoreError {
    StoreError::Io { context, source }
}

/// The store's credentials, after moving an old `sync-device.json` into the
/// store if the store has none (the file is deleted once the store holds
/// them; a damaged file is deleted too, as it never worked).
pub(crate) fn load_or_migrate(store: &mut Store) -> Result<Option<SyncCredentials>, StoreError> {
    let file = path(store.data_dir());
    if let Some(creds) = store.sync_credentials()? {
        // A crash between saving and deleting leaves the file: finish the move.
        remove_file(&file)?;
        return Ok(Some(creds));
    }
    let bytes = match fs::read(&file) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(format!("reading {}", file.display()), err)),
    };
    let Ok(old) = serde_json::from_slice::<FileCredentials>(&bytes) else {
        remove_file(&file)?;
        return Ok(None);
    };
    store.save_sync_credentials(&SyncCredentials {
        server_url: old.server,
        unit_code: UnitCode::new(old.unit),
        device_id: old.device_id,
        device_token: old.token,
        scope: DeviceScope::OwnRecords,
        officer_username: None,
        updated_at_ms: 0,
    })?;
    remove_file(&file)?;
    store.sync_credentials()
}

fn remove_file(file: &Path) -> Result<(), StoreError> {
    match fs::remove_file(file) {
        Ok(()) => {
            if let Some(dir) = file.parent().and_then(|d| fs::File::open(d).ok()) {
                // Best effort: the store already holds the token either way.
                let _ = dir.sync_all();
            }
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(io_error(format!("removing {}", file.display()), err)),
    }
}
