//! Criteria catalogs: versioned data (JSON files in `catalogs/`), embedded at
//! compile time and checked by [`Catalog::validate`] before use.

use crate::ids::{CatalogId, CompetencyId, GroupId, IndicatorId, LevelId};
pub use crate::options::{CatalogOptions, ForeignOnlyWording};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A text in Vietnamese (first) and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub vi: String,
    pub en: String,
}

/// Parameters of the pass and exemplary rules of one catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Minimum total to pass in a normal area (80).
    pub pass_threshold: u32,
    /// Minimum total to pass in remote, ethnic-minority or disadvantaged areas (70).
    pub difficult_area_threshold: u32,
    /// No indicator may score below this (5).
    pub min_indicator_points: u32,
    /// Recognised this many years in a row makes a person eligible to be
    /// considered for exemplary Learning Citizen (5); the title itself is
    /// granted by a decision (`crate::exemplary`).
    pub exemplary_consecutive_years: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub id: CatalogId,
    /// 1 for a catalog as first published; a corrected catalog keeps its id
    /// and takes a higher revision. The highest revision of an id is the one
    /// both the server and the devices score with.
    #[serde(default = "first_revision")]
    pub revision: u32,
    pub decision: String,
    pub issued_on: String,
    pub title: Text,
    /// True while wording or levels are assumed and an officer must check them.
    pub draft: bool,
    pub notes: Text,
    pub rules: Rules,
    /// Choices an operator makes per server. Devices receive the catalog
    /// with them applied and without this field ([`Catalog::for_devices`]),
    /// so builds that predate it still read what they pull.
    #[serde(default, skip_serializing_if = "CatalogOptions::is_default")]
    pub options: CatalogOptions,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: GroupId,
    pub name: Text,
    #[serde(default)]
    pub draft: bool,
    pub competencies: Vec<Competency>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Competency {
    pub id: CompetencyId,
    pub name: Text,
    pub indicators: Vec<Indicator>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: IndicatorId,
    pub max_points: u32,
    pub title: Text,
    pub question: Text,
    pub evidence_hint: Text,
    #[serde(default)]
    pub draft: bool,
    /// Answer levels, best first, points strictly descending.
    pub levels: Vec<Level>,
    /// The wording used instead when the operator turns
    /// [`CatalogOptions::other_languages_count`] off (indicator 2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_only: Option<ForeignOnlyWording>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub id: LevelId,
    pub points: u32,
    pub label: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Text>,
}

const fn first_revision() -> u32 {
    1
}

/// The catalogs to score with and show: `extra` (installed on a server, or
/// pulled by a device) replaces an embedded catalog of the same id when its
/// revision is higher, and adds catalogs the build does not ship; each with
/// its options applied ([`Catalog::for_devices`]). Sorted by id.
#[must_use]
pub fn merge_catalogs(embedded: &[Catalog], extra: &[Catalog]) -> Vec<Catalog> {
    merge_catalogs_as_written(embedded, extra)
        .iter()
        .map(Catalog::for_devices)
        .collect()
}

/// [`merge_catalogs`] with each catalog as written, options not applied
/// (what a server operator installed, for `catalogs list`).
#[must_use]
pub fn merge_catalogs_as_written(embedded: &[Catalog], extra: &[Catalog]) -> Vec<Catalog> {
    let mut out: Vec<Catalog> = embedded.to_vec();
    for catalog in extra {
        match out.iter_mut().find(|c| c.id == catalog.id) {
            Some(have) if have.revision >= catalog.revision => {}
            Some(have) => *have = catalog.clone(),
            None => out.push(catalog.clone()),
        }
    }
    out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    out
}

/// Why a catalog is not usable. Each names the place in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog file {file} is not valid JSON for a catalog: {message}")]
    Parse { file: String, message: String },
    #[error("catalog {catalog}: {place}: {problem}")]
    Invalid {
        catalog: String,
        place: String,
        problem: String,
    },
}

impl Group {
    pub fn indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.competencies.iter().flat_map(|c| c.indicators.iter())
    }

    #[must_use]
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators().find(|i| i.id.as_str() == id)
    }

    /// The highest total a person of this group can reach.
    #[must_use]
    pub fn max_total(&self) -> u32 {
        self.indicators().map(|i| i.max_points).sum()
    }
}

impl Indicator {
    #[must_use]
    pub fn level(&self, id: &str) -> Option<&Level> {
        self.levels.iter().find(|l| l.id.as_str() == id)
    }

    /// The level whose points equal `points`, if any.
    #[must_use]
    pub fn level_with_points(&self, points: u32) -> Option<&Level> {
        self.levels.iter().find(|l| l.points == points)
    }
}

impl Catalog {
    /// Parses and validates one catalog file's text.
    pub fn from_json(file: &str, json: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = serde_json::from_str(json).map_err(|e| CatalogError::Parse {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        catalog.validate()?;
        Ok(catalog)
    }

    #[must_use]
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id.as_str() == id)
    }

