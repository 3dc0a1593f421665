//! A unit's yearly report (issue 13, item 5): the figures, computed from the
//! facts storage gathers (`ReportFacts`, one row per assessment and per person
//! of the subtree), with no SQL here, so every definition is tested on its
//! own. The exports (`export`) write the same [`Report`].
//!
//! Definitions, for the assessments of the year in the unit's subtree:
//! `registered` = people with an assessment (draft or later); `submitted` =
//! assessments sent in (now submitted, returned, approved or recognised);
//! `approved` = approved or recognised; `returned` = returned now;
//! `recognised`; `passed` = sent in and passing by the server's score.
//! Indicator figures are over the assessments sent in.

mod compute;
#[cfg(test)]
mod tests;

pub use compute::{compute, compute_with};
// What storage gathers for a report lives with the storage trait.
pub use cdht_server_db::facts::{
    points_text, score_legacy, AssessmentFact, LegacyAnswers, MemberFact, ReportFacts, SubUnit,
    MAX_INDICATORS, NO_POINTS,
};

use cdht_core::catalog::Text;
use serde::Serialize;
use utoipa::ToSchema;

/// Decision 677/QĐ-TTg's 2030 target: share of adults (in learning families,
/// clans and communities) holding the title.
pub const TARGET_ADULTS_RECOGNISED: f64 = 0.60;
/// Decision 677/QĐ-TTg's 2030 target: share of title holders with digital skills.
pub const TARGET_DIGITAL_SKILLS: f64 = 0.90;
/// A learning unit needs this share of its members holding the title
/// (Thông tư 24/2023/TT-BGDĐT).
pub const LEARNING_UNIT_SHARE: f64 = 0.90;
/// People this old in the report's year and older are adults.
pub const ADULT_AGE: u16 = 18;
/// The digital-skills indicator ("uses IT / digital skills as the work needs").
pub const DIGITAL_INDICATOR: &str = "2.1";

/// The counts of one set of assessments (see the module's definitions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Counts {
    /// People with an assessment of the year (draft or later).
    pub registered: u64,
    /// Assessments sent in: now submitted, returned, approved or recognised.
    pub submitted: u64,
    /// Approved or recognised.
    pub approved: u64,
    /// Returned now.
    pub returned: u64,
    pub recognised: u64,
    /// Sent in and passing by the server's score.
    pub passed: u64,
    /// `passed` ÷ `submitted` (0 when nothing was sent in).
    pub pass_rate: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupCounts {
    /// The target group id (a catalog's).
    pub group: String,
    /// Its name in Vietnamese, from the catalogs.
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildCounts {
    /// A direct child unit's code (its subtree is counted).
    pub unit: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorFigure {
    /// The indicator id (`1.1` … `3.2`).
    pub id: String,
    /// Its title from the scoring catalog (Vietnamese and English). Groups
    /// word an indicator for their own work; this is the wording of the
    /// group with the most assessments sent in that has it (the id when no
    /// catalog knows it).
    pub title: Text,
    /// Mean points over the assessments sent in that scored it.
    pub mean_points: f64,
    /// Share of those below the minimum per indicator (5).
    pub below_min_share: f64,
    /// How many assessments the figures are over.
    pub assessments: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EligiblePerson {
    pub person: String,
    pub person_name: String,
    /// The unit of the person's recognised assessment of the year.
    pub unit: String,
    /// Recognised years in a row ending with the report's year.
    pub streak: u32,
}

/// People recognised in each of the years in a row ending with this one
/// that their catalog asks for (5): eligible to be considered for
/// "Công dân học tập tiêu biểu" (the title is granted by a decision).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ExemplaryFigures {
    pub eligible: u64,
    /// By unit, then name.
    pub persons: Vec<EligiblePerson>,
    /// The years-in-a-row rule is provisional (one source so far).
    pub provisional: bool,
}

/// A unit of the subtree and its members (people of the unit and below).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitMembers {
    pub unit: String,
    pub name: String,
    /// Adult members (born in the report's year − 18 or before; no birth
    /// year given counts as adult).
    pub adults: u64,
    /// Adult members recognised this year.
    pub recognised: u64,
    /// `recognised` ÷ `adults`.
    pub share: f64,
    /// At least 90 % (the learning-unit title's share, Thông tư 24/2023).
    pub meets_learning_unit: bool,
}

/// One household: its members recognised ÷ its adult members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Household {
    pub unit: String,
    /// The household as officers write it: its label, else the address.
    pub label: String,
    pub members: u64,
    pub adults: u64,
    pub recognised: u64,
    pub share: f64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct HouseholdSummary {
    /// Households (same unit, same household label) with an adult member.
    pub households: u64,
    /// Households whose adult members are all recognised.
    pub all_recognised: u64,
    /// Households with at least 60 % of adult members recognised.
    pub at_least_60: u64,
}

/// Progress against Decision 677/QĐ-TTg's 2030 targets.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Progress {
    /// Registered people who are adults.
    pub adults_registered: u64,
    /// Of those, recognised this year.
    pub adults_recognised: u64,
    /// `adults_recognised` ÷ `adults_registered`.
    pub adults_recognised_share: f64,
    /// The 2030 target (0.6).
    pub adults_recognised_target: f64,
    /// People recognised this year.
    pub title_holders: u64,
    /// Of those, with the digital-skills indicator (2.1) at 5 or more.
    pub digital_skills: u64,
    pub digital_skills_share: f64,
    /// The 2030 target (0.9).
    pub digital_skills_target: f64,
}

/// `GET /api/v1/units/{code}/report?year=YYYY`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub unit: String,
    pub unit_name: String,
    pub year: u16,
    #[serde(flatten)]
    pub counts: Counts,
    /// One row per target group with an assessment, by group id.
    pub by_group: Vec<GroupCounts>,
    /// One row per direct child unit (its subtree), by code.
    pub by_child: Vec<ChildCounts>,
    /// Weakest first (lowest mean).
    pub indicators: Vec<IndicatorFigure>,
    pub exemplary: ExemplaryFigures,
    /// Every unit of the subtree with an adult member, by code.
    pub units: Vec<UnitMembers>,
    pub households: HouseholdSummary,
    /// Every household, when asked for (`report.xlsx` and `report.csv` list
    /// them; the JSON leaves them out: a province has hundreds of thousands).
    #[serde(skip)]
    pub household_list: Vec<Household>,
    pub progress: Progress,
}

/// `part` ÷ `whole`, 0 for an empty whole.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
