//! The HTTP API: routes, authentication and scope checks, handlers.

use crate::blobs;
use crate::error::{payload_too_large, ApiError, ApiJson, ApiJsonWithValue, ApiPath, ApiQuery};
use crate::storage::{
    AssessmentSummary, AuditEntry, BatchKey, CccdUpdate, DeviceRef, DuplicatePage, EnrolDevice,
    EvidenceAccess, PreparedRecord, PushOutcome, Reader, Recognition, RecordCheck, ReviewAction,
    Stats, Subject,
};
use crate::upload;
use crate::AppState;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use cdht_core::ids::AssessmentId;
use cdht_core::sync::{
    DeviceOfficerResponse, DeviceScope, EnrolRequest, EnrolResponse, ErrorBody, EvidenceQuery,
    EvidenceQueryResponse, EvidenceStatus, LoginRequest, LoginResponse, PullResponse, PushBatch,
    PushResponse, RecordBody, Role, RoleGrant, ServerScore, UnitInfo, MAX_CHUNK_BYTES,
    MAX_RECORDS_PER_BATCH, PROTOCOL_JCS,
};
use cdht_core::text::{has_forbidden_char, MAX_ADDRESS_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS};
use cdht_core::{AreaType, AssessmentInput, Catalog, Completeness};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest request body: a full push batch. Evidence chunks are smaller.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The document's fixed parts; every path and schema comes from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "CDHT sync server",
        version = "1",
        description = "The sync protocol of docs/sync-protocol.md (JSON types: cdht_core::sync). \
            Every error answer is an ErrorBody: a stable `code` and a `message` for people."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags(
        (name = "public", description = "No token"),
        (name = "device", description = "A device's token (from enrol)"),
        (name = "officer", description = "An officer's token (from login)")
    )
)]
struct ApiDoc;

/// The `bearer` scheme the `security` of the paths names.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(utoipa::openapi::Components::new)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// Every route of the server with its documentation: the router and the
/// OpenAPI document are both built from these `routes!` calls, so a route
/// cannot be served without being documented (or the reverse).
pub fn api_routes() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(enrol))
        .routes(routes!(login))
        .routes(routes!(push))
        .routes(routes!(pull))
        .routes(routes!(evidence_status))
        .routes(routes!(download_evidence, upload_chunk))
        .routes(routes!(bind_officer, unbind_officer))
        .routes(routes!(get_unit))
        .routes(routes!(list_assessments))
        .routes(routes!(duplicates))
        .routes(routes!(audit_log))
        .routes(routes!(recognise))
        .routes(routes!(rotate_join_key))
        .routes(routes!(approve))
        .routes(routes!(return_assessment))
        .routes(routes!(stats));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(crate::page::join_page))
        .routes(routes!(openapi))
        .nest("/api/v1", v1)
}

/// The OpenAPI document `GET /api/openapi.json` serves.
#[must_use]
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// Raw bytes in a request or answer (an evidence chunk, a JPEG): a binary
/// string, not the array of integers `[u8]` would be documented as.
struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// The served document, serialised once when the router is built.
#[derive(Clone)]
struct OpenApiJson(Option<bytes::Bytes>);

pub fn router(state: AppState) -> Router {
    let (routes, document) = api_routes().split_for_parts();
    let document = match document.to_pretty_json() {
        Ok(json) => Some(bytes::Bytes::from(json)),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise the OpenAPI document");
            None
        }
    };
    routes
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(OpenApiJson(document)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Refuses an oversized body by its Content-Length before reading it.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Outermost, so it also sees the answers of the layers above.
        .layer(axum::middleware::map_response(json_for_bare_errors))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Phương thức không được hỗ trợ ở địa chỉ này.",
    )
}

/// Layers below the handlers (the body limit) answer in plain text; every
/// error answer of this server is JSON, except the pages people open from a
/// QR (`/j/{unit}`), which are HTML on purpose.
async fn json_for_bare_errors(response: Response) -> Response {
    let kept = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    let status = response.status();
    if kept || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return payload_too_large().into_response();
    }
    if status.is_server_error() {
        return ApiError::internal().into_response();
    }
    ApiError::new(status, "bad_request", "Yêu cầu không hợp lệ.").into_response()
}

