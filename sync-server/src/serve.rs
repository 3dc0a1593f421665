//! Serving: the plain-HTTP and HTTPS listeners, the start-up repair, the
//! periodic and final WAL checkpoints, and the sizes of the pools.

use crate::{api, conn, conn_tls, private_umask, upload, AppState};
use cdht_server_db::PoolSettings;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Connections to the database (see [`PoolSettings::DEFAULT`]).
pub const DB_POOL_SIZE: u32 = PoolSettings::DEFAULT.size;
/// How long a request waits for a free connection before `503 busy`.
pub const DB_POOL_WAIT: Duration = PoolSettings::DEFAULT.wait;
/// tokio's blocking threads. Every storage call holds a connection, so
/// threads beyond the pool would only wait for one (tokio's default of 512
/// let a crowd of pulls start 200 threads); the rest are for file I/O of
/// evidence chunks and password hashing.
pub const BLOCKING_THREADS: usize = blocking_threads(DB_POOL_SIZE);

/// [`BLOCKING_THREADS`] for a pool of `pool` connections (`--db-pool`): one
/// thread per connection, and 8 for file I/O and password hashing.
#[must_use]
pub const fn blocking_threads(pool: u32) -> usize {
    pool as usize + 8
}
/// A connection silent this long either way is closed: well above a 2G
/// link's pauses and a handler's longest database wait (pool 15 s + busy
/// 10 s), far below "for ever".
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a TLS handshake may take, however steadily its bytes come:
/// a handshake is a few kilobytes and two round trips, seconds even on 2G
/// (1–2 s of round trips, 4 KB of certificates at 2 KB/s); a client that
/// trickles its hello to hold a connection is closed.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections at once: a hall of 300 phones fits, and the process stays
/// under the usual limit of 1024 open files (the database and photos need
/// some too).
pub const MAX_CONNECTIONS: usize = 600;
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
    let listener = conn::GuardedListener::new(
        listener,
        state.config.max_connections,
        state.config.idle_timeout,
    );
    serve_on(state, listener, shutdown).await
}

/// What both listeners share: private files, the start-up repair, periodic
/// and final checkpoints, graceful shutdown.
async fn serve_on<L>(
    state: AppState,
    listener: L,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    for<'a> conn::PeerAddr:
        axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    private_umask();
    tokio::spawn(repair(state.clone()));
    let app = api::router(state.clone()).layer(axum::middleware::map_request(peer_address));
    let checkpoints = AbortOnDrop(tokio::spawn(checkpoint_periodically(state.clone())));
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<conn::PeerAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    drop(checkpoints);
    final_checkpoint(&state).await;
    result
}

/// The guarded listener's peer address (plain or TLS) as the
/// `ConnectInfo<SocketAddr>` the handlers read.
async fn peer_address(mut req: axum::extract::Request) -> axum::extract::Request {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<conn::PeerAddr>>()
        .map(|c| c.0 .0);
    if let Some(addr) = peer {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo::<SocketAddr>(addr));
    }
    req
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

/// [`serve_tls`] until `shutdown` completes, then as [`serve_until`]. The
/// connections get the plain listener's guard (a cap, idleness closes) and a
/// deadline on the TLS handshake ([`conn_tls`]).
pub async fn serve_tls_until(
    state: AppState,
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = conn_tls::TlsListener::new(
        listener,
        config,
        conn_tls::TlsLimits {
            max_connections: state.config.max_connections,
            idle: state.config.idle_timeout,
            handshake: state.config.tls_handshake_timeout,
        },
    )?;
    serve_on(state, listener, shutdown).await
}

/// What a start-up repairs, in the background while requests are served.
async fn repair(state: AppState) {
    upload::repair_stuck(&state).await;
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
            tracing::warn!(code = e.code.as_str(), "periodic checkpoint failed");
        }
    }
}

async fn final_checkpoint(state: &AppState) {
    match state.db(|s| s.checkpoint(true)).await {
        Ok(true) => tracing::info!("write-ahead log emptied"),
        Ok(false) => tracing::warn!("write-ahead log still in use at shutdown"),
        Err(e) => tracing::warn!(code = e.code.as_str(), "checkpoint at shutdown failed"),
    }
}
