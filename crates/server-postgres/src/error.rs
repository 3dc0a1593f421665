//! This backend's errors, and what the handlers see of them.

use cdht_server_db::StorageError;
use postgres::error::SqlState;

/// Why a call failed inside this backend. Handlers see a [`StorageError`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("postgres: {}", pg_message(.0))]
    Pg(#[from] postgres::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// TLS to the database could not be set up (its roots, its protocols).
    #[error("TLS: {0}")]
    Tls(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The server's own words (code, message, detail) when it sent any: the
/// client error's Display says only "db error".
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({}): {detail}", db.message(), db.code().code()),
            None => format!("{} ({})", db.message(), db.code().code()),
        },
        // The cause too: "error performing TLS handshake" alone does not say
        // that the certificate was not trusted.
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text = format!("{text}: {c}");
                cause = c.source();
            }
            text
        }
    }
}

impl Error {
    /// Another transaction was in the way (serialization failure, deadlock,
    /// lock timeout) or no connection came free in time: nothing was done,
    /// the request may be sent again.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Pg(e) => e.code().is_some_and(|c| {
                *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::LOCK_NOT_AVAILABLE
                    || *c == SqlState::QUERY_CANCELED
            }),
            // r2d2's only runtime error is a timeout waiting for a connection.
            Self::Pool(_) => true,
            _ => false,
        }
    }

    /// The server's disk is full (53100): nothing of the transaction was kept.
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Pg(e) if e.code() == Some(&SqlState::DISK_FULL))
    }

    /// A unique or foreign key constraint refused the write.
    #[must_use]
    pub fn is_constraint(&self) -> bool {
        matches!(self, Self::Pg(e) if e.code().is_some_and(|c|
            *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::FOREIGN_KEY_VIOLATION))
    }
}

impl From<Error> for StorageError {
    fn from(e: Error) -> Self {
        match e {
            Error::Storage(s) => s,
            other if other.is_busy() => StorageError::Busy(other.to_string()),
            other if other.is_full() => StorageError::Full(other.to_string()),
            // Kept whole, with this type's Display (the server's own words).
            other => StorageError::backend(other),
        }
    }
}

/// Stored data that does not read back as what was written.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Storage(StorageError::Corrupt(what.to_string()))
}
