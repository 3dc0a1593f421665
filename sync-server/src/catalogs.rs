//! `cdht-server catalogs add|list`: criteria catalogs installed on a server
//! (a corrected wording or level table, or a new decision) without a new
//! build. An installed catalog replaces the embedded one of the same id when
//! its `revision` is higher; every device pulls it as a catalog change, so
//! the server and the phones score with the same catalog.

use crate::storage::Storage;
use cdht_core::Catalog;
use serde::Serialize;

/// Why a catalog file was not installed: a stable code and one line.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CatalogFileError {
    pub code: &'static str,
    pub message: String,
}

/// A catalog as `catalogs add` and `catalogs list` print it.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogOut {
    pub id: String,
    pub revision: u32,
    pub decision: String,
    pub draft: bool,
    /// `embedded` (built into this binary) or `installed` (`catalogs add`).
    pub source: &'static str,
    pub groups: Vec<String>,
    /// The title and each group's name as people read them (Vietnamese).
    pub title: String,
    pub group_names: Vec<String>,
    /// Each rule's value and where it comes from (`cdht_core::provenance`).
    pub rules: Vec<RuleOut>,
    /// The operator's choices (`"options"` in the catalog file).
    pub options: cdht_core::catalog::CatalogOptions,
}

/// A rule as `catalogs list` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOut {
    pub rule: &'static str,
    pub value: u32,
    pub status: cdht_core::provenance::RuleStatus,
    pub sources: &'static [&'static str],
    #[serde(skip_serializing_if = "str::is_empty")]
    pub how_to_switch_off: &'static str,
}

fn out(c: &Catalog, source: &'static str) -> CatalogOut {
    let r = &c.rules;
    let value = |rule: &str| match rule {
        "pass_threshold" => r.pass_threshold,
        "difficult_area_threshold" => r.difficult_area_threshold,
        "min_indicator_points" => r.min_indicator_points,
        _ => r.exemplary_consecutive_years,
    };
    CatalogOut {
        id: c.id.to_string(),
        revision: c.revision,
        decision: c.decision.clone(),
        draft: c.draft,
        source,
        groups: c.groups.iter().map(|g| g.id.to_string()).collect(),
        title: c.title.vi.clone(),
        group_names: c.groups.iter().map(|g| g.name.vi.clone()).collect(),
        options: c.options,
        rules: cdht_core::provenance::RULES
            .iter()
            .map(|p| RuleOut {
                rule: p.rule,
                value: value(p.rule),
                status: p.status,
                sources: p.sources,
                how_to_switch_off: p.how_to_switch_off,
            })
            .collect(),
    }
}

/// Checks a catalog file with the core's validation, refuses a revision that
/// is not above the embedded or installed one of the same id, installs it
/// and queues its change for every device.
pub fn add(storage: &dyn Storage, file_name: &str, json: &str) -> anyhow::Result<CatalogOut> {
    let catalog = Catalog::from_json(file_name, json).map_err(|e| CatalogFileError {
        code: "invalid_catalog",
        message: e.to_string(),
    })?;
    let embedded = cdht_core::embedded_catalog(catalog.id.as_str())?;
    if let Some(shipped) = embedded {
        if catalog.revision <= shipped.revision {
            return Err(CatalogFileError {
                code: "stale_revision",
                message: format!(
                    "catalog {} revision {} is not above the revision {} built into the server; \
                     give the corrected file a higher \"revision\"",
                    catalog.id, catalog.revision, shipped.revision
                ),
            }
            .into());
        }
    }
    // The installed revision is checked again inside the storage transaction.
    storage.add_catalog(&catalog)?;
    Ok(out(&catalog, "installed"))
}

/// The catalogs the server scores with: embedded ones, each replaced by an
/// installed one of a higher revision, and installed ones of new ids.
pub fn list(storage: &dyn Storage) -> anyhow::Result<Vec<CatalogOut>> {
    let embedded = cdht_core::embedded_catalogs()?;
    let installed = storage.catalogs()?;
    Ok(
        cdht_core::catalog::merge_catalogs_as_written(embedded, &installed)
            .iter()
            .map(|c| {
                let from_file = installed
                    .iter()
                    .any(|i| i.id == c.id && i.revision == c.revision)
                    && !embedded
                        .iter()
                        .any(|e| e.id == c.id && e.revision == c.revision);
                out(c, if from_file { "installed" } else { "embedded" })
            })
            .collect(),
    )
}
