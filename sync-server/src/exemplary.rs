//! Exemplary Learning Citizen on the server: a person's status for a year is
//! `cdht_core::exemplary_status` over the years they were recognised, with
//! the rules of the catalog the server scores their assessment of that year
//! with (an installed revision may change `exemplary_consecutive_years`).
//! The streak only makes a person *eligible*; the title is granted by a
//! decision and stored apart (`POST /api/v1/units/{code}/exemplary`).

use crate::storage::{ExemplaryCandidate, StorageError, StorageResult};
use cdht_core::{Catalog, ExemplaryStatus};

/// The status of `candidate` for `year`, by the catalog of their recognised
/// assessment of that year among `catalogs` (the scoring catalogs). An
/// assessment was scored with its catalog when pushed and catalogs are never
/// removed, so an unknown one is stored data the server cannot read.
pub fn status(
    candidate: &ExemplaryCandidate,
    year: u16,
    catalogs: &[Catalog],
) -> StorageResult<ExemplaryStatus> {
    let catalog = catalogs
        .iter()
        .find(|c| c.id.as_str() == candidate.catalog)
        .ok_or_else(|| {
            StorageError::Corrupt(format!(
                "assessment {} names catalog {}, which the server does not have",
                candidate.assessment, candidate.catalog
            ))
        })?;
    Ok(cdht_core::exemplary_status(
        &candidate.recognised_years,
        i32::from(year),
        &catalog.rules,
    ))
}
