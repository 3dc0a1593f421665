//! The device's sync decisions, as pure functions (docs/sync-protocol.md,
//! "Push" and "Editing a pulled record"): the store reads the facts about a
//! record, asks here what to do, and executes the answer in its transaction
//! (one per pulled page, one per push batch), so the rules can be tested
//! without a database (`crates/sync-engine/tests/merge_props.rs`).
//!
//! Pull: [`plan_pull`]. Push: [`plan_profile`], [`plan_submission`],
//! [`plan_freeze`] and [`plan_ack`]. Deletes: [`plan_delete`] and
//! [`plan_delete_ack`].

use crate::assessment::Answers;
use crate::code::Code;
use crate::sync::{AckOutcome, RecordBody, RecordEnvelope, RecordKind, ReviewState};

/// What the device holds of a record a pulled version of it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldRecord {
    /// The version last pushed or pulled (`sync_version`).
    pub sync_version: u32,
    /// An outbox row of the record is pending or sent: the server has not
    /// answered this device's edit yet.
    pub unacked_push: bool,
    /// Versions of the record whose push the server refused and whose
    /// winner was not pulled yet.
    pub unsettled_refusals: Vec<u32>,
    /// The person edited the record here since it was last queued or pulled
    /// (`revision <> synced_revision`).
    pub edited_since_sync: bool,
    /// An assessment's answers as held here (empty for other kinds).
    pub answers: Answers,
}

/// The facts [`plan_pull`] decides on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullFacts {
    /// The record as held here; `None` when the device does not have it.
    pub held: Option<HeldRecord>,
    /// The record it hangs from is held: the person of an assessment, the
    /// assessment of an evidence record (always true for a person).
    pub parent_held: bool,
}

/// Why a pulled record changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullSkip {
    /// Version 0 names no version of anything.
    NoVersion,
    /// Not above the version held (and not the winner of a refusal).
    NotNewer,
    /// The person (or assessment) it belongs to is not on this device:
    /// records come parents first, so it was never for this device.
    ParentNotHeld,
    /// An evidence record has one version: a photo never changes.
    EvidenceUnchanging,
    /// A tombstone of a record this device never had: nothing to delete.
    NotHeld,
}

/// What to do with a pulled record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullOp {
    Skip(PullSkip),
    /// This device's own edit of the record is on its way: its push goes
    /// first and the server's answer decides. The page stops here (the
    /// cursor stays before this change), so the next round, which pushes
    /// first, pulls this change again: skipped instead, a refusal's winner or
    /// the version that superseded the push would never come back.
    Defer,
    /// Store it, unknown here, at the pulled version. An evidence record is
    /// stored without its photo, fetched only when somebody opens it.
    Insert,
    /// Replace the local copy with the pulled version (`sync_version` = the
    /// pulled one, nothing queued) and settle the record's refusals.
    Replace(Replace),
    /// A tombstone: the record was deleted on the server (entered by
    /// mistake, before review). Remove the local copy for good: an
    /// assessment with its answers and photos; a person only once none of
    /// its assessments is left here ([`person_removable`]).
    Remove,
}

/// The details of [`PullOp::Replace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replace {
    /// Keep the local answers for the person to see first
    /// (`replaced_answers`): edited here and never accepted, and different.
    pub keep_local_answers: bool,
    /// A person pulled without `keep_cccd`: the server holds no CCCD any
    /// more (consent withdrawn elsewhere), so the local one goes too.
    pub erase_local_cccd: bool,
    /// A person pulled without a household label keeps the local one.
    pub keep_household_label: bool,
}

/// Whether a pulled `version` is news for a record held at `held`: higher,
/// or the same version whose push from here was refused (the other
/// device's edit of it won).
#[must_use]
pub fn is_newer(version: u32, held: &HeldRecord) -> bool {
    version > held.sync_version
        || (version == held.sync_version && held.unsettled_refusals.contains(&version))
}

