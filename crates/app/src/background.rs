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

use crate::AppError;
use cdht_core::qr::JoinPayload;
use cdht_core::sync::DeviceScope;
use cdht_core::Code;
use cdht_store::{DatabaseKey, Store, Unit};
use cdht_sync_engine::{
    RetryBackoff, ServerConfig, SyncEngine, SyncError, SyncErrorKind, SyncPhase,
};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

mod errors;
mod views;
mod wait;
pub use errors::{fetch_photo_error, officer_error, officer_logout_error};
pub use views::{EnrolledView, OfficerBinding, SyncDone, SyncErrorView, SyncEvent, SyncState};
use wait::clock_seed;
pub use wait::{jittered, plan_wait, WaitPlan};

/// How often the loop asks "is the server back?" while offline (±20 % jitter).
pub const PROBE_EVERY: Duration = Duration::from_secs(30);
/// How long a command waits for the loop to carry out a request (it may be
/// in the middle of a round).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What a command asks the loop to do with the engine (the engine lives on
/// the loop's thread); the answer comes back on `reply`.
#[derive(Debug)]
enum SyncRequest {
    BindOfficer {
        username: String,
        password: String,
        reply: oneshot::Sender<Result<OfficerBinding, AppError>>,
    },
    UnbindOfficer {
        reply: oneshot::Sender<Result<(), AppError>>,
    },
    FetchPhoto {
        sha256: String,
        reply: oneshot::Sender<Result<(), AppError>>,
    },
}

/// Shared between the loop and the commands: the state behind a mutex
/// (never held across an await) and the nudge.
#[derive(Debug, Default)]
pub struct SyncShared {
    state: Mutex<SyncState>,
    nudge: Notify,
    requests: Mutex<VecDeque<SyncRequest>>,
    request_ready: Notify,
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

    /// Logs an officer in on this device (`POST /api/v1/device/officer`):
    /// it then pulls every record of its unit. Needs the network.
    pub async fn bind_officer(
        &self,
        username: &str,
        password: &str,
    ) -> Result<OfficerBinding, AppError> {
        let username = username.trim();
        if username.is_empty() || password.is_empty() {
            return Err(AppError::new(
                Code::OfficerFieldsRequired,
                "empty username or password",
            ));
        }
        let (reply, answer) = oneshot::channel();
        self.send(SyncRequest::BindOfficer {
            username: username.to_owned(),
            password: password.to_owned(),
            reply,
        });
        wait_answer(answer).await?
    }

    /// Logs the officer out of this device: it pulls only its own people again.
    pub async fn unbind_officer(&self) -> Result<(), AppError> {
        let (reply, answer) = oneshot::channel();
        self.send(SyncRequest::UnbindOfficer { reply });
        wait_answer(answer).await?
    }

    /// Downloads a photo of a pulled record that is still on the server.
    pub async fn fetch_evidence_photo(&self, sha256: &str) -> Result<(), AppError> {
        let (reply, answer) = oneshot::channel();
        self.send(SyncRequest::FetchPhoto {
            sha256: sha256.to_owned(),
            reply,
        });
        wait_answer(answer).await?
    }

    fn send(&self, request: SyncRequest) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(request);
        self.request_ready.notify_one();
    }

    fn take_request(&self) -> Option<SyncRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

async fn wait_answer<T>(answer: oneshot::Receiver<T>) -> Result<T, AppError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err(AppError::new(
            Code::SyncUnavailable,
            "the sync loop dropped the request",
        )),
        Err(_) => Err(AppError::new(
            Code::SyncBusy,
            "the sync loop did not answer in time",
        )),
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
    /// Why the last round failed (`None` after a success).
    last_failure: Option<SyncErrorKind>,
    /// The probe interval while offline, before jitter ([`PROBE_EVERY`]).
    probe_every: Duration,
}

