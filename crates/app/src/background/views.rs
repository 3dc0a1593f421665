//! What the loop reports: the events the window gets and the state the sync
//! screen shows.

use cdht_core::sync::DeviceScope;
use cdht_core::Code;
use cdht_sync_engine::{SyncError, SyncErrorKind, SyncProgress, SyncReport};
use serde::Serialize;

/// What the loop tells the window (the Tauri shell emits each as an event:
/// `sync-progress`, `sync-done`, `sync-error`, `sync-enrolled`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
#[cfg_attr(test, derive(ts_rs::TS))]
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
    pub(super) fn from_report(report: &SyncReport, at_ms: i64) -> Self {
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
/// the chosen language), and words `error` (a server's refusal, with its
/// code) from its catalogs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncErrorView {
    pub kind: SyncErrorKind,
    pub code: Option<String>,
    pub error: Code,
    pub detail: String,
    pub at_ms: i64,
}

impl SyncErrorView {
    pub(super) fn from_error(err: &SyncError, at_ms: i64) -> Self {
        Self {
            kind: err.kind(),
            code: err.code().map(str::to_owned),
            error: err.as_code(),
            detail: err.to_string(),
            at_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EnrolledView {
    pub server: String,
    pub unit_code: String,
    pub unit_name: String,
}

/// What the sync area shows: the latest of everything the loop saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncState {
    /// The device holds a token for a server.
    pub enrolled: bool,
    /// The server a stored join waits for, else the one enrolled with.
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
    /// What the device pulls: `unit_records` while an officer is logged in on it.
    pub scope: DeviceScope,
    /// The officer logged in on this device, if any.
    pub officer: Option<String>,
}

/// An officer now logged in on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OfficerBinding {
    pub username: String,
    pub scope: DeviceScope,
}
