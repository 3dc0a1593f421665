//! Why a storage call failed, as codes the handlers turn into answers.

use cdht_core::Code;

/// Why a storage call failed. `Refused` is a domain answer the client can act
/// on; the others are internal and never shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `message` is for the operator's command line and logs; clients get
    /// the code.
    #[error("{code}: {message}")]
    Refused {
        kind: Refusal,
        code: Code,
        message: String,
    },
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("stored data: {0}")]
    Corrupt(String),
}

/// The HTTP-ish class of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    Conflict,
    Invalid,
}

impl StorageError {
    /// The database stayed locked by other writers past the busy timeout, or
    /// no connection came free in time: nothing was done, try again later.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Database(rusqlite::Error::SqliteFailure(f, _)) => matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            // r2d2's only runtime error is a timeout waiting for a connection.
            Self::Pool(_) => true,
            _ => false,
        }
    }
    /// The database could not grow: the disk (or quota) is full. Nothing of
    /// the transaction was kept; the request may be sent again once an
    /// operator frees space.
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(
            self,
            Self::Database(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DiskFull
        )
    }
    /// A refusal worded by its code alone.
    pub fn refused(kind: Refusal, code: Code) -> Self {
        let message = code.fallback_vi();
        Self::Refused {
            kind,
            code,
            message,
        }
    }
    /// A refusal with its own words for the operator's command line.
    pub fn refused_saying(kind: Refusal, code: Code, message: impl Into<String>) -> Self {
        Self::Refused {
            kind,
            code,
            message: message.into(),
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;
