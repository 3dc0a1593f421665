//! What storage gives the officers' routes to read: assessments listed and
//! opened for review, duplicate groups, the audit trail.

use cdht_core::ids::{AssessmentId, UnitCode};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssessmentSummary {
    pub id: AssessmentId,
    pub unit: UnitCode,
    pub person: String,
    pub person_name: String,
    pub year: u16,
    pub catalog: String,
    pub group: String,
    pub state: String,
    pub total: u32,
    pub passed: bool,
    pub threshold: u32,
    pub version: u32,
    pub return_reason: Option<String>,
    pub decision_no: Option<String>,
    pub decision_date: Option<String>,
    /// Other assessments of the same person (by keyed CCCD) in the same year
    /// (at most [`DUPLICATE_MEMBERS_SHOWN`]).
    pub possible_duplicates: Vec<AssessmentId>,
}

/// The assessments of one person (same keyed CCCD) in one year, when there
/// are several: likely duplicates, shown, never merged.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateGroup {
    pub year: u16,
    /// How many assessments the group has.
    pub count: u64,
    /// Its assessments, those of the unit asked about first; at most
    /// [`DUPLICATE_MEMBERS_SHOWN`].
    pub assessments: Vec<DuplicateMember>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateMember {
    pub assessment: AssessmentId,
    pub unit: UnitCode,
}

/// One page of duplicate groups; ask again with `after = next` while set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicatePage {
    pub groups: Vec<DuplicateGroup>,
    pub next: Option<AssessmentId>,
}

/// The most members listed per duplicate group, and the most other
/// assessments an assessment's `possible_duplicates` lists.
pub const DUPLICATE_MEMBERS_SHOWN: usize = 50;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub unit: Option<String>,
    pub assessment: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: Option<String>,
}

/// One assessment as stored, for a reviewer's page (the API adds the score's
/// reasons and the catalog's wording).
#[derive(Debug, Clone)]
pub struct AssessmentRecord {
    pub id: AssessmentId,
    pub unit: String,
    pub person: String,
    pub person_name: String,
    pub birth_year: Option<u16>,
    pub address: Option<String>,
    pub year: u16,
    pub catalog: String,
    pub group: String,
    /// The answers' JSON as pushed (`cdht_core::Answers`).
    pub answers: String,
    pub state: String,
    pub total: u32,
    pub passed: bool,
    pub threshold: u32,
    pub return_reason: Option<String>,
    pub decision_no: Option<String>,
    pub decision_date: Option<String>,
    pub updated_at: String,
    /// (indicator, sha256) of each evidence photo.
    pub evidence: Vec<(String, String)>,
    pub last_review: Option<LastReview>,
}

/// The newest review action on an assessment (approve, return, recognise).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LastReview {
    /// The officer's username.
    pub actor: String,
    /// RFC 3339.
    pub at: String,
    /// `approve`, `return` or `recognise`.
    pub action: String,
}
