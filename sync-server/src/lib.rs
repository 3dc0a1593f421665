//! The CDHT sync server: units and QR enrolment, idempotent push, pull,
//! review workflow, de-duplication and resumable evidence upload. The
//! protocol is `cdht_core::sync`, described in `docs/sync-protocol.md`.

pub mod api;
pub mod blobs;
pub mod catalogs;
pub mod error;
pub mod init;
pub mod page;
pub mod poster;
pub mod rules;
pub mod sqlite;
pub mod storage;
pub mod tls;
pub mod units;

use crate::error::ApiError;
use crate::storage::{Storage, StorageResult};
use cdht_core::Catalog;
use object_store::ObjectStore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
}

/// The installed (id, revision) pairs, and the merged catalogs made from them.
type CatalogCache = (Vec<(String, u32)>, Arc<Vec<Catalog>>);

impl AppState {
    /// Opens the data directory: database (migrated), blob store, secret.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let storage = sqlite::SqliteStorage::open(&config.data_dir)?;
        let blobs = blobs::open(&config.data_dir)?;
        let secret = load_or_create_secret(&config.data_dir)?;
        Ok(Self {
            storage: Arc::new(storage),
            blobs,
            limiter: Arc::new(FailureLimiter::new(
                config.max_failures,
                config.failure_window,
            )),
            config: Arc::new(config),
            secret: Arc::new(secret),
            catalogs: Arc::new(Mutex::new((Vec::new(), Arc::new(Vec::new())))),
        })
    }

    /// The catalogs to score with: the embedded ones, replaced or completed
    /// by those installed with `cdht-server catalogs add` (higher revision
    /// wins). Re-read only when the installed revisions changed.
    pub async fn scoring_catalogs(&self) -> Result<Arc<Vec<Catalog>>, ApiError> {
        let revisions = self.db(|s| s.catalog_revisions()).await?;
        {
            let cached = self.catalogs.lock().unwrap_or_else(|e| e.into_inner());
            if !cached.1.is_empty() && cached.0 == revisions {
                return Ok(Arc::clone(&cached.1));
            }
        }
        let installed = self.db(|s| s.catalogs()).await?;
        let embedded = cdht_core::embedded_catalogs().map_err(|e| {
            tracing::error!(error = %e, "embedded catalogs are broken");
            ApiError::internal()
        })?;
        let merged = Arc::new(cdht_core::merge_catalogs(embedded, &installed));
        let mut cached = self.catalogs.lock().unwrap_or_else(|e| e.into_inner());
        *cached = (revisions, Arc::clone(&merged));
        Ok(merged)
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
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(cccd.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
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
    hex::encode(Sha256::digest(bytes))
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

/// Counts failed joins and logins per key (client address, username) and
/// blocks a key that failed too often in the window. Successes are never
/// limited: 300 people at one meeting behind one carrier address must all
/// get in.
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureLimiter {
    #[must_use]
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn blocked(&self, key: &str) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .is_some_and(|(n, since)| *n >= self.max && since.elapsed() < self.window)
    }

    pub fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a flood: forget old entries.
            let window = self.window;
            map.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

/// Connections to the database. SQLite serialises writers anyway, and WAL
/// readers run in parallel, so a few more than the cores keeps both cores busy
/// while one connection waits on the disk; more would only queue inside
/// SQLite and cost a page cache (≈2 MB) each.
pub const DB_POOL_SIZE: u32 = 8;
/// How long a request waits for a free connection before `503 busy`.
pub const DB_POOL_WAIT: Duration = Duration::from_secs(15);
/// tokio's blocking threads. Every storage call holds a connection, so
/// threads beyond the pool would only wait for one (tokio's default of 512
/// let a crowd of pulls start 200 threads); the rest are for file I/O of
/// evidence chunks and password hashing.
pub const BLOCKING_THREADS: usize = DB_POOL_SIZE as usize + 8;
/// How often the write-ahead log is emptied under load. SQLite's automatic
/// checkpoint (every 1000 pages, the default kept on purpose) copies pages
/// back but never shrinks the file, and gives up while a pull reads.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);

/// Serves on an already bound listener until Ctrl-C, or until the future is
/// dropped or fails.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_until(state, listener, ctrl_c()).await
}

/// Serves until `shutdown` completes, then finishes the requests in flight
/// and empties the write-ahead log, so a stopped server is one file.
pub async fn serve_until(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = api::router(state.clone());
    let checkpoints = AbortOnDrop(tokio::spawn(checkpoint_periodically(state.clone())));
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    drop(checkpoints);
    final_checkpoint(&state).await;
    result
}

/// Serves HTTPS on an already bound listener with a rustls configuration
/// (see [`tls::server_config`]), until Ctrl-C or the future is dropped.
pub async fn serve_tls(
    state: AppState,
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    serve_tls_until(state, listener, config, ctrl_c()).await
}

/// [`serve_tls`] until `shutdown` completes, then as [`serve_until`].
pub async fn serve_tls_until(
    state: AppState,
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = api::router(state.clone());
    let listener = listener.into_std()?;
    let handle = axum_server::Handle::new();
    let on_signal = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        on_signal.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let checkpoints = AbortOnDrop(tokio::spawn(checkpoint_periodically(state.clone())));
    let result = axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(config),
    )
    .handle(handle)
    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
    .await;
    drop(checkpoints);
    final_checkpoint(&state).await;
    result
}

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Ctrl-C, or SIGTERM (what systemd and `docker stop` send): the binary's
/// clean shutdown. Not in [`serve`], which tests run inside their own
/// process, whose SIGTERM must keep killing it.
pub async fn ctrl_c_or_sigterm() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    () = ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    ctrl_c().await;
}

/// Stops a background task when the server future ends or is dropped (a
/// test aborting its server must not leave the task running).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn checkpoint_periodically(state: AppState) {
    let mut every = tokio::time::interval(state.config.checkpoint_every);
    every.tick().await; // the first tick is immediate
    loop {
        every.tick().await;
        if let Err(e) = state.db(|s| s.checkpoint(false)).await {
            tracing::warn!(code = e.code, "periodic checkpoint failed");
        }
    }
}

async fn final_checkpoint(state: &AppState) {
    match state.db(|s| s.checkpoint(true)).await {
        Ok(true) => tracing::info!("write-ahead log emptied"),
        Ok(false) => tracing::warn!("write-ahead log still in use at shutdown"),
        Err(e) => tracing::warn!(code = e.code, "checkpoint at shutdown failed"),
    }
}
