//! One sync round of a CDHT device, over the local store (`cdht-store`) and
//! the protocol client (`cdht-sync-client`); see `docs/sync-protocol.md`.
//!
//! The app owns the loop (a background task driven by a timer and by "the
//! connection is back", see [`RetryBackoff`]) and calls
//! [`SyncEngine::sync_once`], which does, in order:
//! 1. a quick store self-check (repairs what a kill left behind);
//! 2. push before pull: the open frozen batch (or a new one), pushed and its
//!    answer applied, until the outbox is empty; rejected records are parked
//!    in the store with their reason and never block the rest;
//! 3. photo uploads: the server is asked what it holds, each photo resumes
//!    from the acknowledged offset, progress is recorded after every chunk;
//! 4. pull of every page for the device's unit, applied page by page.
//!
//! Killing the process at any point loses at most one chunk of one photo.
//!
//! The device token, scope and bound officer are kept in the store
//! (`Store::sync_credentials`); an old [`CREDENTIALS_FILE`] is moved there once.
//!
//! Officers: [`SyncEngine::bind_officer`] turns the device into a collector
//! device (it pulls every record of its unit; photos of pulled records are
//! fetched on demand with [`SyncEngine::fetch_evidence_photo`]);
//! [`SyncEngine::unbind_officer`] ends it. Photos the server refuses (`422`)
//! are parked (`Store::parked_uploads`) instead of being re-sent every round.
//! While offline, [`SyncEngine::probe`] is a cheap "is the server back?".
//!
//! # Wiring it into the app
//! ```text
//! // once, on a background tokio task (its own store connection; WAL lets the UI keep its own):
//! let mut engine = SyncEngine::open(&data_dir, &database_key, ServerConfig::default())?;
//! // join screen (scanned QR text, or JoinPayload::from_typed(server, unit, key) + engine.enrol):
//! let unit = engine.enrol_from_qr(&qr_text).await?;            // Err(e): show e.as_code()
//! // the loop:
//! let mut backoff = RetryBackoff::default();
//! loop {
//!     tokio::select! {
//!         _ = tokio::time::sleep(backoff.next_delay()) => {}
//!         _ = nudges.recv() => backoff.connection_back(),     // OS "network is back", or "Sync now"
//!     }
//!     match engine.sync_once(|p| emit("sync-progress", p)).await {
//!         Ok(report) => { backoff.record_success(); emit("sync-done", report) }
//!         Err(e) => { backoff.record_failure(&e); emit("sync-error", (e.kind(), e.as_code())) }
//!     }
//! }
//! ```
//! `SyncErrorKind::AuthExpired` → show the join screen again (the data stays);
//! `Offline`/`RetryLater` → a quiet "waiting for network" note;
//! `CertificateUntrusted` → tell the officer the server's certificate is wrong;
//! rejected records → `SyncEngine::parked` lists them with their reasons.

mod credentials;
mod engine;
mod error;
mod retry;
mod uploads;

pub use cdht_sync_client::Params;
pub use credentials::CREDENTIALS_FILE;
pub use engine::{
    Enrolment, RejectedItem, ServerConfig, SyncEngine, SyncPhase, SyncProgress, SyncReport,
};
pub use error::{SyncError, SyncErrorKind};
pub use retry::RetryBackoff;