/// `GET /healthz`: `{"status":"ok"}`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` (a failing database answers 500).
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "public",
    summary = "Liveness and database check",
    responses(
        (status = 200, description = "The server and its database answer", body = Health),
        (status = 500, description = "`internal`: the database does not answer", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.db(|s| s.stats().map(|_| ())).await?;
    Ok(Json(Health { status: "ok" }))
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "public",
    summary = "This document (OpenAPI 3.1), generated from the handlers and types",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json"),
        (status = 500, description = "`internal`", body = ErrorBody)
    )
)]
async fn openapi(Extension(doc): Extension<OpenApiJson>) -> Response {
    match doc.0 {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => ApiError::internal().into_response(),
    }
}

// ------------------------------------------------------------ auth

impl FromRequestParts<AppState> for Subject {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let hash = crate::token_hash(token);
        let now = crate::sqlite::now();
        state
            .db(move |s| s.subject_for_token(&hash, &now))
            .await?
            .ok_or_else(ApiError::unauthenticated)
    }
}

/// The bearer token of a request, if it carries a plausible one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

fn device(subject: Subject) -> Result<DeviceRef, ApiError> {
    match subject {
        Subject::Device(d) => Ok(d),
        Subject::Officer { .. } => Err(ApiError::forbidden_role()),
    }
}

