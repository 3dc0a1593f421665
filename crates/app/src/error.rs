//! The one error type every command returns. The UI words `code` (with its
//! parameters) from its catalogs in the chosen language and branches on
//! `kind`, the code's name; `detail` is English for logs and support. No
//! sentence for people is made here.

use cdht_core::qr::QrError;
use cdht_core::{Code, ScoreError};
use cdht_photo::{PhotoError, PhotoErrorKind};
use cdht_store::StoreError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[error("{kind}: {detail}")]
pub struct AppError {
    /// The code's name (`code.code`), for the UI's branches.
    pub kind: String,
    // Boxed: a code with its params is large, and every command's `Err` holds one.
    pub code: Box<Code>,
    pub detail: String,
}

impl AppError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            kind: code.as_str().to_owned(),
            code: Box::new(code),
            detail: detail.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        Self::new(err.code(), err.to_string())
    }
}

impl From<QrError> for AppError {
    fn from(err: QrError) -> Self {
        Self::new(Code::from(&err), err.to_string())
    }
}

impl From<PhotoError> for AppError {
    fn from(err: PhotoError) -> Self {
        let code = match &err {
            PhotoError::TooLarge { max, .. } => Code::PhotoTooLarge {
                max_mb: max.div_ceil(1024 * 1024) as u64,
            },
            PhotoError::UnsupportedFormat { format } => Code::PhotoUnsupportedFormat {
                format: format.clone(),
            },
            _ => match err.kind() {
                PhotoErrorKind::Empty => Code::PhotoEmpty,
                PhotoErrorKind::NotAnImage => Code::PhotoNotAnImage,
                PhotoErrorKind::Corrupt => Code::PhotoCorrupt,
                PhotoErrorKind::DimensionsTooLarge => Code::PhotoDimensionsTooLarge,
                _ => Code::PhotoInternal,
            },
        };
        Self::new(code, err.to_string())
    }
}

impl From<ScoreError> for AppError {
    fn from(err: ScoreError) -> Self {
        Self::new(Code::from(&err), err.to_string())
    }
}
