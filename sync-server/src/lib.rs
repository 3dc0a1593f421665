//! The CDHT sync server: units and QR enrolment, idempotent push, pull,
//! review workflow, de-duplication and resumable evidence upload. The
//! protocol is `cdht_core::sync`, described in `docs/sync-protocol.md`.

pub mod api;
pub mod blobs;
mod blobs_local;
pub mod catalogs;
pub mod conn;
pub mod conn_tls;
pub mod dashboard;
pub mod documents;
pub mod error;
pub mod exemplary;
pub mod init;
pub mod jpeg;
pub mod limiter;
pub mod migrate_storage;
pub mod page;
pub mod poster;
pub mod report;
pub mod serve;
pub mod tls;
pub mod units;
pub mod upload;

// Storage lives in crates of its own (issue 15): the trait, its types and the
// rules every backend applies, and one crate per backend. The old paths stay.
pub use cdht_server_db as storage;
pub use cdht_server_db::{queue, rules};
pub use cdht_server_postgres as postgres;
pub use cdht_server_sqlite as sqlite;

pub use limiter::{Attempt, FailureLimiter};
pub use serve::{
    blocking_threads, ctrl_c_or_sigterm, serve, serve_tls, serve_tls_until, serve_until,
    BLOCKING_THREADS, CHECKPOINT_EVERY, DB_POOL_SIZE, DB_POOL_WAIT, IDLE_TIMEOUT, MAX_CONNECTIONS,
    TLS_HANDSHAKE_TIMEOUT,
};

use crate::error::ApiError;
use crate::storage::{Storage, StorageResult};
use cdht_core::Catalog;
use object_store::ObjectStore;
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings of a running server (flags and environment variables of `serve`).
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// The largest evidence photo accepted, in bytes.
    pub max_evidence_bytes: u64,
    /// Failed joins or logins allowed per client address (and per username)
    /// in one window before `429 rate_limited`.
    pub max_failures: u32,
    pub failure_window: Duration,
    /// How long an officer's login lasts.
    pub officer_session: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed: only a request
    /// whose TCP peer is one of these is rate-limited by the address the
    /// proxy forwarded. Anybody else could write that header themselves.
    pub trusted_proxies: Vec<IpAddr>,
    /// How often the write-ahead log is emptied while serving
    /// ([`CHECKPOINT_EVERY`]).
    pub checkpoint_every: Duration,
    /// A connection (plain HTTP or HTTPS) on which no byte moved either way
    /// for this long is closed (slow or silent clients; see [`conn`]).
    pub idle_timeout: Duration,
    /// Connections served at once (plain HTTP or HTTPS); more wait in the
    /// kernel's backlog.
    pub max_connections: usize,
    /// Where people get the app (`serve --app-url`), shown on unit pages.
    pub app_url: Option<String>,
    /// The longest an HTTPS connection's TLS handshake may take
    /// ([`TLS_HANDSHAKE_TIMEOUT`], see [`conn_tls`]).
    pub tls_handshake_timeout: Duration,
    /// Where evidence photos are kept (`serve --blobs`).
    pub blobs: BlobsAt,
    /// The key of the CCCDs' keyed hash, shared by every instance of one
    /// deployment (`--secret-file`); `None`: `DIR/secret.key`, made at the
    /// first start.
    pub secret_file: Option<PathBuf>,
    /// The database: `None` for `DIR/cdht.sqlite3`; a `postgres://` URL for
    /// PostgreSQL, which several instances share (`--database`).
    pub database: Option<String>,
    /// Connections to the database this process holds (`--db-pool`).
    pub db_pool: u32,
}

/// Where evidence photos are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BlobsAt {
    /// `DIR/blobs` in the data directory: one machine.
    #[default]
    DataDir,
    /// An S3-compatible bucket, `s3://bucket/prefix`, for several server
    /// instances. `options` are `object_store`'s S3 settings by name (e.g.
    /// `aws_endpoint`, `aws_allow_http`, `aws_access_key_id`); `serve` takes
    /// them from the `AWS_*` environment variables.
    S3 {
        url: String,
        options: Vec<(String, String)>,
    },
}

