//! The scenarios, one file per part of the story; each takes a
//! [`Backend`](crate::Backend) and starts from a fresh storage.

mod catalogs;
mod deletes;
mod devices;
mod documents;
mod duplicates;
mod evidence;
mod persons;
mod pull;
mod push;
mod races;
mod reports;
mod review;
mod settings;
mod units;

pub use catalogs::{announce_shipped_catalog, catalogs_install_and_revision};
pub use deletes::deletes_before_review_only;
pub use devices::{
    bind_officer_sets_the_scope, enrol_new_and_again, enrol_stolen_id_gets_a_new_id,
    officers_login_and_sessions,
};
pub use documents::{
    certificates_and_decision_list, exemplary_candidates_and_grant, review_queue_pages,
};
pub use duplicates::duplicates_group_and_page;
pub use evidence::{evidence_readers, evidence_upload_progress};
pub use persons::persons_keep_cccd_and_household;
pub use pull::{pull_pages_every_change_once, pull_scopes};
pub use push::{
    push_applies_and_scores, push_keeps_rejected_records_out, push_limits_one_cccd_per_device,
    push_locked_after_review, push_refuses_records_of_other_units, push_replay_and_batch_conflicts,
    push_versions_follow_the_rules,
};
pub use races::{
    concurrent_retries_apply_once, concurrent_reviews_one_wins, pull_while_pushing_misses_nothing,
};
pub use reports::report_facts_of_a_subtree;
pub use review::{audit_trail, recognised_elsewhere, recognition, review_approve_and_return};
pub use settings::settings;
pub use units::{units_add_and_read, units_import_updates, units_join_key};
