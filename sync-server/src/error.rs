//! Every error answer is `{"code": "...", "message": "...", "params": {...}}`
//! from one [`Code`]; `message` is the code's Vietnamese fallback for old
//! apps. Internal error text is logged, never sent.

use crate::storage::{Refusal, StorageError};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cdht_core::sync::ErrorBody;
use cdht_core::Code;
use serde::de::DeserializeOwned;

/// How long a client told `503 busy` should wait: a crowd's burst of writes
/// clears in about that time.
pub const BUSY_RETRY_AFTER_SECS: u32 = 2;
/// How long a client told `507 server_storage_full` should wait: freeing
/// space takes an operator, so devices come back in minutes, not seconds.
pub const FULL_RETRY_AFTER_SECS: u32 = 300;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// What went wrong, with its parameters: the answer's `code` and
    /// `params`, and its `message` (the Vietnamese fallback for old apps).
    pub code: Code,
    /// Seconds for a `Retry-After` header (a busy server says when to come back).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Code) -> Self {
        Self {
            status,
            code,
            retry_after: None,
        }
    }
    pub fn bad_request(code: Code) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code)
    }
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, Code::Unauthenticated)
    }
    pub fn out_of_scope() -> Self {
        Self::new(StatusCode::FORBIDDEN, Code::OutOfScope)
    }
    pub fn forbidden_role() -> Self {
        Self::new(StatusCode::FORBIDDEN, Code::ForbiddenRole)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, Code::NotFound)
    }
    /// The database stayed busy past its wait (a crowd of writers): the
    /// request did nothing and may be sent again as is.
    pub fn busy() -> Self {
        Self {
            retry_after: Some(BUSY_RETRY_AFTER_SECS),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, Code::Busy)
        }
    }
    /// The disk (or quota) under the database or the photos is full. What
    /// the server acknowledged before stays; this request did nothing and
    /// may be sent again as is once there is space.
    pub fn storage_full() -> Self {
        Self {
            retry_after: Some(FULL_RETRY_AFTER_SECS),
            ..Self::new(StatusCode::INSUFFICIENT_STORAGE, Code::ServerStorageFull)
        }
    }
    /// A failure to store something: `507` when the disk is full (the
    /// operator is told plainly), else `500`.
    pub fn storing(what: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        if is_disk_full(error) {
            tracing::error!(error = %error, "the disk is full: cannot store {what}; free space");
            Self::storage_full()
        } else {
            tracing::error!(error = %error, "cannot store {what}");
            Self::internal()
        }
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let received = match self.code {
            Code::OffsetMismatch { received } => Some(received),
            _ => None,
        };
        let body = ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.code.fallback_vi(),
            received,
            params: self.code.params(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Refused { kind, code, .. } => {
                let status = match kind {
                    Refusal::NotFound => StatusCode::NOT_FOUND,
                    Refusal::Conflict => StatusCode::CONFLICT,
                    Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Self::new(status, code)
            }
            other if other.is_full() => {
                tracing::error!(error = %other, "the disk is full: the database cannot grow; free space");
                Self::storage_full()
            }
            other if other.is_busy() => {
                tracing::warn!(error = %other, "database busy");
                Self::busy()
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                Self::internal()
            }
        }
    }
}

/// Whether an error, or one of its causes, is "no space left on device" (or
/// over a disk quota).
pub fn is_disk_full(error: &(dyn std::error::Error + 'static)) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(ENOSPC | EDQUOT))
            {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// `axum::Json`, but a bad body is a typed JSON error, never plain text.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let value = json_value(req, state).await?;
        decode_json(&value).map(Self)
    }
}

/// A JSON body both as `T` and as the bytes sent, for what is checked
/// against the body as sent (protocol 2's record hashes read it as a JSON
/// value, [`ApiJsonWithBytes::value`]).
pub struct ApiJsonWithBytes<T>(pub T, pub bytes::Bytes);

impl<T> ApiJsonWithBytes<T> {
    /// The body as a JSON value (it parsed as `T`, so it is JSON).
    pub fn value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
        serde_json::from_slice(bytes).map_err(|_| ApiError::bad_request(Code::BadJson))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJsonWithBytes<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = json_bytes(req, state).await?;
        // Straight into `T`: a push of 200 records parsed into a value first
        // spent 6 µs a record there (BENCHMARKS.md, issue 17). A body that
        // does not parse so goes the way of `ApiJson`, for its error (or its
        // reading, should a value read where `T` did not).
        let typed = match serde_json::from_slice(&bytes) {
            Ok(typed) => typed,
            Err(_) => decode_json(&Self::value(&bytes)?)?,
        };
        Ok(Self(typed, bytes))
    }
}

async fn json_value<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<serde_json::Value, ApiError> {
    let bytes = json_bytes(req, state).await?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::bad_request(Code::BadJson))
}

/// The body of a request that says it is JSON.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<bytes::Bytes, ApiError> {
    let is_json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
        ));
    }
    bytes::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                payload_too_large()
            } else {
                ApiError::bad_request(Code::BadRequest)
            }
        })
}

/// Reads a JSON value as `T`. A value of the wrong shape is `invalid_body`
/// with the place (a JSON path such as `records[0].body.year`), never
/// serde's English.
pub fn decode_json<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let place = e.path().to_string();
        let place = (!place.is_empty() && place != ".").then(|| short(&place));
        ApiError::bad_request(Code::InvalidBody { place })
    })
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, Code::PayloadTooLarge)
}

fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

/// `axum::extract::Query` with a typed error.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| {
                tracing::debug!(error = %short(&e.body_text()), "bad query");
                ApiError::bad_request(Code::BadQuery { param: None })
            })
    }
}

/// `axum::extract::Path` with a typed error.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|_: PathRejection| ApiError::bad_request(Code::BadPath))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rusqlite::{Connection, TransactionBehavior};

    /// A real SQLITE_BUSY (another connection holds the write lock, no wait)
    /// answers 503 `busy` with `Retry-After`, never 500.
    #[test]
    fn a_busy_database_is_503_with_retry_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let mut holder = Connection::open(&path).unwrap();
        holder.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        let _lock = holder
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let mut other = Connection::open(&path).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let e = other
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map(|_| ())
            .unwrap_err();
        let storage = StorageError::from(e);
        assert!(storage.is_busy(), "{storage}");
        let response = ApiError::from(storage).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[axum::http::header::RETRY_AFTER],
            BUSY_RETRY_AFTER_SECS.to_string().as_str()
        );
    }
}