    /// Checks everything the scoring engine and the UI rely on.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let bad = |place: String, problem: String| CatalogError::Invalid {
            catalog: self.id.to_string(),
            place,
            problem,
        };
        check_slug(self.id.as_str()).map_err(|p| bad("id".into(), p))?;
        if self.revision == 0 {
            return Err(bad("revision".into(), "must be 1 or more".into()));
        }
        check_text(&self.title).map_err(|p| bad("title".into(), p))?;
        check_text(&self.notes).map_err(|p| bad("notes".into(), p))?;
        let r = &self.rules;
        if r.difficult_area_threshold > r.pass_threshold {
            return Err(bad(
                "rules".into(),
                "difficult_area_threshold is above pass_threshold".into(),
            ));
        }
        if r.exemplary_consecutive_years == 0 {
            return Err(bad(
                "rules".into(),
                "exemplary_consecutive_years must be at least 1".into(),
            ));
        }
        if self.groups.is_empty() {
            return Err(bad("groups".into(), "no target group".into()));
        }
        for (gi, group) in self.groups.iter().enumerate() {
            let gplace = format!("group {}", group.id);
            check_slug(group.id.as_str()).map_err(|p| bad(gplace.clone(), p))?;
            if self.groups[..gi].iter().any(|g| g.id == group.id) {
                return Err(bad(gplace, "group id used twice".into()));
            }
            check_text(&group.name).map_err(|p| bad(gplace.clone(), p))?;
            if group.competencies.is_empty() {
                return Err(bad(gplace, "no competency".into()));
            }
            for (ci, comp) in group.competencies.iter().enumerate() {
                let cplace = format!("{gplace}, competency {}", comp.id);
                if comp.id.as_str() != (ci + 1).to_string() {
                    return Err(bad(cplace, format!("expected competency id {}", ci + 1)));
                }
                check_text(&comp.name).map_err(|p| bad(cplace.clone(), p))?;
                if comp.indicators.is_empty() {
                    return Err(bad(cplace, "no indicator".into()));
                }
                for (ii, ind) in comp.indicators.iter().enumerate() {
                    let expected = format!("{}.{}", comp.id, ii + 1);
                    let iplace = format!("{gplace}, indicator {}", ind.id);
                    if ind.id.as_str() != expected {
                        return Err(bad(iplace, format!("expected indicator id {expected}")));
                    }
                    validate_indicator(ind, r).map_err(|p| bad(iplace.clone(), p))?;
                    if let Some(wording) = &ind.foreign_only {
                        crate::options::validate_foreign_only(ind, wording)
                            .map_err(|p| bad(iplace, format!("foreign_only: {p}")))?;
                    }
                }
            }
            let max_total = group.max_total();
            if r.pass_threshold > max_total {
                return Err(bad(
                    gplace,
                    format!(
                        "pass_threshold {} is above the highest total {max_total}",
                        r.pass_threshold
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn validate_indicator(ind: &Indicator, rules: &Rules) -> Result<(), String> {
    if ind.max_points == 0 {
        return Err("max_points must be above 0".into());
    }
    if rules.min_indicator_points > ind.max_points {
        return Err("min_indicator_points is above max_points".into());
    }
    for (name, text) in [
        ("title", &ind.title),
        ("question", &ind.question),
        ("evidence_hint", &ind.evidence_hint),
    ] {
        check_text(text).map_err(|p| format!("{name}: {p}"))?;
    }
    if ind.levels.len() < 2 {
        return Err("needs at least 2 answer levels".into());
    }
    if ind.levels[0].points != ind.max_points {
        return Err("the first level must be worth max_points".into());
    }
    if ind.levels.last().map(|l| l.points) != Some(0) {
        return Err("the last level must be worth 0 points".into());
    }
    for (li, level) in ind.levels.iter().enumerate() {
        let place = format!("level {}", level.id);
        check_slug(level.id.as_str()).map_err(|p| format!("{place}: {p}"))?;
        if ind.levels[..li].iter().any(|l| l.id == level.id) {
            return Err(format!("{place}: level id used twice"));
        }
        if li > 0 && level.points >= ind.levels[li - 1].points {
            return Err(format!("{place}: points must be strictly descending"));
        }
        check_text(&level.label).map_err(|p| format!("{place} label: {p}"))?;
        if let Some(ev) = &level.evidence {
            check_text(ev).map_err(|p| format!("{place} evidence: {p}"))?;
        }
    }
    Ok(())
}

fn check_slug(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("id {s:?} must be lowercase letters, digits or '-'"))
    }
}

pub(crate) fn check_text(t: &Text) -> Result<(), String> {
    if t.vi.trim().is_empty() {
        return Err("Vietnamese text is empty".into());
    }
    if t.en.trim().is_empty() {
        return Err("English text is empty".into());
    }
    Ok(())
}

/// The catalog files shipped in the binary, as (file name, JSON text).
pub const EMBEDDED_CATALOG_FILES: &[(&str, &str)] = &[
    ("244-2022.json", include_str!("../catalogs/244-2022.json")),
    ("324-2023.json", include_str!("../catalogs/324-2023.json")),
];

/// Every shipped catalog, parsed and validated once.
///
/// # Errors
/// Only if a shipped file is broken; the test suite validates every one, so a
/// release cannot carry a broken catalog.
pub fn embedded_catalogs() -> Result<&'static [Catalog], CatalogError> {
    static CATALOGS: OnceLock<Result<Vec<Catalog>, CatalogError>> = OnceLock::new();
    CATALOGS
        .get_or_init(|| {
            EMBEDDED_CATALOG_FILES
                .iter()
                .map(|(file, json)| {
                    let catalog = Catalog::from_json(file, json)?;
                    let stem = file.trim_end_matches(".json");
                    if catalog.id.as_str() != stem {
                        return Err(CatalogError::Invalid {
                            catalog: catalog.id.to_string(),
                            place: "id".into(),
                            problem: format!("does not match its file name {file}"),
                        });
                    }
                    Ok(catalog)
                })
                .collect()
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// The shipped catalog with this id.
pub fn embedded_catalog(id: &str) -> Result<Option<&'static Catalog>, CatalogError> {
    Ok(embedded_catalogs()?.iter().find(|c| c.id.as_str() == id))
}