impl Config {
    #[must_use]
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            max_evidence_bytes: 10 * 1024 * 1024,
            max_failures: 10,
            failure_window: Duration::from_secs(600),
            officer_session: Duration::from_secs(12 * 3600),
            trusted_proxies: Vec::new(),
            checkpoint_every: CHECKPOINT_EVERY,
            idle_timeout: IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            app_url: None,
            tls_handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
            blobs: BlobsAt::DataDir,
            secret_file: None,
            database: None,
            db_pool: DB_POOL_SIZE,
        }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub blobs: Arc<dyn ObjectStore>,
    pub config: Arc<Config>,
    /// Keys the CCCD's HMAC; 32 random bytes in `DIR/secret.key`.
    secret: Arc<[u8; 32]>,
    limiter: Arc<FailureLimiter>,
    /// The catalogs pushes are scored with, and the installed revisions they
    /// were merged from (`catalogs add` may run while the server does).
    catalogs: Arc<Mutex<CatalogCache>>,
    completions: Arc<upload::Completions>,
    /// The server's "now" for sessions and logins (a fixed one in tests).
    pub clock: Arc<dyn storage::Clock>,
}

/// The installed (id, revision) pairs, and the merged catalogs made from them.
type CatalogCache = (Vec<(String, u32)>, Arc<Vec<Catalog>>);

