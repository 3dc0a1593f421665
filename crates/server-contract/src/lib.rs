//! The storage contract (issue 15): one suite of scenarios that every
//! backend of the sync server's [`Storage`] must pass, SQLite in every
//! `cargo test`, PostgreSQL in `.ci/run`.
//!
//! Each scenario takes a [`Backend`], asks it for a fresh, empty storage and
//! tells a part of the story through the trait alone (no SQL): units,
//! enrolment, push, replay and conflicts, scoped pulls with paging, review,
//! recognition, duplicates, evidence uploads, catalogs, audit, the review
//! queue, certificates, decision lists, exemplary titles, settings and
//! counters. Records are built as a device builds them
//! (`cdht_test_support::records`) and prepared as the server's push handler
//! prepares them ([`prepare`]).
//!
//! A backend's test file runs them all, one `#[test]` each, named after
//! the scenario (`crates/server-sqlite/tests/storage_contract.rs`):
//!
//! ```ignore
//! struct Sqlite;
//! impl Backend for Sqlite {
//!     fn fresh(&self) -> Fresh {
//!         let dir = tempfile::tempdir().unwrap();
//!         let storage = SqliteStorage::open(dir.path()).unwrap();
//!         Fresh::new(Box::new(storage), Box::new(dir))
//!     }
//! }
//! contract_tests!(Sqlite);
//! ```
//!
//! The tests run in parallel, each on its own fresh storage; three of
//! them (`scenarios::races`) share one storage between threads.
// A scenario is a test: a broken step should panic with what it found.
#![allow(clippy::unwrap_used)]

pub mod fixture;
pub mod prepare;
pub mod scenarios;

/// The storage trait and its types, as the suite sees them.
pub use cdht_server_db as db;
use db::Storage;

/// A storage backend under test.
pub trait Backend {
    /// A new, empty storage (migrated, no units), and whatever must outlive
    /// it (a temporary directory, a database to drop).
    fn fresh(&self) -> Fresh;
}

/// A fresh storage and what keeps it alive.
pub struct Fresh {
    // Declared first: dropped before the guard it may live in.
    storage: Box<dyn Storage>,
    _guard: Box<dyn std::any::Any + Send + Sync>,
}

impl Fresh {
    /// `guard` is dropped after `storage` (a temporary directory holding
    /// its files, say).
    pub fn new(storage: Box<dyn Storage>, guard: Box<dyn std::any::Any + Send + Sync>) -> Self {
        Self {
            storage,
            _guard: guard,
        }
    }
}

impl std::ops::Deref for Fresh {
    type Target = dyn Storage;
    fn deref(&self) -> &Self::Target {
        self.storage.as_ref()
    }
}

/// Calls `$callback!($($args)*; scenario, scenario, …)` with every scenario
/// of [`scenarios`]: the one list that [`SCENARIOS`] and
/// [`contract_tests!`] are both made from.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_scenarios {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback!($($args)*;
            units_add_and_read,
            units_join_key,
            units_import_updates,
            enrol_new_and_again,
            enrol_stolen_id_gets_a_new_id,
            officers_login_and_sessions,
            bind_officer_sets_the_scope,
            push_applies_and_scores,
            push_replay_and_batch_conflicts,
            push_versions_follow_the_rules,
            push_refuses_records_of_other_units,
            push_keeps_rejected_records_out,
            push_locked_after_review,
            push_limits_one_cccd_per_device,
            persons_keep_cccd_and_household,
            pull_scopes,
            pull_pages_every_change_once,
            review_approve_and_return,
            recognition,
            recognised_elsewhere,
            audit_trail,
            review_queue_pages,
            duplicates_group_and_page,
            evidence_upload_progress,
            evidence_readers,
            catalogs_install_and_revision,
            announce_shipped_catalog,
            certificates_and_decision_list,
            exemplary_candidates_and_grant,
            report_facts_of_a_subtree,
            settings,
            deletes_before_review_only,
            concurrent_retries_apply_once,
            concurrent_reviews_one_wins,
            pull_while_pushing_misses_nothing,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_table {
    (; $($name:ident),* $(,)?) => {
        /// Every scenario by name, in story order.
        pub const SCENARIOS: &[(&str, fn(&dyn Backend))] =
            &[$((stringify!($name), scenarios::$name)),*];
    };
}

__with_scenarios!(__scenario_table!());

#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_tests {
    ($backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$name(&$backend);
            }
        )*
    };
}

/// One `#[test]` per scenario, named after it, each on a fresh storage of
/// `$backend` (an expression giving a [`Backend`], evaluated per test).
#[macro_export]
macro_rules! contract_tests {
    ($backend:expr) => {
        $crate::__with_scenarios!(__scenario_tests!($backend));
    };
}

/// Runs every scenario in turn, naming the one that fails.
pub fn run_all(backend: &dyn Backend) {
    for (name, scenario) in SCENARIOS {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(backend)));
        if let Err(panic) = outcome {
            eprintln!("storage contract: scenario `{name}` failed");
            std::panic::resume_unwind(panic);
        }
    }
}

#[cfg(test)]
mod tests {
    /// Each scenario is one test of a backend's run, named after it.
    #[test]
    fn scenario_names_are_unique() {
        let mut names: Vec<&str> = super::SCENARIOS.iter().map(|(n, _)| *n).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(count >= 34, "{count}");
    }
}
