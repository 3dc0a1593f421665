//! Deleting a person or an assessment entered by mistake, before review
//! (docs/sync-protocol.md, "Deletes"): the store asks the planner and
//! queues the tombstone; the background sync sends it.

use super::*;

impl App {
    /// Deletes an assessment entered by mistake: allowed while it is a draft
    /// or submitted and not reviewed (`delete_after_review` otherwise). It
    /// leaves the lists at once; the server's acknowledgement removes it
    /// for good, a refusal shows it again under "Cần sửa" with the reason.
    pub fn delete_assessment(&mut self, assessment_id: AssessmentId) -> AppResult<DeleteOutcome> {
        Ok(self.store.delete_assessment(assessment_id)?)
    }

    /// Deletes a person entered by mistake, once none of their assessments
    /// is left (`person_has_assessments` otherwise).
    pub fn delete_person(&mut self, person_id: PersonId) -> AppResult<DeleteOutcome> {
        Ok(self.store.delete_person(person_id)?)
    }
}
