//! Why a storage call failed, as codes the handlers turn into answers. The
//! type names no database driver: each backend says which of its errors mean
//! busy or full (the `sqlite` feature does it for rusqlite and r2d2 here, so
//! the SQLite backend's `?` keeps working).

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
    /// Other writers held the database past the wait, or no connection came
    /// free in time: nothing was done, try again later.
    #[error("database busy: {0}")]
    Busy(String),
    /// The database could not grow: the disk (or quota) is full. Nothing of
    /// the transaction was kept.
    #[error("database full: {0}")]
    Full(String),
    /// Any other failure of the database or its driver.
    #[error("database: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    #[error("stored data: {0}")]
    Corrupt(String),
    /// The database was migrated by a newer server than this one: this
    /// binary would misread it, so it refuses to open it.
    #[error(
        "the database's schema is version {found}, newer than this server knows ({known}): \
         run the newer cdht-server that migrated it"
    )]
    SchemaTooNew { found: u32, known: u32 },
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
        matches!(self, Self::Busy(_))
    }
    /// The database could not grow: the disk (or quota) is full. Nothing of
    /// the transaction was kept; the request may be sent again once an
    /// operator frees space.
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }
    /// Any other driver error, kept whole for the logs.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
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
    /// An exemplary title refused: `person` has `streak` of the `required`
    /// recognised years up to `year`.
    pub fn not_eligible(person: String, year: u32, streak: u32, required: u32) -> Self {
        let code = Code::NotEligible {
            person,
            year,
            streak,
            required,
        };
        Self::refused(Refusal::Conflict, code)
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

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Self::Busy(e.to_string()),
                ErrorCode::DiskFull => Self::Full(e.to_string()),
                _ => Self::backend(e),
            },
            _ => Self::backend(e),
        }
    }
}

/// r2d2's only runtime error is a timeout waiting for a connection.
#[cfg(feature = "r2d2")]
impl From<r2d2::Error> for StorageError {
    fn from(e: r2d2::Error) -> Self {
        Self::Busy(format!("connection pool: {e}"))
    }
}

pub type StorageResult<T> = Result<T, StorageError>;