/// Decides what a pulled `record` change does on this device.
#[must_use]
pub fn plan_pull(facts: &PullFacts, incoming: &RecordEnvelope) -> PullOp {
    let version = incoming.version;
    if version == 0 {
        return PullOp::Skip(PullSkip::NoVersion);
    }
    if !facts.parent_held && incoming.body.kind() != RecordKind::Person {
        return PullOp::Skip(PullSkip::ParentNotHeld);
    }
    let Some(held) = &facts.held else {
        return if incoming.body.is_tombstone() {
            PullOp::Skip(PullSkip::NotHeld)
        } else {
            PullOp::Insert
        };
    };
    match &incoming.body {
        RecordBody::Evidence(_) => PullOp::Skip(PullSkip::EvidenceUnchanging),
        _ if !is_newer(version, held) => PullOp::Skip(PullSkip::NotNewer),
        _ if held.unacked_push => PullOp::Defer,
        RecordBody::Tombstone(_) => PullOp::Remove,
        RecordBody::Person(person) => PullOp::Replace(Replace {
            keep_local_answers: false,
            erase_local_cccd: !person.keep_cccd,
            keep_household_label: person.household.is_none(),
        }),
        RecordBody::Assessment(assessment) => PullOp::Replace(Replace {
            keep_local_answers: keep_local_answers(held, &assessment.answers),
            erase_local_cccd: false,
            keep_household_label: true,
        }),
    }
}

/// The first edit to reach the server wins, but a person's answers are not
/// lost silently: answers edited here and never sent (or whose push was
/// refused) that differ from the pulled ones are kept first.
fn keep_local_answers(held: &HeldRecord, pulled: &Answers) -> bool {
    let unsent = held.edited_since_sync || !held.unsettled_refusals.is_empty();
    unsent && !held.answers.0.is_empty() && !same_answers(&held.answers, pulled)
}

/// The same answer to every indicator, in any order.
#[must_use]
pub fn same_answers(a: &Answers, b: &Answers) -> bool {
    a.0.len() == b.0.len() && a.0.iter().all(|(i, x)| b.get(i.as_str()) == Some(x))
}

/// The version a record's next push carries: one above the last pushed or
/// pulled. `None` past `u32::MAX` (never in practice; an error for the store).
#[must_use]
pub fn next_version(sync_version: u32) -> Option<u32> {
    sync_version.checked_add(1)
}

/// Whether a person's profile is queued now, and as which version: when it
/// was edited since last queued or pulled. `server_holds_only`: only
/// profiles the server already holds (`sync_version > 0`), as when a batch
/// is frozen; people the server never had go with their first submission.
#[must_use]
pub fn plan_profile(
    edited_since_sync: bool,
    sync_version: u32,
    server_holds_only: bool,
) -> Option<u32> {
    if !edited_since_sync || (server_holds_only && sync_version == 0) {
        return None;
    }
    next_version(sync_version)
}

/// What a submission queues, in an order whose references resolve on the
/// server: the profile (if edited), the assessment, then its new evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionPlan {
    pub profile_version: Option<u32>,
    pub assessment_version: u32,
}

/// A submission: the assessment always goes as a new version.
#[must_use]
pub fn plan_submission(
    profile_edited: bool,
    profile_version: u32,
    assessment_version: u32,
) -> Option<SubmissionPlan> {
    Some(SubmissionPlan {
        profile_version: plan_profile(profile_edited, profile_version, false),
        assessment_version: next_version(assessment_version)?,
    })
}

/// Whether an evidence record of a submitted assessment is queued: once
/// (version 1, a photo never changes), and never when it was pulled (the
/// server has it).
#[must_use]
pub const fn queue_evidence(already_queued: bool, pulled: bool) -> bool {
    !already_queued && !pulled
}

/// What the outbox sends next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezeOp {
    /// The open batch, exactly as it was frozen: a retry resends it unchanged.
    Resend,
    /// Freeze a new batch of the first `records` pending rows, oldest first,
    /// under the next push sequence number.
    Freeze { records: usize },
    /// Nothing waits.
    Idle,
}

/// Decides the next batch: the open one if any, else up to `max_records`
/// (clamped to 1..=200) of the `pending` rows not in a batch.
#[must_use]
pub fn plan_freeze(open_batch: bool, pending: usize, max_records: usize) -> FreezeOp {
    if open_batch {
        return FreezeOp::Resend;
    }
    let limit = max_records.clamp(1, super::MAX_RECORDS_PER_BATCH);
    match pending.min(limit) {
        0 => FreezeOp::Idle,
        records => FreezeOp::Freeze { records },
    }
}

