//! The sync conflict rules, pure, so every storage backend applies the same
//! ones (docs/sync-protocol.md, "Versions and conflicts").

use cdht_core::sync::ReviewState;
use cdht_core::Code;

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

/// What the write-scope rule ([`may_write`]) asks the database, each
/// answered inside the push's transaction (and from what the batch wrote so
/// far, which the database may not show yet).
pub trait ScopeLookup {
    /// Whether `unit` is `root` or a unit below it.
    fn in_subtree(&self, root: &str, unit: &str) -> crate::StorageResult<bool>;
    /// Whether the pushing device wrote this person (its own people).
    fn is_own_person(&self, person: &str) -> crate::StorageResult<bool>;
    /// The device that sent the stored evidence record `id`.
    fn evidence_pusher(&self, id: &str) -> crate::StorageResult<Option<String>>;
    /// The unit of a person the server has.
    fn person_unit(&self, person: &str) -> crate::StorageResult<Option<String>>;
}

/// The record a device pushes, as the write-scope rule judges it.
#[derive(Debug, Clone, Copy)]
pub struct WriteTarget<'a> {
    pub id: &'a str,
    /// The unit owning the stored record; `None` for a new record.
    pub owner: Option<&'a str>,
    /// The person it is about: for a stored record, its *stored* person.
    pub subject: Option<&'a str>,
    /// A person the server does not have yet (its own subject).
    pub new_person: bool,
}

/// Push rule 2: may this device write `target`? Judged on what is stored,
/// never on what the pushed body claims: a stored record by its owning unit
/// (inside a collector device's subtree) or its stored person (one of an
/// `own_records` device's own people); a new record by its person, when the
/// server knows them, so nobody attaches a record to somebody else's person.
pub fn may_write(
    device: &crate::DeviceRef,
    device_id: &str,
    target: &WriteTarget<'_>,
    db: &impl ScopeLookup,
) -> crate::StorageResult<bool> {
    use cdht_core::sync::DeviceScope;
    let unit = device.unit.as_str();
    match target.owner {
        Some(owner) => match (device.scope, target.subject) {
            (DeviceScope::UnitRecords, _) => db.in_subtree(unit, owner),
            (DeviceScope::OwnRecords, Some(person)) => db.is_own_person(person),
            // An evidence record whose assessment the server never got: only
            // the phone that sent it.
            (DeviceScope::OwnRecords, None) => Ok(owner == unit
                && db
                    .evidence_pusher(target.id)?
                    .is_some_and(|pusher| pusher == device_id)),
        },
        None => {
            let Some(person) = target.subject.filter(|_| !target.new_person) else {
                return Ok(true);
            };
            let Some(person_unit) = db.person_unit(person)? else {
                return Ok(true);
            };
            match device.scope {
                DeviceScope::UnitRecords => db.in_subtree(unit, &person_unit),
                DeviceScope::OwnRecords => db.is_own_person(person),
            }
        }
    }
}

/// What a review decision does to an assessment: its new state, the reason
/// kept with it and the audit log's word for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewStep<'a> {
    pub to: ReviewState,
    pub reason: Option<&'a str>,
    pub audit: &'static str,
}

/// The review transition table. A reviewer acts only from the state they
/// saw: whoever acts second on an assessment finds it moved on and is
/// refused (`wrong_state`), nothing overwritten. Approve: `submitted` →
/// `approved`; return: `submitted` or `approved` (an approval withdrawn
/// before recognition) → `returned`.
pub fn review_step(now: ReviewState, action: &crate::ReviewAction) -> Result<ReviewStep<'_>, Code> {
    let (to, reason, seen, audit) = match action {
        crate::ReviewAction::Approve => (
            ReviewState::Approved,
            None,
            ReviewState::Submitted,
            "approve",
        ),
        crate::ReviewAction::Return { reason, from } => (
            ReviewState::Returned,
            Some(reason.as_str()),
            *from,
            "return",
        ),
    };
    if now == seen && matches!(now, ReviewState::Submitted | ReviewState::Approved) {
        Ok(ReviewStep { to, reason, audit })
    } else {
        Err(Code::WrongState {
            state: now.as_str().to_owned(),
            to: Some(to.as_str().to_owned()),
        })
    }
}

