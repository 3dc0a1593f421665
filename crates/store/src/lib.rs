//! The CDHT app's local database: joined units, people, assessments and their
//! answers, evidence photos, and the sync outbox, in one SQLite file.
//!
//! Every user-level action is one transaction: when a method returns `Ok`, the
//! change is committed and survives the app being killed.
//!
//! # Durability choice
//! The database runs in WAL mode with `synchronous=NORMAL`. A commit appends to
//! the WAL through the OS, so killing the process (SIGKILL, Android's low-memory
//! killer, a crash) loses nothing that was committed: the OS still holds and
//! writes those pages. Only an OS crash or power loss can roll back the last few
//! commits, and the database stays consistent when it does. `FULL` would add one
//! fsync per autosave, which costs 5–30 ms on the cheap flash of low-end phones.
//! Submitting, the one step a person may walk away after, runs with
//! `synchronous=FULL` so that it also survives power loss. Photo files are
//! fsynced (file and directory) before their row is written.
//!
//! # Pulled records
//! A collector device (an officer bound to it) pulls the records other devices
//! pushed ([`Store::apply_pull`]): they are listed under the joined unit, keep
//! the server's version so a local edit pushes version + 1, never carry the
//! CCCD ([`Person::server_has_cccd`] says the server holds one), and their
//! photos stay on the server until fetched ([`Evidence::on_device`],
//! [`Store::save_fetched_evidence`]).
//!
//! # Personal data (Decree 13/2023)
//! A person is kept with a birth year, not a birth date. The 12-digit CCCD is
//! stored only with recorded consent; [`Person`] carries only its masked form and
//! [`Store::person_cccd`] reads the number where the job needs it.
//!
//! # Encryption at rest
//! The database file (and its WAL) is encrypted with SQLCipher under a random
//! 256-bit key ([`DatabaseKey`]) kept by the platform, or in a key file where
//! there is no secret store ([`load_or_create_key`], [`KeyFile`]). A plain
//! database from an earlier version is encrypted on its first open
//! ([`Store::open`]); evidence photos are separate files and are not encrypted.

// Layers, each importing only those below it (`tests/import_graph.rs`):
// helpers (error, model, sql, fold, cccd, files, key, migrate, encrypt);
// row mapping per table (rows); what the outbox queues (queue) and how a
// pulled record is applied (pull); the actions, `impl Store` (store and the
// rest). This file only declares and re-exports.
mod assessments;
mod cccd;
mod check;
mod deletes;
mod device;
mod encrypt;
mod error;
mod evidence;
mod files;
mod fold;
mod key;
mod migrate;
mod model;
mod people;
mod pull;
mod pull_page;
mod queue;
mod rows;
mod sql;
mod store;
mod sync;
mod units;
mod uploads;

pub use cccd::{mask_cccd, normalize_cccd};
pub use encrypt::{open_connection, ENCRYPTING_SUFFIX};
pub use error::{ErrorKind, Result, StoreError};
pub use files::{DB_FILE_NAME, EVIDENCE_DIR};
pub use fold::{escape_like, fold_name};
pub use key::{
    load_or_create_key, ChosenKey, DatabaseFile, DatabaseKey, KeyFile, KeyStore, KeyStoreError,
    KEY_FILE_NAME,
};
pub use migrate::{latest_version, APPLICATION_ID};
pub use model::*;
pub use store::Store;
