//! Devices enrolling with a unit's join key, officers logging in with a
//! password, and an officer bound to (or unbound from) a device.

use super::{bearer, device, invalid_text};
use crate::error::{ApiError, ApiJson};
use crate::storage::{EnrolDevice, Subject};
use crate::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use cdht_core::sync::{
    DeviceOfficerResponse, DeviceScope, EnrolRequest, EnrolResponse, ErrorBody, LoginRequest,
    LoginResponse, Role, RoleGrant,
};
use cdht_core::text::has_forbidden_char;
use cdht_core::Code;
use std::net::SocketAddr;

// ------------------------------------------------------------ enrol, login

#[utoipa::path(
    post,
    path = "/enrol",
    tag = "device",
    summary = "Enrol a device with a unit code and its join key",
    request_body = EnrolRequest,
    responses(
        (status = 200, description = "Enrolled; the token is shown once. `device_id` is the id asked for, or a new one when that id is enrolled already and the request does not carry its current token (`Authorization: Bearer`)", body = EnrolResponse),
        (status = 400, description = "`invalid_text` (a control or bidi character in `device_label`), `bad_json`, `invalid_body` or `bad_request`: the body is not the JSON expected", body = ErrorBody),
        (status = 401, description = "`bad_join_key`: the unit code or join key is wrong", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed attempts from this address (or for this username)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody),
        (status = 507, description = "`server_storage_full`: the server's disk is full; nothing of this request was kept (what was acknowledged before stays); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn enrol(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    if req
        .device_label
        .as_deref()
        .is_some_and(|l| has_forbidden_char(l, false))
    {
        return Err(invalid_text("device_label"));
    }
    let key = format!("join:{}", state.client_ip(peer, &headers));
    let Some(attempt) = state.limiter.attempt(&[&key]).await else {
        return Err(rate_limited());
    };
    let (token, hash) = crate::new_token().map_err(|_| ApiError::internal())?;
    let label = req
        .device_label
        .clone()
        .map(|l| l.chars().take(100).collect::<String>());
    let unit = req.unit.as_str().trim().to_ascii_uppercase();
    let join_key = req.join_key.trim().to_ascii_uppercase();
    // A phone re-enrolling proves it is itself with its current token.
    let current = bearer(&headers).map(crate::token_hash);
    let requested = req.device_id;
    let enrolled = state
        .db(move |s| {
            let device = EnrolDevice {
                device_id: requested,
                label: label.as_deref(),
                current_token_hash: current.as_deref(),
            };
            s.enrol_device(&unit, &join_key, device, &hash)
        })
        .await?;
    let Some((row, last_push_seq, device_id)) = enrolled else {
        attempt.failed();
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, Code::BadJoinKey));
    };
    attempt.succeeded();
    Ok(Json(EnrolResponse {
        device_id,
        token,
        unit: row.info(),
        last_push_seq,
        scope: DeviceScope::OwnRecords,
    }))
}

fn rate_limited() -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::RateLimited)
}

/// Checks an officer's username and password, rate-limited per client
/// address and per username (shared by the login and the device binding).
/// Returns the officer's id and grants.
async fn check_password(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    req: &LoginRequest,
) -> Result<(i64, Vec<RoleGrant>), ApiError> {
    let ip_key = format!("login:{}", state.client_ip(peer, headers));
    let user_key = format!("login-user:{}", req.username);
    // Counted before the slow check, so parallel guesses cannot all get one.
    let keys = [ip_key.as_str(), user_key.as_str()];
    let Some(attempt) = state.limiter.attempt(&keys).await else {
        return Err(rate_limited());
    };
    let username = req.username.clone();
    let found = state.db(move |s| s.officer_login(&username)).await?;
    let password = req.password.clone();
    // An unknown username still costs one argon2 verification (against a
    // hash no password matches), so the answer takes as long as for a known
    // one and response times do not tell which usernames exist.
    let (hash, officer) = match found {
        Some((id, hash, grants)) => (hash, Some((id, grants))),
        None => (DUMMY_PASSWORD_HASH.to_owned(), None),
    };
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    match officer {
        Some(found) if ok => {
            attempt.succeeded();
            Ok(found)
        }
        _ => {
            attempt.failed();
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Code::BadCredentials,
            ))
        }
    }
}

