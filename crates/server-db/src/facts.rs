//! What storage gathers for the server's pure computations: a report's
//! facts (`cdht_server::report` computes the figures from them) and what a
//! certificate or a decision list prints. Backends fill these; none computes.

use cdht_core::score::IndicatorScore;
use cdht_core::sync::ReviewState;
use serde::Serialize;

/// The most indicators a report tells apart (catalogs have 10).
pub const MAX_INDICATORS: usize = 16;
/// No points for that indicator in [`AssessmentFact::points`].
pub const NO_POINTS: u8 = u8::MAX;

/// Each indicator's points as kept with a scored assessment: `1.1:8,1.2:10,…`
/// (what a push's records carry to storage, and every backend reads back).
#[must_use]
pub fn points_text(indicators: &[IndicatorScore]) -> String {
    let mut out = String::with_capacity(indicators.len() * 6);
    for (i, ind) in indicators.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(ind.id.as_str());
        out.push(':');
        out.push_str(&ind.points.to_string());
    }
    out
}

/// What a report is computed from. Units, groups, catalogs, indicators and
/// people are numbered (`u32` indexes into the lists here) so a province's
/// 500,000 rows hold no strings.
#[derive(Debug, Clone, Default)]
pub struct ReportFacts {
    pub year: u16,
    /// The subtree: the unit asked about first, then every unit below it.
    pub units: Vec<SubUnit>,
    pub groups: Vec<String>,
    pub catalogs: Vec<String>,
    pub indicators: Vec<String>,
    /// Person ids, as stored.
    pub people: Vec<String>,
    pub assessments: Vec<AssessmentFact>,
    /// The people whose unit is in the subtree.
    pub members: Vec<MemberFact>,
    /// Years before the report's year in which a person recognised this year
    /// in the subtree was recognised (anywhere): index into `people` → years.
    pub earlier_recognised: rustc_hash::FxHashMap<u32, Vec<i32>>,
    /// Assessments sent in before points were kept (migration 0009): their
    /// answers, to score with [`score_legacy`].
    pub legacy: Vec<LegacyAnswers>,
}

#[derive(Debug, Clone)]
pub struct LegacyAnswers {
    /// Index into `ReportFacts::assessments`.
    pub fact: usize,
    pub catalog: String,
    pub group: String,
    /// The answers' JSON as stored.
    pub answers: String,
}

/// Scores the answers of `facts.legacy` with `catalogs` and sets their
/// points (an answer the catalogs cannot score leaves them empty).
pub fn score_legacy(facts: &mut ReportFacts, catalogs: &[cdht_core::Catalog]) {
    for legacy in std::mem::take(&mut facts.legacy) {
        let Ok(answers) = serde_json::from_str(&legacy.answers) else {
            continue;
        };
        let input = cdht_core::AssessmentInput {
            catalog: legacy.catalog.as_str().into(),
            group: legacy.group.as_str().into(),
            area: cdht_core::AreaType::Normal,
            answers,
        };
        let Ok(result) = cdht_core::score_with(catalogs, &input, cdht_core::Completeness::Draft)
        else {
            continue;
        };
        let mut points = [NO_POINTS; MAX_INDICATORS];
        for ind in &result.indicators {
            let id = ind.id.as_str();
            let index = match facts.indicators.iter().position(|i| i == id) {
                Some(i) => i,
                None if facts.indicators.len() < MAX_INDICATORS => {
                    facts.indicators.push(id.to_owned());
                    facts.indicators.len() - 1
                }
                None => continue,
            };
            points[index] = u8::try_from(ind.points).unwrap_or(NO_POINTS - 1);
        }
        if let Some(fact) = facts.assessments.get_mut(legacy.fact) {
            fact.points = points;
        }
    }
}

#[derive(Debug, Clone)]
pub struct SubUnit {
    pub code: String,
    pub name: String,
    /// Index of the parent in `ReportFacts::units` (`None` for the unit asked about).
    pub parent: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct AssessmentFact {
    pub person: u32,
    pub unit: u32,
    pub group: u32,
    pub catalog: u32,
    pub state: ReviewState,
    pub passed: bool,
    /// Points by indicator index ([`NO_POINTS`] where none: an indicator of
    /// another catalog, or a draft pushed before points were kept).
    pub points: [u8; MAX_INDICATORS],
}

#[derive(Debug, Clone)]
pub struct MemberFact {
    pub person: u32,
    pub unit: u32,
    pub birth_year: Option<u16>,
    /// The household as officers write it: its label, else the address.
    pub household: Option<String>,
}

/// What a certificate and its verification page show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateFacts {
    pub assessment: String,
    pub full_name: String,
    pub birth_year: Option<u16>,
    pub unit_code: String,
    pub unit_name: String,
    pub year: u16,
    pub decision_no: String,
    pub decision_date: String,
    /// The verification token (random, stored).
    pub token: String,
}

/// One person of a decision's recognition list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRow {
    pub full_name: String,
    pub birth_year: Option<u16>,
    pub unit_code: String,
    pub unit_name: String,
    pub group: String,
    pub total: u32,
    pub year: u16,
    pub decision_date: String,
}
