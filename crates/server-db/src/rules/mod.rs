//! The sync rules, pure, so every storage backend applies the same ones:
//! which pushed version wins (docs/sync-protocol.md, "Versions and
//! conflicts") here; who may write a record (`scope`), the review steps
//! (`review`) and deletes (`deletes`) beside it.

use cdht_core::sync::ReviewState;
use cdht_core::Code;

mod deletes;
mod review;
mod scope;

pub use deletes::{decide_on_deleted, decide_tombstone, Deleted};
pub use review::{may_recognise, review_step, ReviewStep};
pub use scope::{may_write, ScopeLookup, WriteTarget};

/// What the server holds of a record that a device pushes again.
#[derive(Debug, Clone)]
pub struct Existing<'a> {
    pub version: u32,
    pub hash: &'a str,
    /// For a person: the hash of the record as devices pull it (no CCCD), so
    /// a device re-sending the very version it pulled is `AlreadyHad`.
    pub sent_hash: Option<&'a str>,
    /// For a person with a household label: the hash of the record as
    /// devices asking for the label pull it (with it, no CCCD).
    pub household_hash: Option<&'a str>,
    /// The unit that owns the record (its first pusher's unit).
    pub unit: &'a str,
    /// For assessments: the server's review state.
    pub state: Option<ReviewState>,
    /// What the record hangs on: an assessment's person, an evidence's
    /// assessment (`None` for a person). An edit may never change it.
    pub link: Option<&'a str>,
}

/// What a device pushes of one record.
#[derive(Debug, Clone)]
pub struct Pushed<'a> {
    pub version: u32,
    /// The hash as the server stores it (for a person, keyed under the
    /// server secret, since the pushed body holds the CCCD).
    pub hash: &'a str,
    /// The hash as the device sent it, compared with [`Existing::sent_hash`].
    pub wire_hash: &'a str,
    /// The pushed body's link (see [`Existing::link`]).
    pub link: Option<&'a str>,
    /// For evidence: the server's review state of the assessment it belongs
    /// to (the stored one), when the server has it. Evidence of an assessment
    /// past `submitted` is frozen like its answers.
    pub parent_state: Option<ReviewState>,
}

/// The most person records one device may hold with the same keyed CCCD: a
/// person registered twice by mistake is flagged, but one phone cannot grow
/// a duplicate group without bound.
pub const MAX_SAME_CCCD_PER_DEVICE: u64 = 3;

