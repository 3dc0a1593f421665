//! The key of the encrypted database file, and where it is kept.
//!
//! The database is a SQLCipher file (AES-256 on every page, WAL included)
//! under one random 256-bit key per installation, made on first start. The key
//! is kept by the platform: the OS secret store where there is one (the app
//! passes it in as a [`KeyStore`]: the desktop keyring today, the Android
//! Keystore next, see `src-tauri/ANDROID.md`), otherwise a key file next to the
//! database ([`KeyFile`], owner-only). The choice is made by
//! [`load_or_create_key`], which never makes a new key while an encrypted
//! database exists: that would lock the data away for good.

use crate::error::{Result, StoreError};
use crate::files::DB_FILE_NAME;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The fallback key file inside the app's data folder.
pub const KEY_FILE_NAME: &str = "cdht.key";

/// The first 16 bytes of every plain SQLite file. An encrypted file starts with
/// its random salt instead, so nothing in it says what it is.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A 256-bit SQLCipher key, used as a raw key (no passphrase derivation: it is
/// already random). Wiped from memory when dropped; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(..)")
    }
}

impl DatabaseKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0_u8; 32]);
        getrandom::fill(bytes.as_mut())
            .map_err(|err| StoreError::Internal(format!("no random source for the key: {err}")))?;
        Ok(Self(bytes))
    }

    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// 64 lowercase hex digits: how key stores keep it as text.
    #[must_use]
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(64));
        for byte in self.0.iter() {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        text
    }

    /// Reads [`Self::to_hex`]'s form back (surrounding whitespace ignored).
    #[must_use]
    pub fn from_hex(text: &str) -> Option<Self> {
        let digits = text.trim().as_bytes();
        if digits.len() != 64 {
            return None;
        }
        let mut bytes = Zeroizing::new([0_u8; 32]);
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(Self(bytes))
    }

    /// The value SQLCipher reads as a raw key: `x'<64 hex digits>'`.
    pub(crate) fn sqlcipher_raw_key(&self) -> Zeroizing<String> {
        let hex = self.to_hex();
        let mut text = Zeroizing::new(String::with_capacity(67));
        text.push_str("x'");
        text.push_str(&hex);
        text.push('\'');
        text
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// A key store failed (unreachable, locked, refused, or holds something unreadable).
#[derive(Debug, thiserror::Error)]
#[error("{store}: {reason}")]
pub struct KeyStoreError {
    pub store: String,
    pub reason: String,
}

/// Somewhere a [`DatabaseKey`] is kept between starts.
pub trait KeyStore {
    /// Where the key is kept, for logs (never the key itself).
    fn describe(&self) -> String;
    /// The kept key; `Ok(None)` when this store holds none.
    fn load(&self) -> Result<Option<DatabaseKey>, KeyStoreError>;
    /// Keeps `key` (called once, when the key is made).
    fn save(&self, key: &DatabaseKey) -> Result<(), KeyStoreError>;
}

/// The fallback store: the key as hex text in [`KEY_FILE_NAME`] next to the
/// database, readable by the owner only.
///
/// It protects the database file when it is copied alone (a synced or backed-up
/// file, a file sent by mistake, a support dump); it does not protect against
/// someone who can read the whole data folder as this user (the key is beside
/// the lock), which only a platform secret store does.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file of the app's data folder `data_dir`.
    #[must_use]
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(KEY_FILE_NAME),
        }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, reason: impl std::fmt::Display) -> KeyStoreError {
        KeyStoreError {
            store: self.describe(),
            reason: reason.to_string(),
        }
    }
}

impl KeyStore for KeyFile {
    fn describe(&self) -> String {
        format!("key file {}", self.path.display())
    }

    fn load(&self) -> Result<Option<DatabaseKey>, KeyStoreError> {
        let mut text = Zeroizing::new(String::new());
        match fs::File::open(&self.path) {
            Ok(mut file) => file
                .read_to_string(&mut text)
                .map_err(|err| self.error(err))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.error(err)),
        };
        DatabaseKey::from_hex(&text)
            .map(Some)
            .ok_or_else(|| self.error("not a key (64 hex digits expected)"))
    }

    /// Written whole or not at all: a temporary owner-only file, fsynced, then
    /// renamed over the final name, then the folder fsynced.
    fn save(&self, key: &DatabaseKey) -> Result<(), KeyStoreError> {
        let mut temp_name = self.path.clone().into_os_string();
        temp_name.push(".new");
        let temp = PathBuf::from(temp_name);
        let _ = fs::remove_file(&temp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp).map_err(|err| self.error(err))?;
        file.write_all(key.to_hex().as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(|err| self.error(err))?;
        drop(file);
        fs::rename(&temp, &self.path).map_err(|err| self.error(err))?;
        if let Some(dir) = self.path.parent() {
            crate::files::sync_dir(dir).map_err(|err| self.error(err))?;
        }
        Ok(())
    }
}

