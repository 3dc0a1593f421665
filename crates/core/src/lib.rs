//! The pure core of CDHT: criteria catalogs, scoring, exemplary streaks and the
//! types both the app and the sync server share, so that a phone and the
//! server can never disagree on a score. No IO lives here.

pub mod assessment;
pub mod catalog;
pub mod cccd;
pub mod chunking;
pub mod code;
pub mod digest;
pub mod exemplary;
pub mod fold;
pub mod ids;
pub mod jcs;
pub mod options;
pub mod provenance;
pub mod qr;
pub mod score;
pub mod sync;
pub mod text;

pub use assessment::{Answer, Answers, AreaType, AssessmentInput};
pub use catalog::{embedded_catalog, embedded_catalogs, merge_catalogs, Catalog, CatalogError};
pub use cccd::Cccd;
pub use code::Code;
pub use exemplary::{exemplary_status, ExemplaryStatus};
pub use score::{score, score_with, Completeness, ProvisionalRule, ScoreError, ScoreResult};