/// Whether a device may write a person with a CCCD it already gave to
/// `others` of its other person records.
#[must_use]
pub fn same_cccd(others: u64) -> Option<Decision> {
    (others >= MAX_SAME_CCCD_PER_DEVICE).then_some(Decision::Reject {
        code: Code::DuplicateLimit {
            max: MAX_SAME_CCCD_PER_DEVICE as u32,
        },
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Insert,
    Update,
    AlreadyHad,
    Superseded,
    Reject { code: Code },
}

const LOCKED: Decision = Decision::Reject {
    code: Code::LockedAfterReview,
};

/// Decides one record, given what the server has and whether the pushing
/// device's scope covers it. The scope is judged on the *stored* record when
/// there is one (rule 2: its owning unit inside the device's subtree for a
/// collector device; its stored person one of the people the device pushed
/// for an `own_records` device), never on what the pushed body claims; for a
/// new record, on its person, if the server knows them.
#[must_use]
pub fn decide(existing: Option<&Existing<'_>>, in_scope: bool, pushed: &Pushed<'_>) -> Decision {
    if !in_scope {
        return Decision::Reject {
            code: Code::OutOfScope,
        };
    }
    let version = pushed.version;
    let parent_locked = pushed.parent_state.is_some_and(|s| !s.device_may_edit());
    let Some(old) = existing else {
        return if parent_locked {
            LOCKED
        } else {
            Decision::Insert
        };
    };
    if version == old.version {
        return if pushed.hash == old.hash
            || old.sent_hash == Some(pushed.wire_hash)
            || old.household_hash == Some(pushed.wire_hash)
        {
            Decision::AlreadyHad
        } else {
            Decision::Reject {
                code: Code::VersionConflict,
            }
        };
    }
    if version < old.version {
        return Decision::Superseded;
    }
    // Re-pointing an assessment at another person (or a photo at another
    // assessment) would move it out of its owner's hands.
    if old.link != pushed.link {
        return Decision::Reject {
            code: Code::RecordReassigned,
        };
    }
    if parent_locked || old.state.is_some_and(|s| !s.device_may_edit()) {
        return LOCKED;
    }
    Decision::Update
}

/// A record's ack before any rule has spoken: accepted, at the version and
/// kind pushed.
#[must_use]
pub fn accepted_ack(envelope: &cdht_core::sync::RecordEnvelope) -> cdht_core::sync::RecordAck {
    cdht_core::sync::RecordAck {
        id: envelope.body.id(),
        kind: envelope.body.kind(),
        version: envelope.version,
        outcome: cdht_core::sync::AckOutcome::Accepted,
        code: None,
        message: None,
        score: None,
    }
}

/// A catalog replaces the installed one of its id only at a higher
/// revision: a corrected file must say it is newer.
pub fn may_install_catalog(
    id: &str,
    revision: u32,
    installed: Option<u32>,
) -> Result<(), crate::StorageError> {
    match installed {
        Some(installed) if revision <= installed => Err(crate::StorageError::refused_saying(
            crate::Refusal::Conflict,
            Code::StaleRevision {
                catalog: id.to_owned(),
                revision,
                installed,
            },
            format!(
                "catalog {id} revision {revision} is not above the installed revision \
                 {installed}; give the corrected file a higher \"revision\""
            ),
        )),
        _ => Ok(()),
    }
}

/// Compares secrets (join keys, tokens) without an early exit, so timing
/// does not leak how much of a guess was right.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An ack refused with `code`; its message is the code's Vietnamese
/// fallback, for old apps.
#[must_use]
pub fn refused_ack(mut ack: cdht_core::sync::RecordAck, code: &Code) -> cdht_core::sync::RecordAck {
    ack.outcome = cdht_core::sync::AckOutcome::Rejected;
    ack.code = Some(code.as_str().to_owned());
    ack.message = Some(code.fallback_vi());
    ack
}

/// An ack as `decision` answers it (`Insert` and `Update` leave it accepted).
#[must_use]
pub fn decided_ack(
    mut ack: cdht_core::sync::RecordAck,
    decision: Decision,
) -> cdht_core::sync::RecordAck {
    use cdht_core::sync::AckOutcome;
    match decision {
        Decision::AlreadyHad => ack.outcome = AckOutcome::AlreadyHad,
        Decision::Superseded => ack.outcome = AckOutcome::Superseded,
        Decision::Reject { code } => return refused_ack(ack, &code),
        Decision::Insert | Decision::Update => {}
    }
    ack
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use super::*;

    pub(super) fn old(state: Option<ReviewState>) -> Existing<'static> {
        Existing {
            version: 2,
            hash: "h2",
            sent_hash: Some("s2"),
            household_hash: Some("l2"),
            unit: "U",
            state,
            link: Some("P"),
        }
    }

    pub(super) fn p(version: u32, hash: &str) -> Pushed<'_> {
        Pushed {
            version,
            hash,
            wire_hash: hash,
            link: Some("P"),
            parent_state: None,
        }
    }

    #[test]
    fn the_rule_table() {
        assert_eq!(decide(None, true, &p(1, "h")), Decision::Insert);
        assert!(matches!(
            decide(None, false, &p(1, "h")),
            Decision::Reject {
                code: Code::OutOfScope
            }
        ));
        let o = old(Some(ReviewState::Submitted));
        assert_eq!(decide(Some(&o), true, &p(2, "h2")), Decision::AlreadyHad);
        assert_eq!(decide(Some(&o), true, &p(2, "s2")), Decision::AlreadyHad);
        assert!(matches!(
            decide(Some(&o), true, &p(2, "other")),
            Decision::Reject {
                code: Code::VersionConflict
            }
        ));
        assert_eq!(decide(Some(&o), true, &p(1, "h1")), Decision::Superseded);
        assert_eq!(decide(Some(&o), true, &p(3, "h3")), Decision::Update);
        assert!(matches!(
            decide(Some(&o), false, &p(3, "h3")),
            Decision::Reject {
                code: Code::OutOfScope
            }
        ));
        for locked in [ReviewState::Approved, ReviewState::Recognised] {
            assert!(matches!(
                decide(Some(&old(Some(locked))), true, &p(3, "h3")),
                Decision::Reject {
                    code: Code::LockedAfterReview
                }
            ));
        }
        assert_eq!(
            decide(Some(&old(Some(ReviewState::Returned))), true, &p(3, "h3")),
            Decision::Update
        );
    }

    #[test]
    fn a_device_holds_few_persons_with_one_cccd() {
        assert_eq!(same_cccd(0), None);
        assert_eq!(same_cccd(MAX_SAME_CCCD_PER_DEVICE - 1), None);
        assert!(matches!(
            same_cccd(MAX_SAME_CCCD_PER_DEVICE),
            Some(Decision::Reject {
                code: Code::DuplicateLimit { .. }
            })
        ));
    }

    #[test]
    fn an_edit_never_moves_a_record_and_evidence_freezes_with_its_assessment() {
        let o = old(Some(ReviewState::Draft));
        let moved = Pushed {
            link: Some("Q"),
            ..p(3, "h3")
        };
        assert!(matches!(
            decide(Some(&o), true, &moved),
            Decision::Reject {
                code: Code::RecordReassigned
            }
        ));
        for (parent, locked) in [
            (ReviewState::Submitted, false),
            (ReviewState::Returned, false),
            (ReviewState::Approved, true),
            (ReviewState::Recognised, true),
        ] {
            let pushed = Pushed {
                parent_state: Some(parent),
                ..p(3, "h3")
            };
            for existing in [None, Some(&old(None))] {
                let d = decide(existing, true, &pushed);
                assert_eq!(
                    matches!(
                        d,
                        Decision::Reject {
                            code: Code::LockedAfterReview
                        }
                    ),
                    locked,
                    "{parent:?} {d:?}"
                );
            }
        }
    }
}