/// An argon2id hash (the default parameters, as `hash_password` makes) of a
/// random password nobody knows: verified against when the username is
/// unknown, only to spend the same time.
const DUMMY_PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$S2GQG6TBNM/EzqtuhXxn2g$THGDu1xlglOMMUZ31m+hKoRB82aWh8GCmsaP+zVLNK0";

#[utoipa::path(
    post,
    path = "/login",
    tag = "officer",
    summary = "Officer password login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the token lasts until `expires_at`", body = LoginResponse),
        (status = 400, description = "`bad_json`, `invalid_body` or `bad_request`: the body is not the JSON expected", body = ErrorBody),
        (status = 401, description = "`bad_credentials`: unknown username or wrong password", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed attempts from this address (or for this username)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let (officer_id, roles) = check_password(&state, peer, &headers, &req).await?;
    let (token, hash) = crate::new_token().map_err(|_| ApiError::internal())?;
    let expires = chrono::Utc::now()
        + chrono::Duration::from_std(state.config.officer_session)
            .unwrap_or_else(|_| chrono::Duration::hours(12));
    let expires_at = cdht_server_db::stored_time(expires);
    state
        .db(move |s| s.add_session(officer_id, &hash, expires))
        .await?;
    Ok(Json(LoginResponse {
        token,
        username: req.username,
        roles,
        expires_at,
    }))
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&crate::random_bytes::<16>()?)
        .map_err(|e| anyhow::anyhow!("cannot make a salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

// ------------------------------------------------------------ device officer

/// `POST /api/v1/device/officer`: an officer logs in on a device (device
/// token + the officer's username and password), which becomes a collector
/// device of its unit (`unit_records`). The officer must hold collector or
/// admin over the device's unit or an ancestor of it.
#[utoipa::path(
    post,
    path = "/device/officer",
    tag = "device",
    summary = "Bind an officer to this device (it becomes a collector device)",
    request_body = LoginRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Bound: the device pulls `unit_records`", body = DeviceOfficerResponse),
        (status = 400, description = "`bad_json`, `invalid_body` or `bad_request`: the body is not the JSON expected", body = ErrorBody),
        (status = 401, description = "`unauthenticated` (device token) or `bad_credentials` (officer)", body = ErrorBody),
        (status = 403, description = "`forbidden_role`: an officer's token, or the officer is no collector or admin over the device's unit", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed attempts from this address (or for this username)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn bind_officer(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    subject: Subject,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<DeviceOfficerResponse>, ApiError> {
    let device = device(subject)?;
    let (officer_id, roles) = check_password(&state, peer, &headers, &req).await?;
    let unit = device.unit.as_str().to_owned();
    let ancestors = state.db(move |s| s.ancestors(&unit)).await?;
    let may_collect = roles
        .iter()
        .any(|g| matches!(g.role, Role::Collector | Role::Admin) && ancestors.contains(&g.unit));
    if !may_collect {
        return Err(ApiError::forbidden_role());
    }
    let device_id = device.device_id;
    state
        .db(move |s| s.bind_officer(device_id, Some(officer_id)))
        .await?;
    Ok(Json(DeviceOfficerResponse {
        username: Some(req.username),
        roles,
        scope: DeviceScope::UnitRecords,
    }))
}

/// `DELETE /api/v1/device/officer`: the device is a citizen's device again
/// (`own_records`), e.g. before the tablet is handed on.
#[utoipa::path(
    delete,
    path = "/device/officer",
    tag = "device",
    summary = "Unbind the officer (the device pulls `own_records` again)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Unbound", body = DeviceOfficerResponse),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role`: an officer's token (a device token is needed)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn unbind_officer(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<DeviceOfficerResponse>, ApiError> {
    let device_id = device(subject)?.device_id;
    state.db(move |s| s.bind_officer(device_id, None)).await?;
    Ok(Json(DeviceOfficerResponse {
        username: None,
        roles: Vec::new(),
        scope: DeviceScope::OwnRecords,
    }))
}
