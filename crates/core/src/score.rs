//! The scoring engine: pure and total. Every bad input is a [`ScoreError`].

use crate::assessment::{Answer, AreaType, AssessmentInput};
use crate::catalog::{Catalog, Group, Indicator, Text};
use crate::ids::{CatalogId, CompetencyId, GroupId, IndicatorId, LevelId};
use serde::Serialize;

/// Why an assessment could not be scored. `code()` is stable and machine-readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("unknown catalog {catalog:?} (known: {})", known.join(", "))]
    UnknownCatalog { catalog: String, known: Vec<String> },
    #[error("catalog {catalog} has no target group {group:?} (known: {})", known.join(", "))]
    UnknownGroup {
        catalog: String,
        group: String,
        known: Vec<String>,
    },
    #[error("indicator {indicator:?} is not in this group's criteria")]
    UnknownIndicator { indicator: String },
    #[error("indicator {indicator} is answered more than once")]
    DuplicateIndicator { indicator: String },
    #[error("missing answers for indicators {}", indicators.join(", "))]
    MissingIndicators { indicators: Vec<String> },
    #[error("indicator {indicator}: {points} points is out of range 0–{max}")]
    PointsOutOfRange {
        indicator: String,
        points: i64,
        max: u32,
    },
    #[error("indicator {indicator}: unknown answer level {level:?} (known: {})", known.join(", "))]
    UnknownLevel {
        indicator: String,
        level: String,
        known: Vec<String>,
    },
}

impl ScoreError {
    /// A stable code for programs (the server's API, the app's UI).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownCatalog { .. } => "unknown_catalog",
            Self::UnknownGroup { .. } => "unknown_group",
            Self::UnknownIndicator { .. } => "unknown_indicator",
            Self::DuplicateIndicator { .. } => "duplicate_indicator",
            Self::MissingIndicators { .. } => "missing_indicators",
            Self::PointsOutOfRange { .. } => "points_out_of_range",
            Self::UnknownLevel { .. } => "unknown_level",
        }
    }
}

/// Whether every indicator must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// A finished assessment: a missing answer is an error.
    Complete,
    /// A draft being filled in: a missing answer counts 0 and is listed.
    Draft,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScoreResult {
    pub catalog: CatalogId,
    pub group: GroupId,
    pub area: AreaType,
    pub total: u32,
    pub max_total: u32,
    /// The threshold that applied (depends on the area type).
    pub threshold: u32,
    pub min_indicator_points: u32,
    pub passed: bool,
    pub competencies: Vec<CompetencyScore>,
    pub indicators: Vec<IndicatorScore>,
    /// Every reason for a fail; empty when passed.
    pub reasons: Vec<Reason>,
    /// The smallest set of changes that turns this fail into a pass; empty when passed.
    pub improvements: Vec<Improvement>,
    /// Indicators not answered yet (drafts only).
    pub unanswered: Vec<IndicatorId>,
    /// Provisional rules (see [`crate::provenance`]) this verdict depended
    /// on: shown beside the verdict, so nobody takes it for settled.
    pub provisional: Vec<ProvisionalRule>,
}

/// A provisional rule a verdict depended on: the UI words it from the rule's
/// name (`provisional.<rule>` in its catalogs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProvisionalRule {
    /// The rule's field name in the catalog (`difficult_area_threshold`).
    pub rule: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CompetencyScore {
    pub id: CompetencyId,
    pub name: Text,
    pub points: u32,
    pub max_points: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IndicatorScore {
    pub id: IndicatorId,
    pub competency: CompetencyId,
    pub points: u32,
    pub max_points: u32,
    /// The level picked, or the level whose points equal the points given.
    pub level: Option<LevelId>,
    pub answered: bool,
}

/// One reason for a fail. Its kind with its params is a [`crate::Code`]
/// (keyed `kind` here), which the UI words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reason {
    #[serde(flatten)]
    pub kind: ReasonKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReasonKind {
    BelowThreshold {
        total: u32,
        threshold: u32,
        short_by: u32,
    },
    IndicatorBelowMinimum {
        indicator: IndicatorId,
        points: u32,
        min: u32,
    },
    Unanswered {
        indicators: Vec<IndicatorId>,
    },
}

/// Raise `indicator` from `from` to `to` points (to `level` where it names
/// one). Its JSON is its [`crate::Code`] (`code` and the code's params, and
/// `level: null` for a plain raise), which the UI words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Improvement {
    pub code: ImprovementCode,
    pub indicator: IndicatorId,
    pub from: u32,
    pub to: u32,
    /// The points added: `to - from`.
    pub gain: u32,
    pub level: Option<LevelId>,
}

