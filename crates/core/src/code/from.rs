//! The core's own errors as codes.

use super::Code;
use crate::qr::QrError;
use crate::score::{Improvement, ImprovementCode, ReasonKind, ScoreError};

impl From<&ScoreError> for Code {
    fn from(err: &ScoreError) -> Self {
        match err.clone() {
            ScoreError::UnknownCatalog { catalog, .. } => Self::UnknownCatalog { catalog },
            ScoreError::UnknownGroup { group, .. } => Self::UnknownGroup { group },
            ScoreError::UnknownIndicator { indicator } => Self::UnknownIndicator { indicator },
            ScoreError::DuplicateIndicator { indicator } => Self::DuplicateIndicator { indicator },
            ScoreError::MissingIndicators { indicators } => Self::MissingIndicators { indicators },
            ScoreError::PointsOutOfRange {
                indicator,
                points,
                max,
            } => Self::PointsOutOfRange {
                indicator,
                points,
                max,
            },
            ScoreError::UnknownLevel {
                indicator, level, ..
            } => Self::UnknownLevel { indicator, level },
        }
    }
}

impl From<&QrError> for Code {
    fn from(err: &QrError) -> Self {
        match err {
            QrError::NotCdht => Self::QrNotCdht,
            QrError::NewerVersion(_) => Self::QrNewerVersion,
            QrError::BadUnitCode(unit) => Self::QrBadUnitCode { unit: unit.clone() },
            QrError::BadJoinKey => Self::QrBadJoinKey,
            QrError::BadServer(_) => Self::QrBadServer,
        }
    }
}

impl From<&ReasonKind> for Code {
    fn from(kind: &ReasonKind) -> Self {
        let ids = |ids: &[crate::ids::IndicatorId]| ids.iter().map(|i| i.to_string()).collect();
        match kind {
            ReasonKind::BelowThreshold {
                total,
                threshold,
                short_by,
            } => Self::BelowThreshold {
                total: *total,
                threshold: *threshold,
                short_by: *short_by,
            },
            ReasonKind::IndicatorBelowMinimum {
                indicator,
                points,
                min,
            } => Self::IndicatorBelowMinimum {
                indicator: indicator.to_string(),
                points: *points,
                min: *min,
            },
            ReasonKind::Unanswered { indicators } => Self::Unanswered {
                indicators: ids(indicators),
            },
        }
    }
}

impl From<&Improvement> for Code {
    fn from(imp: &Improvement) -> Self {
        let indicator = imp.indicator.to_string();
        match (imp.code, &imp.level) {
            (ImprovementCode::RaiseIndicatorToLevel, Some(level)) => Self::RaiseIndicatorToLevel {
                indicator,
                from: imp.from,
                to: imp.to,
                gain: imp.gain,
                level: level.to_string(),
            },
            _ => Self::RaiseIndicator {
                indicator,
                from: imp.from,
                to: imp.to,
                gain: imp.gain,
            },
        }
    }
}
