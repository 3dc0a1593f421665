//! Evidence: asking which photos the server already holds, and how much of each.

#[allow(clippy::wildcard_imports)]
use super::*;

/// `POST /api/v1/evidence/status`: what does the server have of these photos?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// Lower-case hex sha256 of each photo (64 characters), at most 500.
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub sha256: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceQueryResponse {
    pub items: Vec<EvidenceStatus>,
}

/// How much of one photo the server holds. Upload the rest from `received`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceStatus {
    pub sha256: String,
    /// The size announced by the evidence record (0 if no record names it yet).
    pub size: u64,
    /// Bytes received and kept so far: the offset of the next chunk.
    pub received: u64,
    pub complete: bool,
}

impl EvidenceStatus {
    /// A photo the server holds nothing of, and no record it may see names.
    #[must_use]
    pub fn unknown(sha256: &str) -> Self {
        Self {
            sha256: sha256.to_owned(),
            size: 0,
            received: 0,
            complete: false,
        }
    }
}