impl SyncLoop {
    /// Opens the engine on the app's data folder.
    pub fn open(
        data_dir: impl Into<PathBuf>,
        key: &DatabaseKey,
        config: ServerConfig,
        shared: Arc<SyncShared>,
    ) -> Result<Self, SyncError> {
        let engine = SyncEngine::open(data_dir.into(), key, config)?;
        let this = Self {
            engine,
            backoff: RetryBackoff::default(),
            shared,
            auth_refused: false,
            last_failure: None,
            probe_every: PROBE_EVERY,
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

    /// Replaces the offline probe interval (tests use a short one).
    #[must_use]
    pub fn with_probe_every(mut self, every: Duration) -> Self {
        self.probe_every = every;
        self
    }

    #[must_use]
    pub fn engine(&self) -> &SyncEngine {
        &self.engine
    }

    fn refresh_enrolment(&self) {
        let enrolment = self.engine.enrolment();
        let pending = pending_join(self.engine.store());
        self.shared.update(|s| {
            s.enrolled = enrolment.is_some();
            // The server a stored join waits for, else the enrolled one: the
            // sync screen names the address it cannot reach.
            s.server = pending
                .as_ref()
                .map(|p| p.server.clone())
                .or_else(|| enrolment.as_ref().map(|e| e.server.clone()));
            s.unit_code = enrolment.as_ref().map(|e| e.unit.as_str().to_owned());
            s.enrol_pending = pending.is_some();
            s.scope = enrolment
                .as_ref()
                .map_or(DeviceScope::OwnRecords, |e| e.scope);
            s.officer = enrolment.as_ref().and_then(|e| e.officer.clone());
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
                self.last_failure = None;
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
        self.last_failure = Some(err.kind());
        let view = SyncErrorView::from_error(err, now_ms());
        self.shared.update(|s| {
            s.last_error = Some(view.clone());
            s.rounds += 1;
        });
        emit(SyncEvent::Error(view.clone()));
        RoundOutcome::Failed(view)
    }

    /// Waits for the next round: a nudge, the backoff's delay when there is
    /// work to retry, or, while offline, the first probe the server answers
    /// ([`plan_wait`]). Requests from the commands (officer login, photo
    /// download) are carried out while waiting. Returns whether a nudge (or
    /// the network coming back) woke it.
    pub async fn wait(&mut self) -> bool {
        let plan = if self.has_work() {
            let delay = self.backoff.next_delay();
            plan_wait(
                true,
                self.engine.enrolment().is_some(),
                self.last_failure,
                delay,
                jittered(self.probe_every, clock_seed()),
            )
        } else {
            WaitPlan::UntilNudged
        };
        let started = Instant::now();
        let (deadline, probe_every) = match plan {
            WaitPlan::UntilNudged => (None, None),
            WaitPlan::Sleep(delay) => (Some(started + delay), None),
            WaitPlan::Probe { every, within } => (Some(started + within), Some(every)),
        };
        loop {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return false;
            }
            // The next moment to act: the deadline, or the next probe before it.
            let wake = match (deadline, probe_every) {
                (Some(d), Some(every)) => Some(d.min(now + every)),
                (d, _) => d,
            };
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.shared.nudge.notified() => {
                    self.backoff.connection_back();
                    let _ = self.backoff.next_delay();
                    return true;
                }
                () = self.shared.request_ready.notified() => {
                    if self.serve_requests().await {
                        return true;
                    }
                }
                () = sleep => {
                    if probe_every.is_some() && deadline.is_some_and(|d| Instant::now() < d)
                        && self.engine.probe().await.is_ok()
                    {
                        // The network is back: a fresh round at once.
                        self.backoff.connection_back();
                        let _ = self.backoff.next_delay();
                        return true;
                    }
                }
            }
        }
    }

    /// Carries out the queued requests; true when one wants a round at once
    /// (an officer just logged in: pull the unit's records now).
    async fn serve_requests(&mut self) -> bool {
        let mut round_now = false;
        while let Some(request) = self.shared.take_request() {
            match request {
                SyncRequest::BindOfficer {
                    username,
                    password,
                    reply,
                } => {
                    let result = self
                        .engine
                        .bind_officer(&username, &password)
                        .await
                        .map(|response| OfficerBinding {
                            username: response.username.unwrap_or(username),
                            scope: response.scope,
                        })
                        .map_err(|err| officer_error(&err));
                    round_now |= result.is_ok();
                    // The state is current before the command gets its answer.
                    self.refresh_enrolment();
                    let _ = reply.send(result);
                }
                SyncRequest::UnbindOfficer { reply } => {
                    let result = self
                        .engine
                        .unbind_officer()
                        .await
                        .map(|_| ())
                        .map_err(|err| officer_logout_error(&err));
                    // The state is current before the command gets its answer.
                    self.refresh_enrolment();
                    let _ = reply.send(result);
                }
                SyncRequest::FetchPhoto { sha256, reply } => {
                    let result = self
                        .engine
                        .fetch_evidence_photo(&sha256)
                        .await
                        .map(|_| ())
                        .map_err(|err| fetch_photo_error(&err));
                    // The state is current before the command gets its answer.
                    self.refresh_enrolment();
                    let _ = reply.send(result);
                }
            }
        }
        if round_now {
            self.auth_refused = false;
            self.backoff.connection_back();
            let _ = self.backoff.next_delay();
        }
        round_now
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
    key: DatabaseKey,
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
            runtime.block_on(run_sync_loop(data_dir, key, config, shared, emit));
        })
}

/// Runs the loop on `data_dir`; if the engine cannot open (the storage is
/// broken), reports it and tries again on each nudge or every minute.
pub async fn run_sync_loop(
    data_dir: PathBuf,
    key: DatabaseKey,
    config: ServerConfig,
    shared: Arc<SyncShared>,
    mut emit: impl FnMut(SyncEvent),
) {
    loop {
        match SyncLoop::open(data_dir.clone(), &key, config.clone(), Arc::clone(&shared)) {
            Ok(sync_loop) => return sync_loop.run(emit).await,
            Err(err) => {
                let view = SyncErrorView::from_error(&err, now_ms());
                shared.update(|s| s.last_error = Some(view.clone()));
                emit(SyncEvent::Error(view));
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(60)) => {}
                    () = shared.nudge.notified() => {}
                    () = shared.request_ready.notified() => {
                        // Without an engine nothing can be done: say so at once.
                        while let Some(request) = shared.take_request() {
                            let err = SyncErrorView::from_error(&err, now_ms());
                            let refused = AppError::new(
                                Code::SyncUnavailable,
                                err.detail,
                            );
                            match request {
                                SyncRequest::BindOfficer { reply, .. } => {
                                    let _ = reply.send(Err(refused));
                                }
                                SyncRequest::UnbindOfficer { reply }
                                | SyncRequest::FetchPhoto { reply, .. } => {
                                    let _ = reply.send(Err(refused));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
