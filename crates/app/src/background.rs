//! The background sync loop, as plain async Rust (the Tauri shell spawns it on
//! its tokio runtime and forwards [`SyncEvent`]s to the window as events).
//!
//! It owns a [`SyncEngine`] on the app's data folder (its own store
//! connection), and decides when to run a round:
//! - at start, right away when the device is enrolled (or has a join to
//!   enrol);
//! - then after [`RetryBackoff::next_delay`] (idle period after a success,
//!   exponential backoff with jitter after failures), or at once on a nudge
//!   ([`SyncShared::nudge`]: "Sync now", a new join, the network is back);
//! - never on a timer while there is nothing to enrol with and no token (or
//!   the token was refused): it waits for a nudge, so it does not spin.
//!
//! A join made in the app is stored offline first (the unit row keeps the
//! scanned [`JoinPayload`], server + unit + key); the loop sees that payload
//! and enrols with it before the next round. Enrolment replaces the stored
//! payload with the server's description of the unit (no key), so a join is
//! enrolled once; a failed enrolment (offline) is simply tried again next
//! round. The UI never waits on the network: commands only read
//! [`SyncShared::snapshot`] or nudge.

use cdht_core::qr::JoinPayload;
use cdht_store::{Store, Unit};
use cdht_sync_engine::{
    RetryBackoff, ServerConfig, SyncEngine, SyncError, SyncErrorKind, SyncPhase, SyncProgress,
    SyncReport,
};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// What the loop tells the window (the Tauri shell emits each as an event:
/// `sync-progress`, `sync-done`, `sync-error`, `sync-enrolled`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", content = "payload", rename_all = "snake_case")]
pub enum SyncEvent {
    Progress(SyncProgress),
    Done(SyncDone),
    Error(SyncErrorView),
    Enrolled(EnrolledView),
}

impl SyncEvent {
    /// The Tauri event name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Progress(_) => "sync-progress",
            Self::Done(_) => "sync-done",
            Self::Error(_) => "sync-error",
            Self::Enrolled(_) => "sync-enrolled",
        }
    }
}

/// A successful round, summed up for the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncDone {
    pub at_ms: i64,
    pub pushed: usize,
    pub acked: usize,
    pub rejected: usize,
    pub photos_uploaded: usize,
    pub uploaded_bytes: u64,
    pub pulled_changes: usize,
    pub applied_changes: usize,
}

impl SyncDone {
    fn from_report(report: &SyncReport, at_ms: i64) -> Self {
        Self {
            at_ms,
            pushed: report.pushed,
            acked: report.acked,
            rejected: report.rejected.len(),
            photos_uploaded: report.photos_uploaded,
            uploaded_bytes: report.uploaded_bytes,
            pulled_changes: report.pulled_changes,
            applied_changes: report.applied_changes,
        }
    }
}

/// A failed round or enrolment: the UI maps `kind` to its own sentence (in
/// the chosen language); `message` is the engine's Vietnamese sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncErrorView {
    pub kind: SyncErrorKind,
    pub code: Option<String>,
    pub message: String,
    pub detail: String,
    pub at_ms: i64,
}

