//! Evidence photos: what the server holds of them, resumable chunked
//! uploads, and downloads within the reader's scope.

use super::{device, valid_sha256};
use crate::blobs;
use crate::error::{payload_too_large, ApiError, ApiJson, ApiPath, ApiQuery};
use crate::storage::{Reader, Subject, UploadKey};
use crate::upload;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cdht_core::sync::{
    ErrorBody, EvidenceQuery, EvidenceQueryResponse, EvidenceStatus, MAX_CHUNK_BYTES,
};
use cdht_core::Code;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

// ------------------------------------------------------------ evidence

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
#[utoipa::path(
    post,
    path = "/evidence/status",
    tag = "device",
    summary = "How much of these photos the server holds (device or officer token)",
    description = "A device sees its own upload of each photo it announced in an evidence record \
        (what it still has to send, with the size it announced), and as complete a photo it \
        never announced but may download; an officer, the uploads of the records of units in \
        its roles. Any other photo shows as unknown (size 0), whether or not the server holds \
        its bytes from another device.",
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
pub(super) async fn evidence_status(
    State(state): State<AppState>,
    subject: Subject,
    ApiJson(q): ApiJson<EvidenceQuery>,
) -> Result<Json<EvidenceQueryResponse>, ApiError> {
    if q.sha256.len() > 500 || !q.sha256.iter().all(|s| valid_sha256(s)) {
        return Err(ApiError::bad_request(Code::InvalidEvidence {
            problem: "too_many_hashes".to_owned(),
        }));
    }
    let own = match &subject {
        Subject::Device(d) => Some(d.device_id.to_string()),
        Subject::Officer { .. } => None,
    };
    let reader = reader(subject);
    let mut items = state
        .db(move |s| s.evidence_status(&reader, &q.sha256))
        .await?;
    if let Some(device) = own {
        for item in &mut items {
            if item.size > 0 && !item.complete && item.received >= item.size {
                // All bytes in, completion cut short: finish it before answering.
                match upload::complete(&state, &UploadKey::new(&device, &item.sha256)).await {
                    Ok(done) => *item = done,
                    Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => item.received = 0,
                    // No room for the photo yet: answer what is held; the
                    // next upload request tries the completion again.
                    Err(e) if e.code == Code::ServerStorageFull => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(Json(EvidenceQueryResponse { items }))
}

fn reader(subject: Subject) -> Reader {
    match subject {
        Subject::Device(d) => Reader::Device(d),
        Subject::Officer { grants, .. } => Reader::Officer(grants),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ChunkQuery {
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
        (status = 404, description = "`unknown_evidence`: this device pushed no evidence record naming this photo (each device uploads the photos it announced itself)", body = ErrorBody),
        (status = 409, description = "`offset_mismatch`: `offset` is not what the server has received; continue from the body's `received`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the chunk is over 256 KiB", body = ErrorBody),
        (status = 422, description = "`hash_mismatch` or `invalid_evidence`: the assembled photo is not the announced JPEG; start again", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody),
        (status = 507, description = "`server_storage_full`: the server's disk is full; nothing of this request was kept (what was acknowledged before stays); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn upload_chunk(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(sha256): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChunkQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<EvidenceStatus>, ApiError> {
    let device_id = device(subject)?.device_id.to_string();
    if !valid_sha256(&sha256) {
        return Err(ApiError::bad_request(Code::InvalidEvidence {
            problem: "bad_sha256".to_owned(),
        }));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_CHUNK_BYTES as u64) {
        return Err(payload_too_large());
    }
    let key = UploadKey::new(&device_id, &sha256);
    let k = key.clone();
    let progress = state
        .db(move |s| s.upload_progress(&k))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, Code::UnknownEvidence))?;
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
        return upload::complete(&state, &key).await.map(Json);
    }
    if q.offset != progress.received {
        return Err(upload::offset_mismatch(progress.received));
    }
    upload::receive_chunk(state, key, q.offset, progress, body)
        .await
        .map(Json)
}

/// `GET /api/v1/evidence/{sha256}`: a photo, through an evidence record
/// naming it that the caller may read (an officer's grants cover its unit,
/// or a device's scope covers it) and whose device uploaded every byte of
/// it. Anything else is one `404 not_found`, so the answer never tells
/// whether somebody else's record names the photo or the server holds it.
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
        (status = 404, description = "`not_found`: no evidence record the token may read names this photo with its bytes uploaded by the record's device (whether or not another record names it)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn download_evidence(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(sha256): ApiPath<String>,
) -> Result<Response, ApiError> {
    if !valid_sha256(&sha256) {
        return Err(ApiError::bad_request(Code::InvalidEvidence {
            problem: "bad_sha256".to_owned(),
        }));
    }
    let reader = reader(subject);
    let sha = sha256.clone();
    let size = state
        .db(move |s| s.readable_photo(&sha, &reader))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let stream = blobs::open_final(state.blobs.as_ref(), &sha256)
        .await
        .map_err(|e| match e {
            // Recorded complete but gone from the blob store (a restore
            // without the blobs folder): missing, not a server fault.
            object_store::Error::NotFound { .. } => {
                tracing::warn!(sha256 = %sha256, "a complete evidence photo is missing");
                ApiError::not_found()
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
