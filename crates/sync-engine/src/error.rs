//! What a sync round can fail with, sorted by what the app does about it.

use cdht_core::Code;
use cdht_store::StoreError;
use cdht_sync_client::{Params, SyncError as ClientError};

/// The branch the UI takes on a failed round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncErrorKind {
    /// No connection, a timeout or a cut link: keep everything, try again when
    /// the connection is back.
    Offline,
    /// The server is busy or failing (5xx, 429): keep everything, back off.
    RetryLater,
    /// The network works but nothing answers at the joined address (the name
    /// does not exist, or nothing listens there): keep everything and retry,
    /// and tell the person that a wrong address will not fix itself.
    ServerNotAnswering,
    /// The joined address answers, but it is not a CDHT server: keep
    /// everything; the way out is to scan the unit's QR code again.
    NotCdht,
    /// The device token is unknown (or the device never enrolled): scan the
    /// unit QR again. The person stays in the app and loses nothing.
    AuthExpired,
    /// TLS refused the server's certificate: not "offline"; a person must fix
    /// the server address or trust the right certificate.
    CertificateUntrusted,
    /// The server refused the request as it is (bad QR, out of scope, a
    /// malformed batch): show the reason.
    Rejected,
    /// The local database failed (disk full, corrupt, too new).
    Store,
    /// An officer logging in on the device typed a wrong username or
    /// password: ask again (the device's own token is fine).
    BadCredentials,
    /// The officer is not a collector (or admin) of this device's unit.
    ForbiddenRole,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("offline: {0}")]
    Offline(String),
    #[error("the server cannot take it now ({code})")]
    RetryLater { code: String, message: String },
    #[error("no server answers at this address: {0}")]
    ServerNotAnswering(String),
    #[error("the address answers, but it is not a CDHT server: {0}")]
    NotCdht(String),
    #[error("enrol again ({code}): {message}")]
    AuthExpired { code: String, message: String },
    #[error("the server's certificate is not trusted: {0}")]
    CertificateUntrusted(String),
    #[error("refused ({code}): {message}")]
    Rejected {
        code: String,
        message: String,
        /// The code's params as the server sent them.
        params: Params,
    },
    /// Refused on the device before anything was sent (a QR code, a plain
    /// HTTP address, an answer outside the protocol).
    #[error("refused ({code}): {detail}")]
    RefusedHere { code: Code, detail: String },
    #[error("local database: {0}")]
    Store(#[from] StoreError),
    #[error("wrong officer username or password ({code})")]
    BadCredentials { code: String, message: String },
    #[error("the officer may not collect for this unit ({code}): {message}")]
    ForbiddenRole { code: String, message: String },
}

impl SyncError {
    #[must_use]
    pub const fn kind(&self) -> SyncErrorKind {
        match self {
            Self::Offline(_) => SyncErrorKind::Offline,
            Self::RetryLater { .. } => SyncErrorKind::RetryLater,
            Self::ServerNotAnswering(_) => SyncErrorKind::ServerNotAnswering,
            Self::NotCdht(_) => SyncErrorKind::NotCdht,
            Self::AuthExpired { .. } => SyncErrorKind::AuthExpired,
            Self::CertificateUntrusted(_) => SyncErrorKind::CertificateUntrusted,
            Self::Rejected { .. } | Self::RefusedHere { .. } => SyncErrorKind::Rejected,
            Self::Store(_) => SyncErrorKind::Store,
            Self::BadCredentials { .. } => SyncErrorKind::BadCredentials,
            Self::ForbiddenRole { .. } => SyncErrorKind::ForbiddenRole,
        }
    }

    /// Whether the background loop should simply try again later.
    #[must_use]
    pub const fn is_retry_later(&self) -> bool {
        matches!(
            self,
            Self::Offline(_)
                | Self::RetryLater { .. }
                | Self::ServerNotAnswering(_)
                | Self::NotCdht(_)
        )
    }

    /// The machine-readable code, when there is one.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::RetryLater { code, .. }
            | Self::AuthExpired { code, .. }
            | Self::Rejected { code, .. }
            | Self::BadCredentials { code, .. }
            | Self::ForbiddenRole { code, .. } => Some(code),
            Self::RefusedHere { code, .. } => Some(code.as_str()),
            _ => None,
        }
    }

    /// What went wrong as the code the UI words (a server's refusal keeps
    /// its code; one this version does not know keeps the server's message).
    #[must_use]
    pub fn as_code(&self) -> Code {
        match self {
            Self::Offline(_) => Code::Offline,
            Self::RetryLater { .. } => Code::RetryLater,
            Self::ServerNotAnswering(_) => Code::ServerNotAnswering,
            Self::NotCdht(_) => Code::NotCdht,
            Self::AuthExpired { .. } => Code::AuthExpired,
            Self::CertificateUntrusted(_) => Code::CertificateUntrusted,
            Self::Rejected {
                code,
                message,
                params,
            } => Code::from_wire(code, Some(params), message),
            Self::RefusedHere { code, .. } => code.clone(),
            Self::Store(err) => err.code(),
            Self::BadCredentials { .. } => Code::BadCredentials,
            Self::ForbiddenRole { .. } => Code::ForbiddenRole,
        }
    }
}

impl From<ClientError> for SyncError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Network(text) => Self::Offline(text),
            ClientError::NoServer(text) => Self::ServerNotAnswering(text),
            ClientError::NotCdht(text) => Self::NotCdht(text),
            ClientError::Certificate(text) => Self::CertificateUntrusted(text),
            ClientError::Unavailable { code, message, .. } => Self::RetryLater { code, message },
            // An officer's password, not the device token: ask again, do not re-enrol.
            ClientError::Unauthenticated { code, message } if code == "bad_credentials" => {
                Self::BadCredentials { code, message }
            }
            ClientError::Unauthenticated { code, message } => Self::AuthExpired { code, message },
            ClientError::Forbidden { code, message, .. } if code == "forbidden_role" => {
                Self::ForbiddenRole { code, message }
            }
            ClientError::Forbidden {
                code,
                message,
                params,
            }
            | ClientError::Conflict {
                code,
                message,
                params,
            }
            | ClientError::Rejected {
                code,
                message,
                params,
                ..
            } => Self::Rejected {
                code,
                message,
                params,
            },
            ClientError::Protocol(text) => Self::RefusedHere {
                code: Code::Protocol,
                detail: text,
            },
            ClientError::InsecureServer(server) => Self::RefusedHere {
                code: Code::InsecureServer {
                    server: server.to_string(),
                },
                detail: format!("plain HTTP to {server}"),
            },
            ClientError::Qr(qr) => Self::RefusedHere {
                code: Code::from(&qr),
                detail: qr.to_string(),
            },
        }
    }
}
