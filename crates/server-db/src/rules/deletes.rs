//! Deletes (docs/sync-protocol.md, "Deletes"): a tombstone before review,
//! and what a push naming a deleted record gets.

use super::{decide, Decision, Existing, Pushed};
use cdht_core::sync::ReviewState;
use cdht_core::Code;

/// What the server keeps of a deleted record: its tombstone's version and
/// hash.
#[derive(Debug, Clone, Copy)]
pub struct Deleted<'a> {
    pub version: u32,
    pub hash: &'a str,
}

/// A push naming a record the server deleted: a tombstone (this one again,
/// a replay in a new batch, or another device's delete of it) is
/// `AlreadyHad`, an older version `Superseded` (the device pulls the
/// tombstone), anything else `record_deleted`.
#[must_use]
pub fn decide_on_deleted(
    deleted: &Deleted<'_>,
    in_scope: bool,
    pushed: &Pushed<'_>,
    tombstone: bool,
) -> Decision {
    if !in_scope {
        return Decision::Reject {
            code: Code::OutOfScope,
        };
    }
    if tombstone || (pushed.version == deleted.version && pushed.hash == deleted.hash) {
        Decision::AlreadyHad
    } else if pushed.version < deleted.version {
        Decision::Superseded
    } else {
        Decision::Reject {
            code: Code::RecordDeleted,
        }
    }
}

/// A tombstone of a record the server holds (docs/sync-protocol.md,
/// "Deletes"): the version rules of [`decide`], then a delete is allowed
/// only before review (an assessment `draft` or `submitted`, never
/// returned, approved or recognised: `delete_after_review`) and, for a
/// person, once none of their assessments is left
/// (`person_has_assessments`). `Insert`: the server never had the record
/// (its only version was refused): accepted, and nothing to delete.
#[must_use]
pub fn decide_tombstone(
    existing: Option<&Existing<'_>>,
    in_scope: bool,
    pushed: &Pushed<'_>,
    live_assessments: bool,
) -> Decision {
    let pushed = Pushed {
        // A tombstone names no person or assessment: it keeps the stored one.
        link: existing.and_then(|e| e.link),
        ..pushed.clone()
    };
    match decide(existing, in_scope, &pushed) {
        Decision::Update
            if existing
                .and_then(|e| e.state)
                .is_some_and(|s| !matches!(s, ReviewState::Draft | ReviewState::Submitted)) =>
        {
            Decision::Reject {
                code: Code::DeleteAfterReview,
            }
        }
        // Approved or recognised: `decide` says locked; for a delete, the
        // delete's own reason.
        Decision::Reject {
            code: Code::LockedAfterReview,
        } => Decision::Reject {
            code: Code::DeleteAfterReview,
        },
        Decision::Update if live_assessments => Decision::Reject {
            code: Code::PersonHasAssessments,
        },
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rules::tests::{old, p};

    #[test]
    fn a_tombstone_only_before_review_and_a_deleted_id_stays_deleted() {
        let reject = |code| Decision::Reject { code };
        let tomb = p(3, "t3");
        for (state, expected) in [
            (Some(ReviewState::Draft), Decision::Update),
            (Some(ReviewState::Submitted), Decision::Update),
            (Some(ReviewState::Returned), reject(Code::DeleteAfterReview)),
            (Some(ReviewState::Approved), reject(Code::DeleteAfterReview)),
            (
                Some(ReviewState::Recognised),
                reject(Code::DeleteAfterReview),
            ),
        ] {
            assert_eq!(
                decide_tombstone(Some(&old(state)), true, &tomb, false),
                expected,
                "{state:?}"
            );
        }
        // A person: only once no assessment is left.
        assert_eq!(
            decide_tombstone(Some(&old(None)), true, &tomb, true),
            reject(Code::PersonHasAssessments)
        );
        // The version rules come first; the scope before everything.
        assert_eq!(
            decide_tombstone(Some(&old(None)), true, &p(2, "t2"), false),
            reject(Code::VersionConflict)
        );
        assert_eq!(
            decide_tombstone(Some(&old(None)), true, &p(1, "t1"), false),
            Decision::Superseded
        );
        assert_eq!(
            decide_tombstone(Some(&old(None)), false, &tomb, false),
            reject(Code::OutOfScope)
        );
        assert_eq!(decide_tombstone(None, true, &tomb, false), Decision::Insert);

        let deleted = Deleted {
            version: 3,
            hash: "t3",
        };
        assert_eq!(
            decide_on_deleted(&deleted, true, &tomb, true),
            Decision::AlreadyHad
        );
        // Another device's delete of it, at any version: deleted already.
        for other in [p(2, "t2"), p(4, "t4")] {
            assert_eq!(
                decide_on_deleted(&deleted, true, &other, true),
                Decision::AlreadyHad
            );
        }
        assert_eq!(
            decide_on_deleted(&deleted, true, &p(2, "h2"), false),
            Decision::Superseded
        );
        for late in [p(3, "h3"), p(4, "h4")] {
            assert_eq!(
                decide_on_deleted(&deleted, true, &late, false),
                reject(Code::RecordDeleted)
            );
        }
        assert_eq!(
            decide_on_deleted(&deleted, false, &tomb, true),
            reject(Code::OutOfScope)
        );
    }
}