/// Passes when the officer holds one of `roles` (or admin) on `unit` or an
/// ancestor of it. Returns the officer's username for the audit log.
async fn require_officer(
    state: &AppState,
    subject: &Subject,
    roles: &[Role],
    unit: &str,
) -> Result<String, ApiError> {
    let Subject::Officer {
        username, grants, ..
    } = subject
    else {
        return Err(ApiError::forbidden_role());
    };
    let unit_owned = unit.to_owned();
    let ancestors = state.db(move |s| s.ancestors(&unit_owned)).await?;
    let role_ok = |r: Role| r == Role::Admin || roles.contains(&r);
    if ancestors.is_empty() {
        // An unknown unit: out of scope rather than "not found", so codes
        // outside one's tree cannot be probed.
        return Err(ApiError::out_of_scope());
    }
    if grants
        .iter()
        .any(|g| role_ok(g.role) && ancestors.contains(&g.unit))
    {
        return Ok(username.clone());
    }
    if grants.iter().any(|g| role_ok(g.role)) {
        Err(ApiError::out_of_scope())
    } else {
        Err(ApiError::forbidden_role())
    }
}

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
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn enrol(
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
        return Err(invalid_text("Tên thiết bị"));
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
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_join_key",
            "Mã đơn vị hoặc mã tham gia không đúng. Bác xem lại mã in dưới mã QR.",
        ));
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
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Thử sai quá nhiều lần. Vui lòng đợi ít phút rồi thử lại.",
    )
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
                "bad_credentials",
                "Tên đăng nhập hoặc mật khẩu không đúng.",
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
async fn login(
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
    let expires_at = expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let stored_expiry = expires_at.clone();
    state
        .db(move |s| s.add_session(officer_id, &hash, &stored_expiry))
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

// ------------------------------------------------------------ push, pull

/// The largest push `seq` and pull cursor: SQLite integers are signed 64-bit.
const MAX_SEQ: u64 = i64::MAX as u64;

fn valid_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The message of `invalid_text`: a control or bidi character in `field`.
fn invalid_text_message(field: &str) -> String {
    format!(
        "{field} có ký tự điều khiển hoặc ký tự đảo chiều chữ (không nhìn thấy được). \
         Hãy xoá và gõ lại."
    )
}

fn invalid_text(field: &str) -> ApiError {
    ApiError::bad_request("invalid_text", invalid_text_message(field))
}

fn reject(code: &'static str, message: impl Into<String>) -> RecordCheck {
    RecordCheck::Rejected {
        code,
        message: message.into(),
    }
}

#[utoipa::path(
    post,
    path = "/push",
    tag = "device",
    summary = "Push one atomic, idempotent batch",
    request_body = PushBatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Applied, or replayed: one ack per record, in batch order", body = PushResponse),
        (status = 400, description = "`bad_seq` (`seq` 0 or above 2^63 − 1), `unsupported_protocol`, `bad_json`, `invalid_body` (the message names the place) or `bad_request`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role`: an officer's token (a device token is needed)", body = ErrorBody),
        (status = 409, description = "`batch_conflict` (this batch id with other content) or `seq_out_of_order`", body = ErrorBody),
        (status = 413, description = "`payload_too_large` (the body is over 2 MiB) or `batch_too_large` (over 200 records): split the batch", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn push(
    State(state): State<AppState>,
    subject: Subject,
    ApiJsonWithValue(batch, sent): ApiJsonWithValue<PushBatch>,
) -> Result<Response, ApiError> {
    let device = device(subject)?;
    if !(1..=PROTOCOL_JCS).contains(&batch.protocol) {
        return Err(ApiError::bad_request(
            "unsupported_protocol",
            format!("Máy chủ hiểu giao thức 1 đến {PROTOCOL_JCS}."),
        ));
    }
    if batch.records.len() > MAX_RECORDS_PER_BATCH {
        // 413, not 400: the client splits the batch rather than parking it.
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("Một lần gửi tối đa {MAX_RECORDS_PER_BATCH} bản ghi; hãy chia nhỏ."),
        ));
    }
    // The database keeps seq as a signed 64-bit integer.
    if batch.seq == 0 || batch.seq > MAX_SEQ {
        return Err(ApiError::bad_request(
            "bad_seq",
            format!("Số thứ tự gửi phải từ 1 đến {MAX_SEQ}."),
        ));
    }
    let unit_code = device.unit.as_str().to_owned();
    let unit_row = state
        .db(move |s| s.unit(&unit_code))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    // The batch key covers everything the device sent, re-serialised from the
    // parsed value so that whitespace or key order cannot fake a change.
    // Keyed: a batch may hold a CCCD.
    let content_hash = state.keyed_hash(&crate::sha256_hex(
        &serde_json::to_vec(&batch).map_err(|_| ApiError::internal())?,
    ));
    let max_evidence = state.config.max_evidence_bytes;
    let catalogs = state.scoring_catalogs().await?;
    // An edit of a known assessment is scored with its owning unit's area
    // type, which a collector device of a parent unit does not share.
    let assessment_ids: Vec<uuid::Uuid> = batch
        .records
        .iter()
        .filter(|r| matches!(r.body, RecordBody::Assessment(_)))
        .map(|r| r.body.id())
        .collect();
    let owner_areas = state
        .db(move |s| s.assessment_areas(&assessment_ids))
        .await?;
    let scoring = Scoring {
        catalogs: &catalogs,
        device_area: unit_row.area,
        owner_areas: &owner_areas,
        max_evidence,
    };
    let protocol = batch.protocol;
    let records: Vec<PreparedRecord> = batch
        .records
        .into_iter()
        .enumerate()
        .map(|(i, mut envelope)| {
            let body_sent = &sent["records"][i]["body"];
            let check = if record_hash(protocol, &envelope.body, body_sent) == envelope.hash {
                // Kept and compared (`already_had`) in one form whatever the
                // protocol: the hash of the canonical serde form.
                envelope.hash = crate::sha256_hex(&envelope.body.canonical_json());
                check_record(&state, &envelope, &scoring)
            } else {
                reject(
                    "hash_mismatch",
                    "Bản ghi bị hỏng trên đường truyền (mã kiểm tra không khớp).",
                )
            };
            PreparedRecord { envelope, check }
        })
        .collect();
    let key = BatchKey {
        batch_id: batch.batch_id,
        seq: batch.seq,
        content_hash,
    };
    let outcome = state
        .db(move |s| s.apply_push(&device, &key, &records))
        .await?;
    match outcome {
        PushOutcome::Applied(json) | PushOutcome::Replayed(json) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response()),
        PushOutcome::BatchConflict => Err(ApiError::new(
            StatusCode::CONFLICT,
            "batch_conflict",
            "Mã lô gửi này đã được dùng cho một nội dung khác.",
        )),
        PushOutcome::SeqOutOfOrder { last } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "seq_out_of_order",
            format!("Số thứ tự lô gửi phải lớn hơn {last} (lô cuối máy chủ đã nhận)."),
        )),
    }
}

/// The hash a record's envelope must carry: protocol 1, the sha256 of the
/// body's canonical serde form; protocol 2, the sha256 of RFC 8785 of the
/// body as sent (docs/sync-protocol.md, "Record hashes").
fn record_hash(protocol: u32, body: &RecordBody, sent: &serde_json::Value) -> String {
    if protocol >= PROTOCOL_JCS {
        crate::sha256_hex(&cdht_core::jcs::canonical(sent))
    } else {
        crate::sha256_hex(&body.canonical_json())
    }
}

