//! The review transition table and recognition, as officers act.

use cdht_core::sync::ReviewState;
use cdht_core::Code;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
}
