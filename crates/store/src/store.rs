//! The open local database: opening (encrypting a plain one first,
//! migrating), and the transactions every action runs in.

use crate::encrypt;
use crate::error::{Result, StoreError};
use crate::files::{DB_FILE_NAME, EVIDENCE_DIR};
use crate::key::{load_or_create_key, DatabaseFile, DatabaseKey};
use crate::migrate;
use crate::sql;
use cdht_core::ids::DeviceId;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another connection (the sync client) before `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The open local database. One per process for the UI; the sync client may open
/// its own on the same folder (WAL lets readers and one writer work together).
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) data_dir: PathBuf,
    device_id: DeviceId,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.data_dir)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// Makes a file readable and writable by its owner only (Unix; elsewhere the
/// app's private folder is the protection). A missing file is left alone.
fn restrict_to_owner(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match fs::metadata(path) {
            Ok(meta) => meta.permissions().mode(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(StoreError::io(format!("reading {}", path.display()), err)),
        };
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                .map_err(|err| StoreError::io(format!("restricting {}", path.display()), err))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the encrypted database in `data_dir` with
    /// `key` and brings its schema up to date. A plain database (written before
    /// encryption) is encrypted first, nothing lost; a copy a crash left half
    /// encrypted is discarded and the encryption done again. A database written
    /// by a newer app gets [`StoreError::TooNew`] and is left untouched; one the
    /// key does not open gets [`StoreError::Corrupt`], also untouched.
    pub fn open(data_dir: impl AsRef<Path>, key: &DatabaseKey) -> Result<Self> {
        Self::open_keyed_or_plain(data_dir.as_ref(), Some(key))
    }

    /// A plain (unencrypted) store, only for `examples/store_bench.rs` to
    /// measure what encryption costs; the feature is never enabled by the app.
    #[cfg(feature = "bench-unencrypted")]
    #[doc(hidden)]
    pub fn open_unencrypted_for_benchmark(data_dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_keyed_or_plain(data_dir.as_ref(), None)
    }

    fn open_keyed_or_plain(data_dir: &Path, key: Option<&DatabaseKey>) -> Result<Self> {
        let data_dir = data_dir.to_path_buf();
        let evidence_dir = data_dir.join(EVIDENCE_DIR);
        fs::create_dir_all(&evidence_dir)
            .map_err(|err| StoreError::io(format!("creating {}", evidence_dir.display()), err))?;
        let db_path = data_dir.join(DB_FILE_NAME);
        let mut conn = match key {
            Some(key) => {
                encrypt::discard_unfinished(&db_path)?;
                if DatabaseFile::of_file(&db_path)? == DatabaseFile::Plain {
                    encrypt::encrypt_plain_database(&db_path, key)?;
                }
                encrypt::open_connection(&db_path, key)?
            }
            None => Connection::open(&db_path)?,
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Before anything writes (even the journal mode switch).
        migrate::check_compatible(&conn)?;
        let journal_mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Internal(format!(
                "could not switch to WAL (journal_mode is {journal_mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrate::migrate(&mut conn)?;
        let device_id = sql::ensure_device(&conn)?;
        // The file holds the device token (migration 4) and consented CCCDs:
        // readable by this user only, like the token file it replaced.
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db_path.clone().into_os_string();
            name.push(suffix);
            restrict_to_owner(Path::new(&name))?;
        }
        Ok(Self {
            conn,
            data_dir,
            device_id,
        })
    }

    /// Opens `data_dir` with the key of its key file ([`KeyFile`]), made on
    /// first use: the store for platforms without a secret store, and for tools
    /// and tests.
    pub fn open_with_key_file(data_dir: impl AsRef<Path>) -> Result<Self> {
        let data_dir = data_dir.as_ref();
        let chosen = load_or_create_key(data_dir, None)?;
        Self::open(data_dir, &chosen.key)
    }

    /// This installation's id, made on first open.
    #[must_use]
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    #[must_use]
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The `user_version` of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        migrate::schema_version(&self.conn)
    }

    /// A write transaction that takes the write lock up front, so it waits for
    /// another writer (busy timeout) instead of failing half-way.
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Runs `action` with `synchronous=FULL`: its commit is fsynced, surviving power loss.
    pub(crate) fn with_full_sync<T>(
        &mut self,
        action: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        let result = action(self);
        let restored = self.conn.pragma_update(None, "synchronous", "NORMAL");
        let value = result?;
        restored?;
        Ok(value)
    }
}