/// Whether an assessment in state `now` may be recognised: only once
/// approved, and a person is counted once a year, so not when another
/// assessment of the same person (same keyed CCCD) that year already is.
pub fn may_recognise(now: ReviewState, recognised_elsewhere: bool) -> Result<(), Code> {
    if now != ReviewState::Approved {
        return Err(Code::WrongState {
            state: now.as_str().to_owned(),
            to: None,
        });
    }
    if recognised_elsewhere {
        return Err(Code::AlreadyRecognisedElsewhere);
    }
    Ok(())
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

    fn old(state: Option<ReviewState>) -> Existing<'static> {
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

    fn p(version: u32, hash: &str) -> Pushed<'_> {
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
    fn reviewers_act_only_from_the_state_they_saw() {
        use crate::ReviewAction::{Approve, Return};
        use ReviewState::*;
        let back = |from| Return {
            reason: "thiếu ảnh".into(),
            from,
        };
        assert_eq!(review_step(Submitted, &Approve).unwrap().to, Approved);
        assert_eq!(
            review_step(Submitted, &back(Submitted)).unwrap().to,
            Returned
        );
        let withdraw = back(Approved);
        let withdrawn = review_step(Approved, &withdraw).unwrap();
        assert_eq!(
            (withdrawn.to, withdrawn.reason),
            (Returned, Some("thiếu ảnh"))
        );
        // Seen as submitted, approved meanwhile by someone else: refused.
        assert!(review_step(Approved, &back(Submitted)).is_err());
        for now in [Draft, Returned, Recognised, Approved] {
            assert_eq!(
                review_step(now, &Approve),
                Err(Code::WrongState {
                    state: now.as_str().to_owned(),
                    to: Some("approved".into())
                })
            );
        }
        for now in [Draft, Returned, Recognised] {
            assert!(review_step(now, &back(now)).is_err(), "{now:?}");
        }
    }

    #[test]
    fn only_approved_and_once_a_year_is_recognised() {
        assert_eq!(may_recognise(ReviewState::Approved, false), Ok(()));
        assert_eq!(
            may_recognise(ReviewState::Approved, true),
            Err(Code::AlreadyRecognisedElsewhere)
        );
        assert!(may_recognise(ReviewState::Submitted, false).is_err());
        assert!(may_recognise(ReviewState::Recognised, false).is_err());
    }

    /// A small world: units U > U1 and V; person P of U1 written by this
    /// device, person Q of V by another; evidence E sent by this device.
    struct World;
    impl ScopeLookup for World {
        fn in_subtree(&self, root: &str, unit: &str) -> crate::StorageResult<bool> {
            Ok(root == unit || (root == "U" && unit == "U1"))
        }
        fn is_own_person(&self, person: &str) -> crate::StorageResult<bool> {
            Ok(person == "P")
        }
        fn evidence_pusher(&self, id: &str) -> crate::StorageResult<Option<String>> {
            Ok((id == "E").then(|| "me".to_owned()))
        }
        fn person_unit(&self, person: &str) -> crate::StorageResult<Option<String>> {
            Ok(match person {
                "P" => Some("U1".into()),
                "Q" => Some("V".into()),
                _ => None,
            })
        }
    }

    #[test]
    fn write_scope_is_judged_on_what_is_stored() {
        use cdht_core::sync::DeviceScope;
        let device = |scope| crate::DeviceRef {
            device_id: cdht_core::ids::DeviceId::new_v7(),
            unit: "U".into(),
            scope,
        };
        let may = |scope, owner, subject, id, new_person| {
            let target = WriteTarget {
                id,
                owner,
                subject,
                new_person,
            };
            may_write(&device(scope), "me", &target, &World).unwrap()
        };
        use DeviceScope::{OwnRecords as Own, UnitRecords as Unit};
        // Stored records: a collector by the owning unit, a phone by its people.
        assert!(may(Unit, Some("U1"), Some("Q"), "x", false));
        assert!(!may(Unit, Some("V"), Some("P"), "x", false));
        assert!(may(Own, Some("V"), Some("P"), "x", false));
        assert!(!may(Own, Some("U"), Some("Q"), "x", false));
        // Evidence whose assessment the server lacks: only its sender.
        assert!(may(Own, Some("U"), None, "E", false));
        assert!(!may(Own, Some("U"), None, "F", false));
        // New records hang on a person the device may write, if known.
        assert!(may(Own, None, Some("N"), "x", true));
        assert!(may(Unit, None, Some("unknown"), "x", false));
        assert!(may(Unit, None, Some("P"), "x", false));
        assert!(!may(Unit, None, Some("Q"), "x", false));
        assert!(!may(Own, None, Some("Q"), "x", false));
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
