//! Where each rule of the catalogs comes from, and whether it is confirmed.
//!
//! The full texts of Decisions 244/QĐ-KHVN and 324/QĐ-KHVN are not
//! published; each rule was compared with what is (provincial plans, the
//! Association's channels, provincial press, Circular 24/2023/TT-BGDĐT). A
//! rule resting on a single article is provisional: a result that depends
//! on it says so, and an operator can switch it off per server without a new
//! build (`cdht-server catalogs add` with the rule neutralised, see
//! [`RuleProvenance::how_to_switch_off`]).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Independent published sources agree.
    Confirmed,
    /// One source only: used, but marked wherever a result depends on it.
    Provisional,
}

/// A rule of [`crate::Rules`], by its field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleProvenance {
    pub rule: &'static str,
    pub status: RuleStatus,
    pub sources: &'static [&'static str],
    /// How an operator turns the rule off with `catalogs add` (provisional
    /// rules only; empty for confirmed ones).
    pub how_to_switch_off: &'static str,
}

const PASS_SOURCES: &[&str] = &[
    "Kế hoạch triển khai của các tỉnh trích dẫn Quyết định 244/QĐ-KHVN (2022)",
    "Kênh thông tin của Hội Khuyến học Việt Nam",
    "Báo tỉnh năm 2024, theo Quyết định 324/QĐ-KHVN (2023)",
];

const ONE_ARTICLE: &[&str] = &["Báo Tây Ninh, 02/03/2023 (báo cáo tập huấn của tỉnh)"];

/// Every rule, in the order of [`crate::Rules`]'s fields.
pub const RULES: [RuleProvenance; 4] = [
    RuleProvenance {
        rule: "pass_threshold",
        status: RuleStatus::Confirmed,
        sources: PASS_SOURCES,
        how_to_switch_off: "",
    },
    RuleProvenance {
        rule: "difficult_area_threshold",
        status: RuleStatus::Provisional,
        sources: ONE_ARTICLE,
        how_to_switch_off: "set difficult_area_threshold to pass_threshold (difficult areas then pass at the same total)",
    },
    RuleProvenance {
        rule: "min_indicator_points",
        status: RuleStatus::Confirmed,
        sources: PASS_SOURCES,
        how_to_switch_off: "",
    },
    RuleProvenance {
        rule: "exemplary_consecutive_years",
        status: RuleStatus::Provisional,
        sources: ONE_ARTICLE,
        how_to_switch_off: "raise exemplary_consecutive_years above the years the programme runs (e.g. 10): nobody becomes eligible",
    },
];

/// The provenance of the rule named `rule` (a [`crate::Rules`] field name).
#[must_use]
pub fn rule_provenance(rule: &str) -> Option<&'static RuleProvenance> {
    RULES.iter().find(|r| r.rule == rule)
}

/// Whether the rule named `rule` is provisional.
#[must_use]
pub fn is_provisional(rule: &str) -> bool {
    rule_provenance(rule).is_some_and(|r| r.status == RuleStatus::Provisional)
}
