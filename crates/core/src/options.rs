//! Catalog options: choices an operator makes per server without a new build
//! (`cdht-server catalogs add` with a higher revision), applied before the
//! catalog reaches a device or a screen.
//!
//! Only one so far: whether another language (an ethnic language, or
//! Vietnamese for ethnic-minority speakers) counts for the foreign-language
//! indicator 2.2. No published source allows it; the shipped catalogs count
//! it provisionally and say so in the level texts.

use crate::catalog::{check_text, Catalog, Indicator, Text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogOptions {
    /// Another language counts for indicator 2.2 (provisional; true unless
    /// the operator turns it off).
    #[serde(default = "yes")]
    pub other_languages_count: bool,
}

const fn yes() -> bool {
    true
}

impl Default for CatalogOptions {
    fn default() -> Self {
        Self {
            other_languages_count: true,
        }
    }
}

impl CatalogOptions {
    #[must_use]
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// An indicator's wording when only a foreign language counts: each text
/// given replaces the indicator's own; `labels` by level id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForeignOnlyWording {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_hint: Option<Text>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Text>,
}

impl Catalog {
    /// The catalog as devices and screens use it: every option applied, and
    /// neither `options` nor any `foreign_only` left, so the JSON has the
    /// shape every released build reads (they refuse unknown fields).
    #[must_use]
    pub fn for_devices(&self) -> Catalog {
        let mut out = self.clone();
        let foreign_only = !out.options.other_languages_count;
        for group in &mut out.groups {
            for comp in &mut group.competencies {
                for ind in &mut comp.indicators {
                    if let Some(wording) = ind.foreign_only.take() {
                        if foreign_only {
                            apply(ind, wording);
                        }
                    }
                }
            }
        }
        out.options = CatalogOptions::default();
        out
    }
}

fn apply(ind: &mut Indicator, wording: ForeignOnlyWording) {
    if let Some(t) = wording.title {
        ind.title = t;
    }
    if let Some(t) = wording.question {
        ind.question = t;
    }
    if let Some(t) = wording.evidence_hint {
        ind.evidence_hint = t;
    }
    for level in &mut ind.levels {
        if let Some(label) = wording.labels.get(level.id.as_str()) {
            level.label = label.clone();
        }
    }
}

/// Every text present, and every label naming one of the indicator's levels.
pub(crate) fn validate_foreign_only(
    ind: &Indicator,
    wording: &ForeignOnlyWording,
) -> Result<(), String> {
    for (name, text) in [
        ("title", &wording.title),
        ("question", &wording.question),
        ("evidence_hint", &wording.evidence_hint),
    ] {
        if let Some(text) = text {
            check_text(text).map_err(|p| format!("{name}: {p}"))?;
        }
    }
    for (level, label) in &wording.labels {
        if ind.level(level).is_none() {
            return Err(format!("label for unknown level {level:?}"));
        }
        check_text(label).map_err(|p| format!("label {level}: {p}"))?;
    }
    Ok(())
}
