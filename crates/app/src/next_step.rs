//! Home's "Việc tiếp theo": the one step a person takes next, from where
//! they are (joined, profile, this year's assessment and the sync queue).
//! A pure decision; the UI words each step and gives it one button.

use cdht_store::{AssessmentBrief, AssessmentStatus};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// No unit yet: join one by its QR or its printed codes.
    Join,
    /// Joined; name, birth year and target group missing.
    Profile,
    /// Nothing for this year yet: start the self-assessment.
    Assess,
    /// This year's assessment is being filled in: go on and submit it.
    ContinueDraft,
    /// Submitted, but the device still holds it (or its photos): send it.
    Send,
    /// Sent; the branch officer checks it.
    AwaitReview,
    /// Sent back with a reason: correct it and submit again.
    FixReturned,
    /// Approved by the branch; the commune recognises it by a decision.
    AwaitRecognition,
    /// Recognised this year: nothing to do until next year.
    Recognised,
}

/// What home knows when it asks.
#[derive(Debug, Clone, Copy)]
pub struct HomeFacts<'a> {
    pub joined: bool,
    pub profile_complete: bool,
    pub this_year: Option<&'a AssessmentBrief>,
    /// Records or photos wait in the device's queue.
    pub waiting_to_send: bool,
}

#[must_use]
pub fn next_step(facts: &HomeFacts<'_>) -> NextStep {
    if !facts.joined {
        return NextStep::Join;
    }
    if !facts.profile_complete {
        return NextStep::Profile;
    }
    match facts.this_year.map(|a| a.status) {
        None => NextStep::Assess,
        Some(AssessmentStatus::Draft) => NextStep::ContinueDraft,
        Some(AssessmentStatus::Submitted) if facts.waiting_to_send => NextStep::Send,
        Some(AssessmentStatus::Submitted) => NextStep::AwaitReview,
        Some(AssessmentStatus::Returned) => NextStep::FixReturned,
        Some(AssessmentStatus::Approved) => NextStep::AwaitRecognition,
        Some(AssessmentStatus::Recognised) => NextStep::Recognised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdht_core::ids::AssessmentId;

    fn brief(status: AssessmentStatus) -> AssessmentBrief {
        AssessmentBrief {
            assessment_id: AssessmentId::new_v7(),
            year: 2026,
            status,
            score: None,
            return_reason: None,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn one_step_for_each_state() {
        fn facts(
            joined: bool,
            profile_complete: bool,
            this_year: Option<&AssessmentBrief>,
            waiting_to_send: bool,
        ) -> HomeFacts<'_> {
            HomeFacts {
                joined,
                profile_complete,
                this_year,
                waiting_to_send,
            }
        }
        assert_eq!(next_step(&facts(false, false, None, false)), NextStep::Join);
        assert_eq!(
            next_step(&facts(true, false, None, false)),
            NextStep::Profile
        );
        assert_eq!(next_step(&facts(true, true, None, true)), NextStep::Assess);
        let cases = [
            (AssessmentStatus::Draft, true, NextStep::ContinueDraft),
            (AssessmentStatus::Submitted, true, NextStep::Send),
            (AssessmentStatus::Submitted, false, NextStep::AwaitReview),
            (AssessmentStatus::Returned, false, NextStep::FixReturned),
            (
                AssessmentStatus::Approved,
                false,
                NextStep::AwaitRecognition,
            ),
            (AssessmentStatus::Recognised, true, NextStep::Recognised),
        ];
        for (status, waiting, want) in cases {
            let a = brief(status);
            assert_eq!(
                next_step(&facts(true, true, Some(&a), waiting)),
                want,
                "{status:?}"
            );
        }
        // Not joined wins over everything else.
        let a = brief(AssessmentStatus::Recognised);
        assert_eq!(
            next_step(&facts(false, true, Some(&a), false)),
            NextStep::Join
        );
    }
}