/// Which code words an [`Improvement`]: to a number of points, or to an
/// answer level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ImprovementCode {
    RaiseIndicator,
    RaiseIndicatorToLevel,
}

/// Scores an assessment against the shipped catalogs.
pub fn score(
    input: &AssessmentInput,
    completeness: Completeness,
) -> Result<ScoreResult, ScoreError> {
    let catalogs = crate::catalog::embedded_catalogs().unwrap_or(&[]);
    score_with(catalogs, input, completeness)
}

/// Scores an assessment against the given catalogs.
pub fn score_with(
    catalogs: &[Catalog],
    input: &AssessmentInput,
    completeness: Completeness,
) -> Result<ScoreResult, ScoreError> {
    let catalog = catalogs
        .iter()
        .find(|c| c.id == input.catalog)
        .ok_or_else(|| ScoreError::UnknownCatalog {
            catalog: input.catalog.to_string(),
            known: catalogs.iter().map(|c| c.id.to_string()).collect(),
        })?;
    let group = catalog
        .group(input.group.as_str())
        .ok_or_else(|| ScoreError::UnknownGroup {
            catalog: catalog.id.to_string(),
            group: input.group.to_string(),
            known: catalog.groups.iter().map(|g| g.id.to_string()).collect(),
        })?;
    score_group(catalog, group, input, completeness)
}

/// The state of one indicator once its answer is resolved to points.
struct Resolved<'a> {
    indicator: &'a Indicator,
    competency: &'a CompetencyId,
    points: u32,
    level: Option<LevelId>,
    answered: bool,
    /// Answered by level: improvements move to another level, not to any number.
    by_level: bool,
}

fn score_group(
    catalog: &Catalog,
    group: &Group,
    input: &AssessmentInput,
    completeness: Completeness,
) -> Result<ScoreResult, ScoreError> {
    for (i, (id, _)) in input.answers.0.iter().enumerate() {
        if group.indicator(id.as_str()).is_none() {
            return Err(ScoreError::UnknownIndicator {
                indicator: id.to_string(),
            });
        }
        if input.answers.0[..i].iter().any(|(other, _)| other == id) {
            return Err(ScoreError::DuplicateIndicator {
                indicator: id.to_string(),
            });
        }
    }
    let mut resolved = Vec::new();
    let mut missing = Vec::new();
    for comp in &group.competencies {
        for ind in &comp.indicators {
            let r = match input.answers.get(ind.id.as_str()) {
                None => {
                    missing.push(ind.id.clone());
                    Resolved {
                        indicator: ind,
                        competency: &comp.id,
                        points: 0,
                        level: None,
                        answered: false,
                        by_level: false,
                    }
                }
                Some(Answer::Points(p)) => {
                    let points = u32::try_from(*p)
                        .ok()
                        .filter(|p| *p <= ind.max_points)
                        .ok_or_else(|| ScoreError::PointsOutOfRange {
                            indicator: ind.id.to_string(),
                            points: *p,
                            max: ind.max_points,
                        })?;
                    Resolved {
                        indicator: ind,
                        competency: &comp.id,
                        points,
                        level: ind.level_with_points(points).map(|l| l.id.clone()),
                        answered: true,
                        by_level: false,
                    }
                }
                Some(Answer::Level(level_id)) => {
                    let level =
                        ind.level(level_id.as_str())
                            .ok_or_else(|| ScoreError::UnknownLevel {
                                indicator: ind.id.to_string(),
                                level: level_id.to_string(),
                                known: ind.levels.iter().map(|l| l.id.to_string()).collect(),
                            })?;
                    Resolved {
                        indicator: ind,
                        competency: &comp.id,
                        points: level.points,
                        level: Some(level.id.clone()),
                        answered: true,
                        by_level: true,
                    }
                }
            };
            resolved.push(r);
        }
    }
    if completeness == Completeness::Complete && !missing.is_empty() {
        return Err(ScoreError::MissingIndicators {
            indicators: missing.iter().map(ToString::to_string).collect(),
        });
    }

    let rules = &catalog.rules;
    let threshold = match input.area {
        AreaType::Normal => rules.pass_threshold,
        AreaType::Difficult => rules.difficult_area_threshold,
    };
    let min = rules.min_indicator_points;
    let total: u32 = resolved.iter().map(|r| r.points).sum();
    let max_total = group.max_total();

    let mut reasons = Vec::new();
    if !missing.is_empty() {
        reasons.push(Reason {
            kind: ReasonKind::Unanswered {
                indicators: missing.clone(),
            },
        });
    }
    if total < threshold {
        let short_by = threshold - total;
        reasons.push(Reason {
            kind: ReasonKind::BelowThreshold {
                total,
                threshold,
                short_by,
            },
        });
    }
    for r in resolved.iter().filter(|r| r.answered && r.points < min) {
        reasons.push(Reason {
            kind: ReasonKind::IndicatorBelowMinimum {
                indicator: r.indicator.id.clone(),
                points: r.points,
                min,
            },
        });
    }
    let passed = reasons.is_empty();
    let mut provisional = Vec::new();
    if passed
        && total < rules.pass_threshold
        && crate::provenance::is_provisional("difficult_area_threshold")
    {
        provisional.push(ProvisionalRule {
            rule: "difficult_area_threshold",
        });
    }
    let improvements = if passed {
        Vec::new()
    } else {
        plan_improvements(&resolved, threshold, min)
    };

    let competencies = group
        .competencies
        .iter()
        .map(|c| CompetencyScore {
            id: c.id.clone(),
            name: c.name.clone(),
            points: resolved
                .iter()
                .filter(|r| *r.competency == c.id)
                .map(|r| r.points)
                .sum(),
            max_points: c.indicators.iter().map(|i| i.max_points).sum(),
        })
        .collect();
    let indicators = resolved
        .iter()
        .map(|r| IndicatorScore {
            id: r.indicator.id.clone(),
            competency: r.competency.clone(),
            points: r.points,
            max_points: r.indicator.max_points,
            level: r.level.clone(),
            answered: r.answered,
        })
        .collect();

    Ok(ScoreResult {
        catalog: catalog.id.clone(),
        group: group.id.clone(),
        area: input.area,
        total,
        max_total,
        threshold,
        min_indicator_points: min,
        passed,
        competencies,
        indicators,
        reasons,
        improvements,
        unanswered: missing,
        provisional,
    })
}

