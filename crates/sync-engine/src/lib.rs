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
//! The device token is kept in [`CREDENTIALS_FILE`] (0600) in the data folder,
//! because the store has no table for it.

mod credentials;
mod engine;
mod error;
mod retry;

pub use credentials::CREDENTIALS_FILE;
pub use engine::{
    Enrolment, RejectedItem, ServerConfig, SyncEngine, SyncPhase, SyncProgress, SyncReport,
};
pub use error::{SyncError, SyncErrorKind};
pub use retry::RetryBackoff;