impl AppState {
    /// Opens the data directory: database (migrated), blob store, secret.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        create_private_dir(&config.data_dir)?;
        let secret = match &config.secret_file {
            Some(path) => read_secret(path)?,
            None => load_or_create_secret(&config.data_dir)?,
        };
        // On a thread of its own: the PostgreSQL client runs a runtime of its
        // own, which may not start on one of tokio's threads (`serve` opens
        // the state inside its runtime; handlers reach storage through
        // spawn_blocking).
        let storage = std::thread::scope(|s| {
            s.spawn(|| -> anyhow::Result<Arc<dyn Storage>> {
                let storage = open_storage(&config, &secret)?;
                announce_shipped_catalogs(storage.as_ref())?;
                Ok(storage)
            })
            .join()
        })
        .map_err(|_| anyhow::anyhow!("opening the database panicked"))??;
        let blobs = blobs::open(&config.data_dir, &config.blobs)?;
        // The database, its WAL, photos: owner-only, like secret.key, also
        // in a folder an older version left world-readable.
        make_owner_only(&config.data_dir)?;
        Ok(Self {
            storage,
            blobs,
            limiter: Arc::new(FailureLimiter::new(
                config.max_failures,
                config.failure_window,
            )),
            config: Arc::new(config),
            secret: Arc::new(secret),
            catalogs: Arc::new(Mutex::new((Vec::new(), Arc::new(Vec::new())))),
            completions: Arc::new(upload::Completions::default()),
            clock: Arc::new(storage::SystemClock),
        })
    }

    /// The catalogs to score with: the embedded ones, replaced or completed
    /// by those installed with `cdht-server catalogs add` (higher revision
    /// wins). Re-read only when the installed revisions changed.
    pub async fn scoring_catalogs(&self) -> Result<Arc<Vec<Catalog>>, ApiError> {
        let revisions = self.db(|s| s.catalog_revisions()).await?;
        self.scoring_catalogs_at(revisions).await
    }

    /// [`Self::scoring_catalogs`], the installed revisions already read.
    pub async fn scoring_catalogs_at(
        &self,
        revisions: Vec<(String, u32)>,
    ) -> Result<Arc<Vec<Catalog>>, ApiError> {
        if let Some(cached) = self.cached_catalogs(&revisions) {
            return Ok(cached);
        }
        let state = self.clone();
        self.db(move |s| Ok(state.scoring_catalogs_in(s, revisions)))
            .await?
    }

    /// [`Self::scoring_catalogs_at`] from code already on the blocking pool
    /// (a push does all its storage work in one trip there).
    pub fn scoring_catalogs_in(
        &self,
        storage: &dyn Storage,
        revisions: Vec<(String, u32)>,
    ) -> Result<Arc<Vec<Catalog>>, ApiError> {
        if let Some(cached) = self.cached_catalogs(&revisions) {
            return Ok(cached);
        }
        let installed = storage.catalogs()?;
        let embedded = cdht_core::embedded_catalogs().map_err(|e| {
            tracing::error!(error = %e, "embedded catalogs are broken");
            ApiError::internal()
        })?;
        let merged = Arc::new(cdht_core::merge_catalogs(embedded, &installed));
        let mut cached = self.catalogs.lock().unwrap_or_else(|e| e.into_inner());
        *cached = (revisions, Arc::clone(&merged));
        Ok(merged)
    }

    fn cached_catalogs(&self, revisions: &[(String, u32)]) -> Option<Arc<Vec<Catalog>>> {
        let cached = self.catalogs.lock().unwrap_or_else(|e| e.into_inner());
        (!cached.1.is_empty() && cached.0 == revisions).then(|| Arc::clone(&cached.1))
    }

    /// The address a request is rate-limited by: the TCP peer, or, when the
    /// peer is a trusted proxy, the last `X-Forwarded-For` address (the one
    /// that proxy appended; earlier ones are whatever the client claimed).
    #[must_use]
    pub fn client_ip(&self, peer: SocketAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        if !self.config.trusted_proxies.contains(&peer.ip()) {
            return peer.ip();
        }
        // Only the very last entry: when it is unreadable, falling back to an
        // earlier one would trust an address the client wrote.
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .map(str::trim);
        last.and_then(|a| {
            a.parse::<IpAddr>()
                .ok()
                .or_else(|| a.parse::<SocketAddr>().ok().map(|s| s.ip()))
        })
        .unwrap_or_else(|| peer.ip())
    }

    /// Runs a blocking storage call on tokio's blocking pool, so a slow disk
    /// never stalls the async workers that serve other phones.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Storage) -> StorageResult<T> + Send + 'static,
    {
        let storage = Arc::clone(&self.storage);
        match tokio::task::spawn_blocking(move || f(storage.as_ref())).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(e) => {
                tracing::error!(error = %e, "storage task failed");
                Err(ApiError::internal())
            }
        }
    }

    /// HMAC-SHA256 of a CCCD under the server secret, hex.
    #[must_use]
    pub fn cccd_hmac(&self, cccd: &str) -> String {
        hmac_hex(&self.secret, &[cccd.as_bytes()])
    }

    /// What the server stores instead of a plain sha256 (hex) of something
    /// that may hold a CCCD (a person record, a push batch): an HMAC of it
    /// under the server secret, so the number cannot be brute-forced back.
    #[must_use]
    pub fn keyed_hash(&self, plain_sha256: &str) -> String {
        keyed_hash(&self.secret, plain_sha256)
    }
}

fn hmac_hex(secret: &[u8; 32], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_slice())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// See [`AppState::keyed_hash`]; the prefix keeps it apart from the CCCD's
/// HMAC (12 digits) under the same key.
fn keyed_hash(secret: &[u8; 32], plain_sha256: &str) -> String {
    hmac_hex(secret, &[b"cdht-stored-hash:", plain_sha256.as_bytes()])
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Directories 0700 and files 0600 under `dir` (symlinks left alone).
pub(crate) fn make_owner_only(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.file_type().is_symlink() {
                continue;
            }
            let want = if meta.is_dir() { 0o700 } else { 0o600 };
            if meta.permissions().mode() & 0o777 != want {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(want))?;
            }
            if meta.is_dir() {
                for entry in std::fs::read_dir(&path)? {
                    stack.push(entry?.path());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// What the serving process creates from now on (photos, chunks, a new WAL
/// or shared-memory file) is owner-only; the serve commands write nothing
/// meant for others.
pub(crate) fn private_umask() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// The secret of `--secret-file`, which must exist: instances that each
/// made their own would hash the same CCCD differently and never find the
/// duplicate.
fn read_secret(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "--secret-file {}: {e}; make it once for the whole deployment \
             (`openssl rand -hex 32 > FILE`, or copy an existing server's DIR/secret.key) \
             and give every instance the same file",
            path.display()
        )
    })?;
    let bytes = hex::decode(text.trim())
        .map_err(|_| anyhow::anyhow!("{} is not 32 bytes of hex", path.display()))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} is not 32 bytes of hex", path.display()))
}

