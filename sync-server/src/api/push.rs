//! `push` and `pull`: a device's records in (checked, scored, applied as
//! one idempotent batch) and the changes it may see out.

use super::{device, invalid_text_message, valid_sha256};
use crate::error::{ApiError, ApiJsonWithValue, ApiQuery};
use crate::storage::{BatchKey, CccdUpdate, PreparedRecord, PushOutcome, RecordCheck, Subject};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cdht_core::sync::{
    ErrorBody, PullResponse, PushBatch, PushResponse, RecordBody, ServerScore,
    MAX_RECORDS_PER_BATCH, PROTOCOL_JCS,
};
use cdht_core::text::{has_forbidden_char, MAX_ADDRESS_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS};
use cdht_core::{AreaType, AssessmentInput, Catalog, Completeness};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::IntoParams;

// ------------------------------------------------------------ push, pull

/// The largest push `seq` and pull cursor: SQLite integers are signed 64-bit.
const MAX_SEQ: u64 = i64::MAX as u64;

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
pub(super) async fn push(
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
    // The batch key covers everything the device sent, re-serialised from the
    // parsed value so that whitespace or key order cannot fake a change.
    // Keyed: a batch may hold a CCCD.
    let content_hash = state.keyed_hash(&crate::sha256_hex(
        &serde_json::to_vec(&batch).map_err(|_| ApiError::internal())?,
    ));
    let max_evidence = state.config.max_evidence_bytes;
    // An edit of a known assessment is scored with its owning unit's area
    // type, which a collector device of a parent unit does not share.
    let assessment_ids: Vec<uuid::Uuid> = batch
        .records
        .iter()
        .filter(|r| matches!(r.body, RecordBody::Assessment(_)))
        .map(|r| r.body.id())
        .collect();
    // What scoring needs, in one storage call (each is a trip to the
    // blocking pool, which a busy machine makes slow).
    let unit_code = device.unit.as_str().to_owned();
    let (unit_row, owner_areas, revisions) = state
        .db(move |s| {
            Ok((
                s.unit(&unit_code)?,
                s.assessment_areas(&assessment_ids)?,
                s.catalog_revisions()?,
            ))
        })
        .await?;
    let unit_row = unit_row.ok_or_else(ApiError::unauthenticated)?;
    let catalogs = state.scoring_catalogs_at(revisions).await?;
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
            // Kept and compared (`already_had`) in one form whatever the
            // protocol: the hash of the canonical serde form.
            let canonical = crate::sha256_hex(&envelope.body.canonical_json());
            let body_sent = &sent["records"][i]["body"];
            let check = if record_hash(protocol, &canonical, body_sent) == envelope.hash {
                envelope.hash = canonical;
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
/// body's canonical serde form (`canonical`, computed once for both uses);
/// protocol 2, the sha256 of RFC 8785 of the body as sent
/// (docs/sync-protocol.md, "Record hashes").
fn record_hash(protocol: u32, canonical: &str, sent: &serde_json::Value) -> String {
    if protocol >= PROTOCOL_JCS {
        crate::sha256_hex(&cdht_core::jcs::canonical(sent))
    } else {
        canonical.to_owned()
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
                    points: crate::report::points_text(&result.indicators),
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
pub(super) struct PullQuery {
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
pub(super) async fn pull(
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