/// What the database file of a data folder is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseFile {
    /// No file, or an empty one (SQLite treats both as a new database).
    Absent,
    /// A plain SQLite file: written before encryption, or by a test.
    Plain,
    /// Anything else: an encrypted file (or a damaged one; only the key tells).
    Encrypted,
}

impl DatabaseFile {
    /// Looks at `data_dir`'s database file without opening it.
    pub fn of_data_dir(data_dir: &Path) -> Result<Self> {
        Self::of_file(&data_dir.join(DB_FILE_NAME))
    }

    pub fn of_file(path: &Path) -> Result<Self> {
        let mut file = match fs::File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::Absent),
            Err(err) => return Err(StoreError::io(format!("reading {}", path.display()), err)),
        };
        let mut header = Vec::with_capacity(16);
        Read::by_ref(&mut file)
            .take(16)
            .read_to_end(&mut header)
            .map_err(|err| StoreError::io(format!("reading {}", path.display()), err))?;
        Ok(if header.is_empty() {
            Self::Absent
        } else if header == PLAIN_HEADER {
            Self::Plain
        } else {
            Self::Encrypted
        })
    }
}

/// The key in use and where it is kept.
#[derive(Debug, Clone)]
pub struct ChosenKey {
    pub key: DatabaseKey,
    /// [`KeyStore::describe`] of the store that holds it.
    pub kept_by: String,
    /// Made on this start (first start, or first start after the upgrade).
    pub created: bool,
    /// Why the platform store was not used, when it was offered and failed.
    pub platform_error: Option<String>,
}

/// The database key of `data_dir`: from the key file if one exists (the
/// fallback was chosen before), else from `platform`, else made now and kept in
/// `platform`, or in the key file when the platform store is absent or fails.
///
/// A new key is only made while the folder holds no encrypted database; with
/// one, a key that cannot be found is [`StoreError::KeyUnavailable`] and the
/// file is left as it is.
pub fn load_or_create_key(data_dir: &Path, platform: Option<&dyn KeyStore>) -> Result<ChosenKey> {
    let key_file = KeyFile::in_data_dir(data_dir);
    let unavailable = |err: KeyStoreError| StoreError::KeyUnavailable(err.to_string());
    if let Some(key) = key_file.load().map_err(unavailable)? {
        return Ok(ChosenKey {
            key,
            kept_by: key_file.describe(),
            created: false,
            platform_error: None,
        });
    }
    let mut platform_error = None;
    if let Some(store) = platform {
        match store.load() {
            Ok(Some(key)) => {
                return Ok(ChosenKey {
                    key,
                    kept_by: store.describe(),
                    created: false,
                    platform_error: None,
                })
            }
            Ok(None) => {}
            Err(err) => platform_error = Some(err),
        }
    }
    if DatabaseFile::of_data_dir(data_dir)? == DatabaseFile::Encrypted {
        let reason = match &platform_error {
            Some(err) => format!("the key store failed ({err}) and there is no key file"),
            None => "no key store holds the key of this encrypted database".to_owned(),
        };
        return Err(StoreError::KeyUnavailable(reason));
    }
    let key = DatabaseKey::generate()?;
    if let (Some(store), None) = (platform, &platform_error) {
        // Read back: a store that accepts a key and loses it would lock the data away.
        match store.save(&key).and_then(|()| store.load()) {
            Ok(Some(kept)) if kept == key => {
                return Ok(ChosenKey {
                    key,
                    kept_by: store.describe(),
                    created: true,
                    platform_error: None,
                })
            }
            Ok(_) => {
                platform_error = Some(KeyStoreError {
                    store: store.describe(),
                    reason: "the saved key did not read back".to_owned(),
                });
            }
            Err(err) => platform_error = Some(err),
        }
    }
    fs::create_dir_all(data_dir)
        .map_err(|err| StoreError::io(format!("creating {}", data_dir.display()), err))?;
    key_file.save(&key).map_err(unavailable)?;
    Ok(ChosenKey {
        key,
        kept_by: key_file.describe(),
        created: true,
        platform_error: platform_error.map(|err| err.to_string()),
    })
}
