//! The store's error type. The UI branches on [`StoreError::kind`]; the message
//! is for logs and support, not for end users.

use rusqlite::ErrorCode;
use serde::Serialize;
use std::io;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What went wrong, coarsely enough for the UI to pick a message and an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    /// The change contradicts what is stored (e.g. a review step out of order).
    Conflict,
    /// The assessment is with the reviewers (submitted, approved, recognised):
    /// the device may not change it until it is returned.
    Locked,
    InvalidInput,
    DiskFull,
    Corrupt,
    /// The database was written by a newer app version; update the app.
    TooNew,
    /// Another connection held the database longer than the busy timeout.
    Busy,
    /// The database is encrypted and its key cannot be had now (the OS secret
    /// store is locked or unreachable, or the key file is unreadable). The file
    /// is left untouched; unlock the store and start again.
    KeyUnavailable,
    Io,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("assessment {assessment_id} is {status} and cannot be changed on this device")]
    Locked {
        assessment_id: String,
        status: &'static str,
    },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A sync rule refuses the action (a delete after review, …): the code
    /// says why.
    #[error("refused: {}", .0.as_str())]
    Refused(cdht_core::Code),
    #[error("not enough free storage: {0}")]
    DiskFull(String),
    #[error("database is damaged: {0}")]
    Corrupt(String),
    #[error(
        "database schema version {found} is newer than this app supports ({supported}); \
         update the app (the database is left untouched)"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("database busy: {0}")]
    Busy(String),
    #[error("the database key is not available: {0}")]
    KeyUnavailable(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("database error: {0}")]
    Database(#[source] rusqlite::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Locked { .. } | Self::Refused(_) => ErrorKind::Locked,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::DiskFull(_) => ErrorKind::DiskFull,
            Self::Corrupt(_) => ErrorKind::Corrupt,
            Self::TooNew { .. } => ErrorKind::TooNew,
            Self::Busy(_) => ErrorKind::Busy,
            Self::KeyUnavailable(_) => ErrorKind::KeyUnavailable,
            Self::Io { .. } => ErrorKind::Io,
            Self::Database(_) | Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The failure as the code the UI words (the same code for the app's
    /// commands and its sync loop).
    #[must_use]
    pub fn code(&self) -> cdht_core::Code {
        use cdht_core::Code;
        if let Self::Refused(code) = self {
            return code.clone();
        }
        match self.kind() {
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::AlreadyExists => Code::AlreadyExists,
            ErrorKind::Conflict => Code::Conflict,
            ErrorKind::Locked => Code::Locked,
            ErrorKind::InvalidInput => Code::InvalidInput,
            ErrorKind::DiskFull => Code::DiskFull,
            ErrorKind::Corrupt => Code::Corrupt,
            ErrorKind::TooNew => Code::TooNew,
            ErrorKind::Busy => Code::Busy,
            ErrorKind::KeyUnavailable => Code::DatabaseKeyUnavailable,
            ErrorKind::Io | ErrorKind::Internal => Code::StorageError,
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidInput(msg.into())
    }

    /// An IO error with what we were doing; a full disk becomes [`ErrorKind::DiskFull`].
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        let context = context.into();
        if source.kind() == io::ErrorKind::StorageFull {
            Self::DiskFull(format!("{context}: {source}"))
        } else {
            Self::Io { context, source }
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        let message = err.to_string();
        match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::DiskFull(message),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Self::Corrupt(message),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Busy(message),
            Some(ErrorCode::ConstraintViolation) => Self::Conflict(message),
            _ => Self::Database(err),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(format!("JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdht_core::Code;

    #[test]
    fn each_failure_is_the_code_the_ui_words() {
        let locked = StoreError::Locked {
            assessment_id: "a".into(),
            status: "submitted",
        };
        assert_eq!(locked.code(), Code::Locked);
        let full = StoreError::io("writing", io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(full.code(), Code::DiskFull);
        let key = StoreError::KeyUnavailable("keyring locked".into());
        assert_eq!(key.code(), Code::DatabaseKeyUnavailable);
        let newer = StoreError::TooNew {
            found: 9,
            supported: 3,
        };
        assert_eq!(newer.code(), Code::TooNew);
        assert_eq!(StoreError::Internal("x".into()).code(), Code::StorageError);
    }
}