/// Refuses a secret other than the one the database's hashes were made
/// with (a wrong `--secret-file`, a lost `secret.key`): CCCD duplicates
/// would silently stop being found. The database keeps a fingerprint of
/// the secret (a keyed hash of a fixed text), never the secret.
/// The database `config` names, migrated, its secret checked: SQLite in
/// the data directory, or PostgreSQL at `config.database`.
fn open_storage(config: &Config, secret: &[u8; 32]) -> anyhow::Result<Arc<dyn Storage>> {
    match config.database.as_deref() {
        None => {
            let pool = cdht_server_db::PoolSettings {
                size: config.db_pool,
                wait: DB_POOL_WAIT,
            };
            let storage = sqlite::SqliteStorage::open_with(&config.data_dir, pool)?;
            check_secret(&storage, secret)?;
            // Rows written before hashes were keyed (issue 9): key them once.
            storage.key_plain_hashes(&|plain| keyed_hash(secret, plain))?;
            Ok(Arc::new(storage))
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let storage = cdht_server_postgres::PgStorage::open(url, config.db_pool)?;
            // No PostgreSQL database predates keyed hashes: nothing to key.
            check_secret(&storage, secret)?;
            Ok(Arc::new(storage))
        }
        // Not echoed: a URL may hold a password.
        Some(_) => anyhow::bail!(
            "--database: write postgres://user@host/database (PostgreSQL), or leave it out \
             for DIR/cdht.sqlite3"
        ),
    }
}

fn check_secret(storage: &dyn Storage, secret: &[u8; 32]) -> anyhow::Result<()> {
    const KEY: &str = "secret_fingerprint";
    let fingerprint = hmac_hex(secret, &[b"cdht-secret-fingerprint"]);
    match storage.setting(KEY)? {
        None => storage.set_setting(KEY, &fingerprint)?,
        Some(stored) if stored == fingerprint => {}
        Some(_) => anyhow::bail!(
            "this secret is not the one the database's CCCD hashes were made with: \
             give every instance the deployment's one secret file (--secret-file / \
             CDHT_SECRET_FILE), or restore DIR/secret.key from the backup"
        ),
    }
    Ok(())
}

fn load_or_create_secret(dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = dir.join("secret.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes = hex::decode(text.trim())?;
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} is not 32 bytes of hex", path.display()));
    }
    let secret: [u8; 32] = random_bytes()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options
        .open(&path)?
        .write_all(hex::encode(secret).as_bytes())?;
    Ok(secret)
}

pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(buf)
}

/// A new bearer token (32 random bytes, hex) and the sha256 the server keeps.
pub fn new_token() -> anyhow::Result<(String, String)> {
    let token = hex::encode(random_bytes::<32>()?);
    let hash = token_hash(&token);
    Ok((token, hash))
}

#[must_use]
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Lower-case hex sha256: record hashes, photo addresses, token hashes.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    cdht_core::digest::sha256_hex(bytes)
}

/// A code people type from a poster: no 0/O, 1/I/L.
pub fn random_code(len: usize) -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let bytes = random_bytes::<32>()?;
    Ok(bytes
        .iter()
        .take(len)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// Tells devices of catalogs built into this server at a revision above the
/// one they shipped with (1) or were last told of: a corrected wording
/// reaches phones in the field through the usual catalog change.
fn announce_shipped_catalogs(storage: &dyn Storage) -> anyhow::Result<()> {
    for catalog in cdht_core::embedded_catalogs()? {
        if storage.announce_shipped_catalog(catalog)? {
            tracing::info!(
                catalog = %catalog.id,
                revision = catalog.revision,
                "devices will pull this catalog revision"
            );
        }
    }
    Ok(())
}