/// What the device holds of an acked assessment (all false for the other
/// kinds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckFacts {
    /// Still at the acked version: not replaced by a pulled one since.
    pub at_version: bool,
    /// And submitted (not returned, reviewed or edited since).
    pub submitted: bool,
}

/// What one record's ack does to its outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOp {
    /// Counts as sent (accepted, already had, superseded); an assessment's
    /// score from the server is cached. `unsent`: superseded while still
    /// held at that version: the server holds a newer version and never
    /// took these answers, so they count as edited here and not sent, and
    /// are kept when the newer version is pulled.
    Acknowledge { unsent: bool },
    /// Refused: the row is parked with the reason; `return_assessment`: an
    /// assessment still submitted at that version goes back to its person,
    /// editable, with the reason.
    Park { return_assessment: bool },
}

/// Decides what an ack does.
#[must_use]
pub fn plan_ack(outcome: AckOutcome, held: AckFacts) -> AckOp {
    match outcome {
        AckOutcome::Rejected => AckOp::Park {
            return_assessment: held.at_version && held.submitted,
        },
        AckOutcome::Accepted | AckOutcome::AlreadyHad => AckOp::Acknowledge { unsent: false },
        AckOutcome::Superseded => AckOp::Acknowledge {
            unsent: held.at_version,
        },
    }
}

/// Whether a person a pulled tombstone deletes goes now: only when none of
/// its assessments is left on this device (the server deletes a person only
/// once its assessments are deleted, and their tombstones come first; an
/// assessment never sent from here keeps its person, and its push is then
/// refused with `record_deleted`).
#[must_use]
pub const fn person_removable(assessments_held: bool) -> bool {
    !assessments_held
}

/// What the device knows of a record its person wants to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteFacts {
    /// The version last pushed or pulled (`sync_version`): 0 when the
    /// record never left this device and the server never had it.
    pub sync_version: u32,
    /// An assessment's state as known here (`None` for a person).
    pub state: Option<ReviewState>,
    /// For a person: an assessment of theirs is held here and not deleted.
    pub live_assessments: bool,
    /// A delete of this record is already on its way.
    pub deleting: bool,
}

/// What a delete does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOp {
    /// The server never had it: removed here at once, nothing is sent.
    Local,
    /// Hidden from every list at once, and a tombstone of `version` queued;
    /// removed for good when the server acknowledges it, shown again with
    /// the reason if the server refuses it.
    Send { version: u32 },
    /// Not allowed: the reason, as a code.
    Refuse(Code),
}

/// May the device delete this record now, and how (docs/sync-protocol.md,
/// "Deletes")? Only a record entered by mistake, before review: an
/// assessment still a draft or submitted (never returned, approved or
/// recognised as far as this device knows), a person with no assessment
/// left. The server checks again and has the last word.
#[must_use]
pub fn plan_delete(facts: &DeleteFacts) -> DeleteOp {
    if facts.deleting {
        return DeleteOp::Refuse(Code::RecordDeleted);
    }
    if facts
        .state
        .is_some_and(|s| !matches!(s, ReviewState::Draft | ReviewState::Submitted))
    {
        return DeleteOp::Refuse(Code::DeleteAfterReview);
    }
    if facts.live_assessments {
        return DeleteOp::Refuse(Code::PersonHasAssessments);
    }
    if facts.sync_version == 0 {
        return DeleteOp::Local;
    }
    next_version(facts.sync_version).map_or(DeleteOp::Refuse(Code::RecordDeleted), |version| {
        DeleteOp::Send { version }
    })
}

/// What the server's answer to a tombstone does on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteAckOp {
    /// Accepted, or already had: the record goes for good.
    Remove,
    /// Refused (reviewed meanwhile, edited elsewhere), or superseded by a
    /// newer version the device will pull: the record shows again; a
    /// refusal is parked with its reason.
    Restore,
}

/// Decides what a tombstone's ack does.
#[must_use]
pub const fn plan_delete_ack(outcome: AckOutcome) -> DeleteAckOp {
    match outcome {
        AckOutcome::Accepted | AckOutcome::AlreadyHad => DeleteAckOp::Remove,
        AckOutcome::Superseded | AckOutcome::Rejected => DeleteAckOp::Restore,
    }
}