/// The smallest set of changes that passes: fewest indicators changed, then
/// fewest points added; ties go to the earlier indicator. An indicator
/// answered by level may only move to a higher level; one answered by points
/// (or not at all) to any higher whole number. A dynamic programme over the
/// final total: at most 10 indicators × 101 totals × 11 choices.
fn plan_improvements(resolved: &[Resolved<'_>], threshold: u32, min: u32) -> Vec<Improvement> {
    let max_total: u32 = resolved.iter().map(|r| r.indicator.max_points).sum();
    let width = max_total as usize + 1;
    // best[s] = (indicators changed, choice path) for the indicators seen so far
    // reaching final total s; choices[i][s] = points chosen for indicator i.
    let mut best: Vec<Option<u32>> = vec![None; width];
    best[0] = Some(0);
    let mut choices: Vec<Vec<Option<(u32, usize)>>> = Vec::with_capacity(resolved.len());
    for r in resolved {
        let mut next: Vec<Option<u32>> = vec![None; width];
        let mut choice: Vec<Option<(u32, usize)>> = vec![None; width];
        let options = candidate_points(r, min);
        for (s, count) in best.iter().enumerate() {
            let Some(count) = *count else { continue };
            for &p in &options {
                let t = s + p as usize;
                if t >= width {
                    continue;
                }
                let c = count + u32::from(p != r.points);
                if next[t].is_none_or(|old| c < old) {
                    next[t] = Some(c);
                    choice[t] = Some((p, s));
                }
            }
        }
        best = next;
        choices.push(choice);
    }
    let Some(target) = (threshold as usize..width)
        .filter_map(|s| best[s].map(|c| (c, s)))
        .min()
        .map(|(_, s)| s)
    else {
        return Vec::new();
    };
    let mut picked = vec![0u32; resolved.len()];
    let mut s = target;
    for i in (0..resolved.len()).rev() {
        let Some((p, prev)) = choices[i][s] else {
            return Vec::new();
        };
        picked[i] = p;
        s = prev;
    }
    resolved
        .iter()
        .zip(picked)
        .filter(|(r, to)| *to != r.points)
        .map(|(r, to)| {
            let level = r.indicator.level_with_points(to).map(|l| l.id.clone());
            Improvement {
                code: if level.is_some() {
                    ImprovementCode::RaiseIndicatorToLevel
                } else {
                    ImprovementCode::RaiseIndicator
                },
                indicator: r.indicator.id.clone(),
                from: r.points,
                to,
                gain: to - r.points,
                level,
            }
        })
        .collect()
}

/// The final points an indicator may end with: keeping its points (if not
/// below the minimum) or any allowed higher value that is not below it.
fn candidate_points(r: &Resolved<'_>, min: u32) -> Vec<u32> {
    let mut options = Vec::new();
    if r.points >= min {
        options.push(r.points);
    }
    if r.by_level {
        options.extend(
            r.indicator
                .levels
                .iter()
                .map(|l| l.points)
                .filter(|p| *p > r.points && *p >= min),
        );
    } else {
        options.extend((r.points + 1).max(min)..=r.indicator.max_points);
    }
    options
}
