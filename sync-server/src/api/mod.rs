//! The HTTP API: routes, authentication and scope checks, handlers.
//!
//! The handlers live in one file per responsibility: `enrol` (devices
//! enrolling, officers logging in, an officer bound to a device), `push`
//! (records in and out), `evidence` (photos), `review` (what officers read
//! and decide), `exemplary` (who is eligible for the exemplary title, and
//! its grant by decision). This file holds the router, the document and
//! what they share: the token extractor and the scope checks.

mod dashboard;
mod documents;
mod enrol;
mod evidence;
mod exemplary;
mod push;
mod queue;
mod report;
mod review;

pub use enrol::hash_password;
pub use exemplary::{ExemplaryPage, ExemplaryPerson};
pub use review::JoinKeyResponse;

use crate::error::{payload_too_large, ApiError};
use crate::storage::{DeviceRef, Subject};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, Extension, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use cdht_core::sync::{ErrorBody, Role};
use cdht_core::Code;
use serde::Serialize;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest request body: a full push batch. Evidence chunks are smaller.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Answers this large and larger go gzip-compressed to clients that ask.
const GZIP_ANSWERS_FROM: u16 = 4096;

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
        .routes(routes!(enrol::enrol))
        .routes(routes!(enrol::login))
        .routes(routes!(push::push))
        .routes(routes!(push::pull))
        .routes(routes!(evidence::evidence_status))
        .routes(routes!(evidence::download_evidence, evidence::upload_chunk))
        .routes(routes!(enrol::bind_officer, enrol::unbind_officer))
        .routes(routes!(review::get_unit))
        .routes(routes!(review::list_assessments))
        .routes(routes!(review::duplicates))
        .routes(routes!(review::audit_log))
        .routes(routes!(review::recognise))
        .routes(routes!(
            exemplary::list_exemplary,
            exemplary::grant_exemplary
        ))
        .routes(routes!(review::rotate_join_key))
        .routes(routes!(review::approve))
        .routes(routes!(review::return_assessment))
        .routes(routes!(review::stats))
        .routes(routes!(report::report))
        .routes(routes!(report::report_xlsx))
        .routes(routes!(report::report_csv))
        .routes(routes!(queue::review_queue))
        .routes(routes!(dashboard::me))
        .routes(routes!(dashboard::assessment_detail))
        .routes(routes!(documents::certificate))
        .routes(routes!(documents::decision_xlsx))
        .routes(routes!(documents::decision_pdf_list));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(crate::dashboard::root))
        .routes(routes!(crate::dashboard::bare))
        .routes(routes!(crate::dashboard::index))
        .routes(routes!(crate::page::join_page))
        .routes(routes!(crate::documents::verify::verify_page))
        .routes(routes!(openapi))
        .nest("/api/v1", v1)
}

/// The OpenAPI document `GET /api/openapi.json` serves.
#[must_use]
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

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
        // A gzip request body is read unzipped; the limits hold on both
        // sides (the one above on the bytes unzipped, the one below on
        // the bytes sent), so a small bomb cannot grow past them.
        .layer(
            RequestDecompressionLayer::new()
                .gzip(true)
                .no_br()
                .no_deflate()
                .no_zstd(),
        )
        // Refuses an oversized body by its Content-Length before reading it.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Outside those, so it also sees the answers of the layers above.
        .layer(axum::middleware::map_response(json_for_bare_errors))
        // Outermost: gzip for clients that ask (Accept-Encoding), on what
        // compresses: JSON, the dashboard's files, documents; never photos
        // (already JPEG), nor small answers, which keep their length and so
        // free their connection for the next request as soon as they are read.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .no_br()
                .no_deflate()
                .no_zstd()
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(GZIP_ANSWERS_FROM))),
        )
        // Tells clients they may send gzip bodies (RFC 7694): older servers
        // never say it, so a client never sends one a server cannot read.
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::ACCEPT_ENCODING,
            axum::http::HeaderValue::from_static("gzip"),
        ))
        .with_state(state)
}

/// Unrouted addresses: under `/dashboard/`, the dashboard's files and pages
/// (`GET`); anything else is `not_found`.
async fn fallback(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        if let Some(page) = crate::dashboard::serve_path(&uri) {
            return page;
        }
    }
    ApiError::not_found().into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, Code::MethodNotAllowed)
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
    ApiError::new(status, Code::BadRequest).into_response()
}

/// `GET /healthz`: `{"status":"ok","service":"cdht"}`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` (a failing database answers 500).
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Always `cdht`: how a device tells this server from anything else that
    /// answers at an address (a router's page, another web site).
    #[schema(example = "cdht")]
    pub service: &'static str,
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
    Ok(Json(Health {
        status: "ok",
        service: cdht_core::sync::HEALTH_SERVICE,
    }))
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
        let now = state.clock.now();
        state
            .db(move |s| s.subject_for_token(&hash, now))
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

// ------------------------------------------------------------ shared checks

fn valid_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The message of `invalid_text`: a control or bidi character in `field`.
/// `field` names the field for the code (`full_name`, `decision_no`, ...).
fn invalid_text(field: &str) -> ApiError {
    ApiError::bad_request(Code::InvalidText {
        field: field.to_owned(),
    })
}
