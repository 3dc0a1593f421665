//! Pull: the changes a device receives since its cursor, and the review
//! states they carry.

#[allow(clippy::wildcard_imports)]
use super::*;

/// `GET /api/v1/pull?since=CURSOR&limit=N`: what changed in the device's unit
/// since its cursor (0 for the first pull). Repeat with the returned cursor
/// while `more` is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub cursor: u64,
    pub more: bool,
    pub changes: Vec<ServerChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerChange {
    /// The server's change sequence; the last one is the next cursor.
    pub seq: u64,
    pub at: String,
    #[serde(flatten)]
    pub change: Change,
}

/// The server-authoritative states of an assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Draft,
    Submitted,
    Approved,
    /// Sent back to the person with a reason; the device may edit and resubmit.
    Returned,
    Recognised,
}

impl ReviewState {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Returned => "returned",
            Self::Recognised => "recognised",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "submitted" => Self::Submitted,
            "approved" => Self::Approved,
            "returned" => Self::Returned,
            "recognised" => Self::Recognised,
            _ => return None,
        })
    }

    /// Whether a device may still push a new version of the assessment.
    #[must_use]
    pub const fn device_may_edit(self) -> bool {
        matches!(self, Self::Draft | Self::Submitted | Self::Returned)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// An officer approved or returned an assessment.
    Review {
        assessment: AssessmentId,
        state: ReviewState,
        /// The reason given when returned, shown to the person.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The commune level recognised the assessment.
    Recognition {
        assessment: AssessmentId,
        decision_no: String,
        decision_date: String,
    },
    /// The unit's name, kind, parent or (inherited) area type changed.
    Unit { unit: UnitInfo },
    /// The server's current version of a record pushed by another device,
    /// for the devices whose scope covers it ([`DeviceScope`]). Person
    /// records never carry the CCCD (`cccd: None`, `keep_cccd` says whether
    /// the server holds one), so `record.hash` is the hash of the body as
    /// sent here. Changes come in the order the server stored them (a
    /// person before its assessments, an assessment before its evidence).
    Record {
        /// The unit that owns the record.
        unit: UnitCode,
        /// That unit's area type, which the assessment was scored with.
        area: AreaType,
        record: RecordEnvelope,
    },
    /// A catalog installed or corrected on the server (`cdht-server catalogs
    /// add`); it replaces a catalog of the same id with a lower revision.
    Catalog { catalog: Catalog },
}

impl Change {
    /// The `kind` this change is written with, as a name a change log keeps.
    #[must_use]
    pub const fn kind_name(&self) -> &'static str {
        match self {
            Self::Review { .. } => "review",
            Self::Recognition { .. } => "recognition",
            Self::Unit { .. } => "unit",
            Self::Record { .. } => "record",
            Self::Catalog { .. } => "catalog",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The name a change log keeps is the `kind` its JSON carries.
    #[test]
    fn kind_name_is_the_json_kind() {
        let unit = UnitInfo {
            code: UnitCode::new("U1"),
            name: "Chi hội".into(),
            kind: "branch".into(),
            parent: None,
            area: AreaType::Normal,
        };
        let recognition = Change::Recognition {
            assessment: AssessmentId::new_v7(),
            decision_no: "1".into(),
            decision_date: "2026-12-01".into(),
        };
        let review = Change::Review {
            assessment: AssessmentId::new_v7(),
            state: ReviewState::Approved,
            reason: None,
        };
        let catalog = Change::Catalog {
            catalog: crate::embedded_catalogs().unwrap()[0].clone(),
        };
        for change in [Change::Unit { unit }, recognition, review, catalog] {
            let json = serde_json::to_value(&change).unwrap();
            assert_eq!(json["kind"], change.kind_name());
        }
    }
}
