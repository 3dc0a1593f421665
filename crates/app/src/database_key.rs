//! The database key from the platform's secret store.
//!
//! Desktop: the OS keyring through the `keyring` crate (Secret Service over
//! D-Bus on Linux, Keychain on macOS, Credential Manager on Windows). Where it
//! is absent or fails on first start (no session bus, as in CI, containers and
//! many minimal desktops), the store's owner-only key file is used instead
//! (`cdht_store::KeyFile`; what that protects is in docs/threat-model.md).
//! Android: the Keystore is reached through a Kotlin plugin that is not
//! written yet (src-tauri/ANDROID.md); until then the key file in the app's
//! private folder is used, through the same [`KeyStore`] seam.

use crate::{AppError, AppResult};
use cdht_core::Code;
use cdht_store::{load_or_create_key, ChosenKey, KeyStore};
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
use cdht_store::{DatabaseKey, KeyStoreError};
use std::path::Path;

/// The keyring service name: the app's identifier (src-tauri/tauri.conf.json).
pub const KEYRING_SERVICE: &str = "vn.khuyenhoc.cdht";

/// The OS keyring entry holding the key of one data folder.
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
#[derive(Debug)]
pub struct OsKeyring {
    account: String,
}

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
impl OsKeyring {
    /// One entry per data folder (by its absolute path), so a second folder
    /// (tests, `--data-dir`) never takes another folder's key.
    #[must_use]
    pub fn for_data_dir(data_dir: &Path) -> Self {
        let folder = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        Self {
            account: format!("database-key {}", folder.display()),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, KeyStoreError> {
        keyring::Entry::new(KEYRING_SERVICE, &self.account).map_err(|err| self.error(&err))
    }

    fn error(&self, err: &keyring::Error) -> KeyStoreError {
        KeyStoreError {
            store: self.describe(),
            reason: err.to_string(),
        }
    }

    /// Removes the entry (tests clean up after themselves with it).
    pub fn delete(&self) -> Result<(), KeyStoreError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(self.error(&err)),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
impl KeyStore for OsKeyring {
    fn describe(&self) -> String {
        format!("OS keyring ({KEYRING_SERVICE}, {})", self.account)
    }

    fn load(&self) -> Result<Option<DatabaseKey>, KeyStoreError> {
        match self.entry()?.get_password() {
            Ok(text) => {
                let text = zeroize::Zeroizing::new(text);
                DatabaseKey::from_hex(&text)
                    .map(Some)
                    .ok_or_else(|| KeyStoreError {
                        store: self.describe(),
                        reason: "the entry is not a key (64 hex digits expected)".to_owned(),
                    })
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(self.error(&err)),
        }
    }

    fn save(&self, key: &DatabaseKey) -> Result<(), KeyStoreError> {
        self.entry()?
            .set_password(&key.to_hex())
            .map_err(|err| self.error(&err))
    }
}

/// This platform's secret store for `data_dir`, if it has one this build can reach.
#[must_use]
pub fn platform_key_store(data_dir: &Path) -> Option<Box<dyn KeyStore>> {
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
    return Some(Box::new(OsKeyring::for_data_dir(data_dir)));
    // Android Keystore: see src-tauri/ANDROID.md (the plan); the key file until then.
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    {
        let _ = data_dir;
        None
    }
}

/// The key of `data_dir`'s database: from the platform's secret store, or the
/// key file (kept, or chosen now because the secret store does not work).
pub fn database_key(data_dir: &Path) -> AppResult<ChosenKey> {
    std::fs::create_dir_all(data_dir).map_err(|err| {
        AppError::new(
            Code::DataFolderUnavailable,
            format!("creating {}: {err}", data_dir.display()),
        )
    })?;
    let platform = platform_key_store(data_dir);
    Ok(load_or_create_key(data_dir, platform.as_deref())?)
}