impl SyncErrorView {
    fn from_error(err: &SyncError, at_ms: i64) -> Self {
        Self {
            kind: err.kind(),
            code: err.code().map(str::to_owned),
            message: err.message_vi(),
            detail: err.to_string(),
            at_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrolledView {
    pub server: String,
    pub unit_code: String,
    pub unit_name: String,
}

/// What the sync area shows: the latest of everything the loop saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncState {
    /// The device holds a token for a server.
    pub enrolled: bool,
    pub server: Option<String>,
    pub unit_code: Option<String>,
    /// A join is stored and waits for the server (offline, or not tried yet).
    pub enrol_pending: bool,
    /// A round is running now.
    pub running: bool,
    /// The latest progress of the running (or last) round.
    pub progress: Option<SyncProgress>,
    pub last_done: Option<SyncDone>,
    /// When the last round succeeded (ms since the epoch).
    pub last_success_ms: Option<i64>,
    /// The error of the last round, cleared by a success.
    pub last_error: Option<SyncErrorView>,
    /// Rounds finished since the app started (successes and failures).
    pub rounds: u64,
}

/// Shared between the loop and the commands: the state behind a mutex
/// (never held across an await) and the nudge.
#[derive(Debug, Default)]
pub struct SyncShared {
    state: Mutex<SyncState>,
    nudge: Notify,
}

impl SyncShared {
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// "Sync now" (or a join, or the network is back): the loop starts a
    /// round at once, or right after the running one (a nudge is never lost).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    #[must_use]
    pub fn snapshot(&self) -> SyncState {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, change: impl FnOnce(&mut SyncState)) {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// What one step of the loop did, and so how long the loop waits next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundOutcome {
    /// Nothing to do until a join or a nudge (no token, no stored join, or
    /// the token was refused).
    Idle,
    Synced(SyncDone),
    Failed(SyncErrorView),
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The join stored by the app and not yet enrolled: the active unit's stored
/// payload when it is still the scanned one (server, unit, key).
pub fn pending_join(store: &Store) -> Option<JoinPayload> {
    let unit = store.units().ok()?.into_iter().find(|u| u.active)?;
    pending_join_of(&unit)
}

fn pending_join_of(unit: &Unit) -> Option<JoinPayload> {
    let payload: JoinPayload = serde_json::from_value(unit.join_payload.clone()).ok()?;
    (!payload.join_key.is_empty()).then_some(payload)
}

/// The loop's engine and backoff: one per process.
#[derive(Debug)]
pub struct SyncLoop {
    engine: SyncEngine,
    backoff: RetryBackoff,
    shared: Arc<SyncShared>,
    /// The token was refused: wait for a new join instead of retrying.
    auth_refused: bool,
}

impl SyncLoop {
    /// Opens the engine on the app's data folder.
    pub fn open(
        data_dir: impl Into<PathBuf>,
        config: ServerConfig,
        shared: Arc<SyncShared>,
    ) -> Result<Self, SyncError> {
        let engine = SyncEngine::open(data_dir.into(), config)?;
        let this = Self {
            engine,
            backoff: RetryBackoff::default(),
            shared,
            auth_refused: false,
        };
        this.refresh_enrolment();
        Ok(this)
    }

    /// Replaces the backoff policy (tests use short pauses).
    #[must_use]
    pub fn with_backoff(mut self, backoff: RetryBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    #[must_use]
    pub fn engine(&self) -> &SyncEngine {
        &self.engine
    }

    fn refresh_enrolment(&self) {
        let enrolment = self.engine.enrolment();
        let pending = pending_join(self.engine.store()).is_some();
        self.shared.update(|s| {
            s.enrolled = enrolment.is_some();
            s.server = enrolment.as_ref().map(|e| e.server.clone());
            s.unit_code = enrolment.as_ref().map(|e| e.unit.as_str().to_owned());
            s.enrol_pending = pending;
        });
    }

    /// Whether the loop has anything to try without a nudge.
    #[must_use]
    pub fn has_work(&self) -> bool {
        pending_join(self.engine.store()).is_some()
            || (self.engine.enrolment().is_some() && !self.auth_refused)
    }

    /// One step: enrol a stored join if there is one, then one sync round.
    /// Updates the shared state and the backoff and reports through `emit`.
    pub async fn round(&mut self, emit: &mut impl FnMut(SyncEvent)) -> RoundOutcome {
        let pending = pending_join(self.engine.store());
        if let Some(payload) = pending {
            self.shared.update(|s| s.running = true);
            let enrolled = self.engine.enrol(&payload).await;
            self.shared.update(|s| s.running = false);
            match enrolled {
                Ok(unit) => {
                    self.auth_refused = false;
                    emit(SyncEvent::Enrolled(EnrolledView {
                        server: payload.server.clone(),
                        unit_code: unit.unit_code.as_str().to_owned(),
                        unit_name: unit.name,
                    }));
                }
                Err(err) => {
                    self.refresh_enrolment();
                    return self.failed(&err, emit);
                }
            }
        }
        self.refresh_enrolment();
        if self.engine.enrolment().is_none() || self.auth_refused {
            return RoundOutcome::Idle;
        }
        self.shared.update(|s| s.running = true);
        let shared = Arc::clone(&self.shared);
        let result = self
            .engine
            .sync_once(|p| {
                shared.update(|s| s.progress = Some(p));
                emit(SyncEvent::Progress(p));
            })
            .await;
        self.shared.update(|s| s.running = false);
        match result {
            Ok(report) => {
                self.backoff.record_success();
                let done = SyncDone::from_report(&report, now_ms());
                self.shared.update(|s| {
                    s.last_done = Some(done.clone());
                    s.last_success_ms = Some(done.at_ms);
                    s.last_error = None;
                    s.rounds += 1;
                    if let Some(p) = s.progress.as_mut() {
                        p.phase = SyncPhase::Done;
                    }
                });
                emit(SyncEvent::Done(done.clone()));
                RoundOutcome::Synced(done)
            }
            Err(err) => {
                if err.kind() == SyncErrorKind::AuthExpired {
                    self.auth_refused = true;
                }
                self.failed(&err, emit)
            }
        }
    }

    fn failed(&mut self, err: &SyncError, emit: &mut impl FnMut(SyncEvent)) -> RoundOutcome {
        self.backoff.record_failure(err);
        let view = SyncErrorView::from_error(err, now_ms());
        self.shared.update(|s| {
            s.last_error = Some(view.clone());
            s.rounds += 1;
        });
        emit(SyncEvent::Error(view.clone()));
        RoundOutcome::Failed(view)
    }

    /// Waits for the next round: a nudge, or the backoff's delay when there
    /// is work to retry. Returns whether a nudge woke it.
    pub async fn wait(&mut self) -> bool {
        if !self.has_work() {
            self.shared.nudge.notified().await;
            self.backoff.connection_back();
            let _ = self.backoff.next_delay();
            return true;
        }
        let delay = self.backoff.next_delay();
        tokio::select! {
            () = tokio::time::sleep(delay) => false,
            () = self.shared.nudge.notified() => {
                self.backoff.connection_back();
                let _ = self.backoff.next_delay();
                true
            }
        }
    }

    /// The loop, forever: a first round at once (when there is work), then
    /// wait and round again.
    pub async fn run(mut self, mut emit: impl FnMut(SyncEvent)) {
        if self.has_work() {
            self.round(&mut emit).await;
        }
        loop {
            self.wait().await;
            self.round(&mut emit).await;
        }
    }
}

/// Starts the loop on its own thread with a single-threaded tokio runtime
/// (the engine holds a SQLite connection across awaits, so its rounds stay
/// on one thread; the UI's commands never share that thread).
pub fn spawn_sync_thread(
    data_dir: PathBuf,
    config: ServerConfig,
    shared: Arc<SyncShared>,
    emit: impl FnMut(SyncEvent) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("cdht-sync".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    eprintln!("cdht: the sync loop could not start: {err}");
                    return;
                }
            };
            runtime.block_on(run_sync_loop(data_dir, config, shared, emit));
        })
}

/// Runs the loop on `data_dir`; if the engine cannot open (the storage is
/// broken), reports it and tries again on each nudge or every minute.
pub async fn run_sync_loop(
    data_dir: PathBuf,
    config: ServerConfig,
    shared: Arc<SyncShared>,
    mut emit: impl FnMut(SyncEvent),
) {
    loop {
        match SyncLoop::open(data_dir.clone(), config.clone(), Arc::clone(&shared)) {
            Ok(sync_loop) => return sync_loop.run(emit).await,
            Err(err) => {
                let view = SyncErrorView::from_error(&err, now_ms());
                shared.update(|s| s.last_error = Some(view.clone()));
                emit(SyncEvent::Error(view));
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(60)) => {}
                    () = shared.nudge.notified() => {}
                }
            }
        }
    }
}