/// What a push's records are checked and scored with.
struct Scoring<'a> {
    catalogs: &'a [Catalog],
    /// The pushing device's unit's area type, for new assessments.
    device_area: AreaType,
    /// The owning unit's area type of assessments the server has.
    owner_areas: &'a HashMap<uuid::Uuid, AreaType>,
    max_evidence: u64,
}

fn check_record(
    state: &AppState,
    envelope: &cdht_core::sync::RecordEnvelope,
    scoring: &Scoring<'_>,
) -> RecordCheck {
    let max_evidence = scoring.max_evidence;
    if envelope.version == 0 {
        return reject("bad_version", "Phiên bản bản ghi bắt đầu từ 1.");
    }
    match &envelope.body {
        RecordBody::Person(p) => {
            for (field, value) in [
                ("Họ tên", Some(&p.full_name)),
                ("Số điện thoại", p.phone.as_ref()),
                ("Địa chỉ", p.address.as_ref()),
            ] {
                if value.is_some_and(|v| has_forbidden_char(v, false)) {
                    return reject("invalid_text", invalid_text_message(field));
                }
            }
            let name = p.full_name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
                return reject(
                    "invalid_name",
                    format!("Họ tên không được để trống (tối đa {MAX_NAME_CHARS} ký tự)."),
                );
            }
            if p.phone
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_PHONE_CHARS)
            {
                return reject(
                    "invalid_phone",
                    format!("Số điện thoại tối đa {MAX_PHONE_CHARS} ký tự."),
                );
            }
            if p.address
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_ADDRESS_CHARS)
            {
                return reject(
                    "invalid_address",
                    format!("Địa chỉ tối đa {MAX_ADDRESS_CHARS} ký tự."),
                );
            }
            let cccd = match p.cccd.as_deref().map(str::trim) {
                None | Some("") if p.keep_cccd => CccdUpdate::Keep,
                None | Some("") => CccdUpdate::Erase,
                Some(c) if c.len() == 12 && c.bytes().all(|b| b.is_ascii_digit()) => {
                    CccdUpdate::Set(state.cccd_hmac(c))
                }
                Some(_) => return reject("invalid_cccd", "Số CCCD phải gồm đúng 12 chữ số."),
            };
            RecordCheck::Person {
                cccd,
                stored_hash: state.keyed_hash(&envelope.hash),
            }
        }
        RecordBody::Assessment(a) => {
            if !(2021..=2100).contains(&a.year) {
                return reject("invalid_year", "Năm đánh giá không hợp lệ.");
            }
            let input = AssessmentInput {
                catalog: a.catalog.clone(),
                group: a.group.clone(),
                area: scoring
                    .owner_areas
                    .get(a.id.as_uuid())
                    .copied()
                    .unwrap_or(scoring.device_area),
                answers: a.answers.clone(),
            };
            let completeness = match a.state {
                cdht_core::sync::DeviceState::Draft => Completeness::Draft,
                cdht_core::sync::DeviceState::Submitted => Completeness::Complete,
            };
            match cdht_core::score_with(scoring.catalogs, &input, completeness) {
                Ok(result) => RecordCheck::Assessment {
                    score: ServerScore {
                        total: result.total,
                        passed: result.passed,
                        threshold: result.threshold,
                    },
                },
                Err(e) => RecordCheck::Rejected {
                    code: e.code(),
                    message: e.message_vi(),
                },
            }
        }
        RecordBody::Evidence(e) => {
            if has_forbidden_char(e.indicator.as_str(), false) {
                return reject("invalid_text", invalid_text_message("Mã chỉ số"));
            }
            if !valid_sha256(&e.sha256) {
                return reject("invalid_evidence", "Mã sha256 của ảnh không hợp lệ.");
            }
            if e.size == 0 || e.size > max_evidence {
                return reject(
                    "evidence_too_large",
                    format!("Ảnh phải nhỏ hơn {} MB.", max_evidence / (1024 * 1024)),
                );
            }
            if e.content_type != "image/jpeg" {
                return reject("unsupported_type", "Chỉ nhận ảnh JPEG.");
            }
            RecordCheck::Evidence
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PullQuery {
    /// The cursor of the last pull (0, the default, for the first).
    #[serde(default)]
    since: u64,
    /// The most changes in one answer: 1 to 500, 200 when left out.
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/pull",
    tag = "device",
    summary = "What changed for this device since its cursor",
    params(
        PullQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changes after `since`; repeat with `cursor` while `more`", body = PullResponse),
        (status = 400, description = "`bad_query`: `since` or `limit` is not a number, or `since` is above 2^63 − 1", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role`: an officer's token (a device token is needed)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn pull(
    State(state): State<AppState>,
    subject: Subject,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullResponse>, ApiError> {
    let device = device(subject)?;
    if q.since > MAX_SEQ {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("Tham số không đúng: `since` tối đa {MAX_SEQ}."),
        ));
    }
    let limit = q.limit.unwrap_or(200).clamp(1, 500);
    let since = q.since;
    Ok(Json(
        state.db(move |s| s.pull(&device, since, limit)).await?,
    ))
}

// ------------------------------------------------------------ evidence

#[utoipa::path(
    post,
    path = "/evidence/status",
    tag = "device",
    summary = "How much of these photos the server holds (device or officer token)",
    description = "A device sees the photos named by evidence records of its unit; an officer, \
        those named by records of units in its roles. Any other photo shows as unknown (size 0).",
    request_body = EvidenceQuery,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One status per sha256 asked", body = EvidenceQueryResponse),
        (status = 400, description = "`invalid_evidence` (over 500 hashes, or one is not 64 lower-case hex), `bad_json`, `invalid_body` or `bad_request`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn evidence_status(
    State(state): State<AppState>,
    subject: Subject,
    ApiJson(q): ApiJson<EvidenceQuery>,
) -> Result<Json<EvidenceQueryResponse>, ApiError> {
    if q.sha256.len() > 500 || !q.sha256.iter().all(|s| valid_sha256(s)) {
        return Err(ApiError::bad_request(
            "invalid_evidence",
            "Tối đa 500 mã sha256 (64 ký tự hex thường) mỗi lần hỏi.",
        ));
    }
    let mut items = match subject {
        Subject::Device(d) => {
            let unit = d.unit;
            state
                .db(move |s| s.evidence_status(unit.as_str(), &q.sha256))
                .await?
        }
        Subject::Officer { grants, .. } => {
            state
                .db(move |s| officer_evidence_status(s, &grants, &q.sha256))
                .await?
        }
    };
    for item in &mut items {
        if item.size > 0 && !item.complete && item.received >= item.size {
            // All bytes in, completion cut short: finish it before answering.
            match upload::complete(&state, &item.sha256).await {
                Ok(done) => *item = done,
                Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => item.received = 0,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Json(EvidenceQueryResponse { items }))
}

/// An officer's view of uploads: a photo counts only through a record of a
/// unit its roles cover (the same check as a download).
fn officer_evidence_status(
    s: &dyn crate::storage::Storage,
    grants: &[RoleGrant],
    sha256: &[String],
) -> crate::storage::StorageResult<Vec<EvidenceStatus>> {
    let reader = Reader::Officer(grants.to_vec());
    sha256
        .iter()
        .map(|sha| {
            let unknown = EvidenceStatus {
                sha256: sha.clone(),
                size: 0,
                received: 0,
                complete: false,
            };
            Ok(match s.evidence_access(sha, &reader)? {
                EvidenceAccess::Absent | EvidenceAccess::OutOfScope => unknown,
                EvidenceAccess::Ready { .. } | EvidenceAccess::Incomplete => {
                    match s.blob_state(sha)? {
                        Some(b) => EvidenceStatus {
                            sha256: sha.clone(),
                            size: b.size,
                            received: b.received,
                            complete: b.complete,
                        },
                        None => unknown,
                    }
                }
            })
        })
        .collect()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChunkQuery {
    /// Where this chunk starts: the `received` of the photo's status.
    offset: u64,
}

#[utoipa::path(
    put,
    path = "/evidence/{sha256}",
    tag = "device",
    summary = "Upload the next chunk of a photo (resumable)",
    params(
        ("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "Lower-case hex sha256 of the photo (64 characters)"),
        ChunkQuery
    ),
    request_body(content = inline(Binary), content_type = "application/octet-stream", description = "The photo's bytes from `offset` (at most 256 KiB). A request cut short still counts up to its last byte received."),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Where the upload stands (`complete` once the whole photo is in and checked)", body = EvidenceStatus),
        (status = 400, description = "`invalid_evidence` (bad sha256), `bad_query` (no `offset`), `bad_body` or `chunk_out_of_range`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role`: an officer's token (a device token is needed)", body = ErrorBody),
        (status = 404, description = "`unknown_evidence`: no evidence record of this device's unit names this photo", body = ErrorBody),
        (status = 409, description = "`offset_mismatch`: `offset` is not what the server has received; continue from the body's `received`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the chunk is over 256 KiB", body = ErrorBody),
        (status = 422, description = "`hash_mismatch` or `invalid_evidence`: the assembled photo is not the announced JPEG; start again", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn upload_chunk(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(sha256): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChunkQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<EvidenceStatus>, ApiError> {
    let unit = device(subject)?.unit;
    if !valid_sha256(&sha256) {
        return Err(ApiError::bad_request(
            "invalid_evidence",
            "Mã sha256 của ảnh không hợp lệ.",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_CHUNK_BYTES as u64) {
        return Err(payload_too_large());
    }
    let sha = sha256.clone();
    let unit_code = unit.as_str().to_owned();
    let progress = state
        .db(move |s| s.blob_progress(&unit_code, &sha))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_evidence",
                "Máy chủ chưa có thông tin ảnh này; hãy gửi bản ghi minh chứng trước.",
            )
        })?;
    if progress.complete {
        return Ok(Json(EvidenceStatus {
            sha256,
            size: progress.size,
            received: progress.size,
            complete: true,
        }));
    }
    if progress.received >= progress.size {
        // Every byte is in but the photo is not complete (a completion cut
        // short by an older version): finish it now.
        return upload::complete(&state, &sha256).await.map(Json);
    }
    if q.offset != progress.received {
        return Err(upload::offset_mismatch(progress.received));
    }
    upload::receive_chunk(state, sha256, q.offset, progress, body)
        .await
        .map(Json)
}

/// `GET /api/v1/evidence/{sha256}`: a complete photo, to an officer whose
/// grants cover a unit owning an evidence record naming it, or to a device
/// whose scope covers such a record.
#[utoipa::path(
    get,
    path = "/evidence/{sha256}",
    tag = "device",
    summary = "Download a complete photo (device or officer token)",
    params(
        ("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "Lower-case hex sha256 of the photo (64 characters)")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The JPEG bytes", body = inline(Binary), content_type = "image/jpeg"),
        (status = 400, description = "`invalid_evidence`: bad sha256", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`out_of_scope`: no evidence record the token may read names this photo", body = ErrorBody),
        (status = 404, description = "`not_found`: the server does not hold the whole photo", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn download_evidence(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(sha256): ApiPath<String>,
) -> Result<Response, ApiError> {
    if !valid_sha256(&sha256) {
        return Err(ApiError::bad_request(
            "invalid_evidence",
            "Mã sha256 của ảnh không hợp lệ.",
        ));
    }
    let reader = match subject {
        Subject::Device(d) => Reader::Device(d),
        Subject::Officer { grants, .. } => Reader::Officer(grants),
    };
    let sha = sha256.clone();
    let access = state.db(move |s| s.evidence_access(&sha, &reader)).await?;
    let size = match access {
        EvidenceAccess::Ready { size } => size,
        EvidenceAccess::OutOfScope => return Err(ApiError::out_of_scope()),
        EvidenceAccess::Absent | EvidenceAccess::Incomplete => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Máy chủ chưa có đủ ảnh này.",
            ))
        }
    };
    let stream = blobs::open_final(state.blobs.as_ref(), &sha256)
        .await
        .map_err(|e| match e {
            // Recorded complete but gone from the blob store (a restore
            // without the blobs folder): missing, not a server fault.
            object_store::Error::NotFound { .. } => {
                tracing::warn!(sha256 = %sha256, "a complete evidence photo is missing");
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Máy chủ chưa có đủ ảnh này.",
                )
            }
            e => {
                tracing::error!(error = %e, "cannot read an evidence photo");
                ApiError::internal()
            }
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            // The bytes came from a phone: never let a browser guess another type.
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(size)),
            // The bytes never change (content-addressed), but they are personal.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
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
async fn bind_officer(
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
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_role",
            "Cán bộ này không có quyền nhập liệu (collector) ở đơn vị của thiết bị.",
        ));
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
async fn unbind_officer(
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

// ------------------------------------------------------------ officers

const READERS: &[Role] = &[
    Role::Viewer,
    Role::Reviewer,
    Role::Recogniser,
    Role::Collector,
];

async fn unit_info_of(state: &AppState, code: &str) -> Result<UnitInfo, ApiError> {
    let code = code.to_owned();
    let row = state
        .db(move |s| s.unit(&code))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(row.info())
}

async fn unit_info_handler_inner(
    state: AppState,
    subject: Subject,
    code: String,
) -> Result<Json<UnitInfo>, ApiError> {
    match &subject {
        Subject::Device(d) if d.unit.as_str() == code => {}
        Subject::Device(_) => return Err(ApiError::out_of_scope()),
        Subject::Officer { .. } => {
            require_officer(&state, &subject, READERS, &code).await?;
        }
    }
    Ok(Json(unit_info_of(&state, &code).await?))
}

#[utoipa::path(
    get,
    path = "/units/{code}",
    tag = "officer",
    summary = "A unit (officer, or a device of that unit)",
    params(
        ("code" = String, Path, description = "The unit's code")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The unit", body = UnitInfo),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`out_of_scope` (another unit, or outside the officer's subtrees) or `forbidden_role`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn get_unit(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<UnitInfo>, ApiError> {
    unit_info_handler_inner(state, subject, code).await
}

#[utoipa::path(
    get,
    path = "/units/{code}/assessments",
    tag = "officer",
    summary = "Assessments of a unit's subtree",
    params(
        ("code" = String, Path, description = "The unit's code")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The assessments", body = Vec<AssessmentSummary>),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn list_assessments(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<AssessmentSummary>>, ApiError> {
    require_officer(&state, &subject, READERS, &code).await?;
    Ok(Json(state.db(move |s| s.list_assessments(&code)).await?))
}

#[utoipa::path(
    get,
    path = "/units/{code}/duplicates",
    tag = "officer",
    summary = "Possible duplicates (same keyed CCCD, same year) in a unit's subtree",
    params(
        ("code" = String, Path, description = "The unit's code"),
        DuplicatesQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One group per person (keyed CCCD) and year with several assessments, one of them in the subtree; repeat with `after = next` while `next` is set", body = DuplicatePage),
        (status = 400, description = "`bad_query`: `after` is not an assessment id, or `limit` not a number", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn duplicates(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<DuplicatesQuery>,
) -> Result<Json<DuplicatePage>, ApiError> {
    require_officer(&state, &subject, READERS, &code).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    Ok(Json(
        state
            .db(move |s| s.duplicates(&code, q.after, limit))
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DuplicatesQuery {
    /// The `next` of the previous page (left out for the first).
    after: Option<AssessmentId>,
    /// The most groups in one answer: 1 to 500, 100 when left out.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/units/{code}/audit",
    tag = "officer",
    summary = "The audit log of a unit's subtree",
    params(
        ("code" = String, Path, description = "The unit's code")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The entries", body = Vec<AuditEntry>),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn audit_log(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    require_officer(&state, &subject, READERS, &code).await?;
    Ok(Json(state.db(move |s| s.audit(&code)).await?))
}

async fn assessment_scope(
    state: &AppState,
    subject: &Subject,
    roles: &[Role],
    id: AssessmentId,
) -> Result<String, ApiError> {
    if let Subject::Device(_) = subject {
        return Err(ApiError::forbidden_role());
    }
    // Not found and out of scope look the same to an outsider.
    let Some(unit) = state.db(move |s| s.assessment_unit(id)).await? else {
        return Err(ApiError::out_of_scope());
    };
    require_officer(state, subject, roles, unit.as_str()).await
}

fn parse_assessment(id: &str) -> Result<AssessmentId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad_request("bad_path", "Mã bản đánh giá không đúng."))
}

#[utoipa::path(
    post,
    path = "/assessments/{id}/approve",
    tag = "officer",
    summary = "Approve a submitted assessment (reviewer)",
    params(
        ("id" = String, Path, format = Uuid, description = "The assessment's id")
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Approved"),
        (status = 400, description = "`bad_path`: the id is not a UUID", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope` (also for an unknown id)", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`wrong_state`: only a submitted assessment can be approved", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn approve(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_assessment(&id)?;
    let actor = assessment_scope(&state, &subject, &[Role::Reviewer], id).await?;
    state
        .db(move |s| s.review(id, &actor, &ReviewAction::Approve))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    /// Shown to the person; 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/assessments/{id}/return",
    tag = "officer",
    summary = "Return an assessment to the person with a reason (reviewer)",
    params(
        ("id" = String, Path, format = Uuid, description = "The assessment's id")
    ),
    request_body = ReturnBody,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Returned"),
        (status = 400, description = "`bad_path`, `reason_required`, `invalid_text` (a control or bidi character), `bad_json`, `invalid_body` or `bad_request`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope` (also for an unknown id)", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`wrong_state`: only a submitted or approved assessment can be returned", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn return_assessment(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> Result<StatusCode, ApiError> {
    let id = parse_assessment(&id)?;
    let reason = body.reason.trim().to_owned();
    if has_forbidden_char(&reason, true) {
        return Err(invalid_text("Lý do"));
    }
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::bad_request(
            "reason_required",
            "Cần ghi lý do trả lại (tối đa 1000 ký tự).",
        ));
    }
    let actor = assessment_scope(&state, &subject, &[Role::Reviewer], id).await?;
    state
        .db(move |s| s.review(id, &actor, &ReviewAction::Return { reason }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecogniseBody {
    decision_no: String,
    decision_date: chrono::NaiveDate,
    /// 1 to 5000 approved assessments of the unit's subtree.
    assessments: Vec<AssessmentId>,
}

#[utoipa::path(
    post,
    path = "/units/{code}/recognitions",
    tag = "officer",
    summary = "Recognise approved assessments (recogniser)",
    params(
        ("code" = String, Path, description = "The unit's code")
    ),
    request_body = RecogniseBody,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Recognised"),
        (status = 400, description = "`invalid_recognition` (no decision number, or 0 or over 5000 assessments), `invalid_text` (a control or bidi character in the decision number), `bad_json`, `invalid_body` or `bad_request`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees)", body = ErrorBody),
        (status = 404, description = "`not_found`: an assessment is not in the unit's subtree", body = ErrorBody),
        (status = 409, description = "`wrong_state` (not approved) or `already_recognised_elsewhere`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn recognise(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<RecogniseBody>,
) -> Result<StatusCode, ApiError> {
    let actor = require_officer(&state, &subject, &[Role::Recogniser], &code).await?;
    let decision_no = body.decision_no.trim().to_owned();
    if has_forbidden_char(&decision_no, false) {
        return Err(invalid_text("Số quyết định"));
    }
    if decision_no.is_empty() || body.assessments.is_empty() || body.assessments.len() > 5000 {
        return Err(ApiError::bad_request(
            "invalid_recognition",
            "Cần số quyết định và danh sách bản đánh giá (tối đa 5000).",
        ));
    }
    let rec = Recognition {
        decision_no,
        decision_date: body.decision_date.to_string(),
        assessments: body.assessments,
    };
    state.db(move |s| s.recognise(&code, &actor, &rec)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/units/{code}/join-key",
    tag = "officer",
    summary = "A new join key for the unit (admin); the old one stops working",
    params(
        ("code" = String, Path, description = "The unit's code")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new key", body = JoinKeyResponse),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees)", body = ErrorBody),
        (status = 404, description = "`unknown_unit`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn rotate_join_key(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<JoinKeyResponse>, ApiError> {
    require_officer(&state, &subject, &[Role::Admin], &code).await?;
    let key = crate::random_code(10).map_err(|_| ApiError::internal())?;
    let (c, k) = (code.clone(), key.clone());
    state.db(move |s| s.set_join_key(&c, &k)).await?;
    Ok(Json(JoinKeyResponse {
        join_key: key,
        unit: code,
    }))
}

/// `POST /api/v1/units/{code}/join-key`. Fields in this order, as the answer
/// has always been written (sorted keys).
#[derive(Serialize, ToSchema)]
pub struct JoinKeyResponse {
    /// The new key, to print under the unit's QR.
    pub join_key: String,
    pub unit: String,
}

#[utoipa::path(
    get,
    path = "/stats",
    tag = "officer",
    summary = "Counters (admin)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The counters", body = Stats),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role`: not an admin", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
async fn stats(State(state): State<AppState>, subject: Subject) -> Result<Json<Stats>, ApiError> {
    let Subject::Officer { grants, .. } = &subject else {
        return Err(ApiError::forbidden_role());
    };
    if !grants.iter().any(|g| g.role == Role::Admin) {
        return Err(ApiError::forbidden_role());
    }
    Ok(Json(state.db(|s| s.stats()).await?))
}
