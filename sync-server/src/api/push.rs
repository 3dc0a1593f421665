//! `push` and `pull`: a device's records in (checked, scored, applied as
//! one idempotent batch) and the changes it may see out.

use super::{device, valid_sha256};
use crate::error::{ApiError, ApiJsonWithBytes, ApiQuery};
use crate::storage::{
    BatchKey, CccdUpdate, DeviceRef, PreparedRecord, PushOutcome, RecordCheck, Storage, Subject,
};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cdht_core::sync::{
    Change, ErrorBody, PullResponse, PushBatch, PushResponse, RecordBody, ServerScore,
    FEATURE_DELETE, FEATURE_HOUSEHOLD, MAX_RECORDS_PER_BATCH, PROTOCOL_JCS,
};
use cdht_core::text::{
    has_forbidden_char, MAX_ADDRESS_CHARS, MAX_HOUSEHOLD_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS,
};
use cdht_core::Code;
use cdht_core::{AreaType, AssessmentInput, Catalog, Completeness};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::IntoParams;

// ------------------------------------------------------------ push, pull

/// The largest push `seq` and pull cursor: SQLite integers are signed 64-bit.
const MAX_SEQ: u64 = i64::MAX as u64;

fn reject(code: Code) -> RecordCheck {
    RecordCheck::Rejected { code }
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
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody),
        (status = 507, description = "`server_storage_full`: the server's disk is full; nothing of this request was kept (what was acknowledged before stays); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn push(
    State(state): State<AppState>,
    subject: Subject,
    ApiJsonWithBytes(mut batch, body): ApiJsonWithBytes<PushBatch>,
) -> Result<Response, ApiError> {
    let device = device(subject)?;
    if !(1..=PROTOCOL_JCS).contains(&batch.protocol) {
        return Err(ApiError::bad_request(Code::UnsupportedProtocol {
            max: PROTOCOL_JCS,
        }));
    }
    if batch.records.len() > MAX_RECORDS_PER_BATCH {
        // 413, not 400: the client splits the batch rather than parking it.
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::BatchTooLarge {
                max: MAX_RECORDS_PER_BATCH as u32,
            },
        ));
    }
    // The database keeps seq as a signed 64-bit integer.
    if batch.seq == 0 || batch.seq > MAX_SEQ {
        return Err(ApiError::bad_request(Code::BadSeq { max: MAX_SEQ }));
    }
    // The batch key covers everything the device sent, re-serialised from the
    // parsed value so that whitespace or key order cannot fake a change.
    // Keyed: a batch may hold a CCCD. `features` is left out: a batch an
    // older build of the app froze, and maybe sent, is resent with them by
    // the newer one, and is still the same batch (a replay, not a conflict).
    let features = std::mem::take(&mut batch.features);
    let content_hash = state.keyed_hash(&crate::sha256_hex(
        &serde_json::to_vec(&batch).map_err(|_| ApiError::internal())?,
    ));
    let key = BatchKey {
        batch_id: batch.batch_id,
        seq: batch.seq,
        content_hash,
    };
    let knows_household = features.iter().any(|f| f == FEATURE_HOUSEHOLD);
    // The rest in one trip to the blocking pool: each trip is a hand-over
    // between threads, which a busy machine makes slow, and the hashing and
    // scoring of 200 records is CPU work better kept off the async workers
    // that serve every other request meanwhile.
    let worker = state.clone();
    let outcome = state
        .db(move |s| {
            Ok(check_and_apply(
                &worker,
                s,
                &device,
                batch,
                &body,
                &key,
                knows_household,
            ))
        })
        .await??;
    match outcome {
        PushOutcome::Applied(json) | PushOutcome::Replayed(json) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response()),
        PushOutcome::BatchConflict => Err(ApiError::new(StatusCode::CONFLICT, Code::BatchConflict)),
        PushOutcome::SeqOutOfOrder { last } => Err(ApiError::new(
            StatusCode::CONFLICT,
            Code::SeqOutOfOrder { last },
        )),
    }
}

/// What `push` does on the blocking pool: reads what scoring needs, checks,
/// hashes and scores every record, then applies the batch.
fn check_and_apply(
    state: &AppState,
    storage: &dyn Storage,
    device: &DeviceRef,
    batch: PushBatch,
    body: &[u8],
    key: &BatchKey,
    knows_household: bool,
) -> Result<PushOutcome, ApiError> {
    let unit_row = storage
        .unit(device.unit.as_str())?
        .ok_or_else(ApiError::unauthenticated)?;
    // An edit of a known assessment is scored with its owning unit's area
    // type, which a collector device of a parent unit does not share.
    let assessment_ids: Vec<uuid::Uuid> = batch
        .records
        .iter()
        .filter(|r| matches!(r.body, RecordBody::Assessment(_)))
        .map(|r| r.body.id())
        .collect();
    let owner_areas = storage.assessment_areas(&assessment_ids)?;
    let catalogs = state.scoring_catalogs_in(storage, storage.catalog_revisions()?)?;
    let scoring = Scoring {
        catalogs: &catalogs,
        device_area: unit_row.area,
        owner_areas: &owner_areas,
        max_evidence: state.config.max_evidence_bytes,
        knows_household,
    };
    let protocol = batch.protocol;
    // Protocol 2 hashes each body as sent: the body as a JSON value.
    let sent = if protocol >= PROTOCOL_JCS {
        ApiJsonWithBytes::<PushBatch>::value(body)?
    } else {
        serde_json::Value::Null
    };
    let records: Vec<PreparedRecord> = batch
        .records
        .into_iter()
        .enumerate()
        .map(|(i, mut envelope)| {
            // Kept and compared (`already_had`) in one form whatever the
            // protocol: the hash of the canonical serde form.
            let canonical = envelope.body.hash_v1();
            let body_sent = &sent["records"][i]["body"];
            let check = if record_hash(protocol, &canonical, body_sent) == envelope.hash {
                envelope.hash = canonical;
                check_record(state, &envelope, &scoring)
            } else {
                reject(Code::HashMismatch)
            };
            PreparedRecord { envelope, check }
        })
        .collect();
    Ok(storage.apply_push(device, key, &records)?)
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
    /// The batch names [`FEATURE_HOUSEHOLD`]: its persons' labels replace
    /// the server's (otherwise the server keeps the label it holds).
    knows_household: bool,
}

fn check_record(
    state: &AppState,
    envelope: &cdht_core::sync::RecordEnvelope,
    scoring: &Scoring<'_>,
) -> RecordCheck {
    let max_evidence = scoring.max_evidence;
    if envelope.version == 0 {
        return reject(Code::BadVersion);
    }
    match &envelope.body {
        RecordBody::Person(p) => {
            for (field, value) in [
                ("full_name", Some(&p.full_name)),
                ("phone", p.phone.as_ref()),
                ("address", p.address.as_ref()),
                ("household", p.household.as_ref()),
            ] {
                if value.is_some_and(|v| has_forbidden_char(v, false)) {
                    return reject(Code::InvalidText {
                        field: field.to_owned(),
                    });
                }
            }
            let name = p.full_name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
                return reject(Code::InvalidName {
                    max: MAX_NAME_CHARS as u32,
                });
            }
            if p.phone
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_PHONE_CHARS)
            {
                return reject(Code::InvalidPhone {
                    max: MAX_PHONE_CHARS as u32,
                });
            }
            if p.address
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_ADDRESS_CHARS)
            {
                return reject(Code::InvalidAddress {
                    max: MAX_ADDRESS_CHARS as u32,
                });
            }
            if p.household
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_HOUSEHOLD_CHARS)
            {
                return reject(Code::InvalidHousehold {
                    max: MAX_HOUSEHOLD_CHARS as u32,
                });
            }
            let cccd = match p.cccd.as_deref().map(str::trim) {
                None | Some("") if p.keep_cccd => CccdUpdate::Keep,
                None | Some("") => CccdUpdate::Erase,
                Some(c) if cdht_core::Cccd::parse(c).is_ok() => CccdUpdate::Set(state.cccd_hmac(c)),
                Some(_) => return reject(Code::InvalidCccd),
            };
            RecordCheck::Person {
                cccd,
                stored_hash: state.keyed_hash(&envelope.hash),
                keep_household: !scoring.knows_household,
            }
        }
        RecordBody::Assessment(a) => {
            if !(2021..=2100).contains(&a.year) {
                return reject(Code::InvalidYear);
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
                Err(e) => reject(Code::from(&e)),
            }
        }
        RecordBody::Evidence(e) => {
            if has_forbidden_char(e.indicator.as_str(), false) {
                return reject(Code::InvalidText {
                    field: "indicator".to_owned(),
                });
            }
            if !valid_sha256(&e.sha256) {
                return reject(Code::InvalidEvidence {
                    problem: "bad_sha256".to_owned(),
                });
            }
            if e.size == 0 || e.size > max_evidence {
                return reject(Code::EvidenceTooLarge {
                    max_mb: max_evidence / (1024 * 1024),
                });
            }
            if e.content_type != "image/jpeg" {
                return reject(Code::UnsupportedType);
            }
            RecordCheck::Evidence
        }
        RecordBody::Tombstone(_) => RecordCheck::Tombstone,
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
    /// The optional record fields the client knows, comma-separated:
    /// `household` (persons' household labels), `delete` (tombstones of
    /// deleted records). Without them pulled persons leave the label out
    /// and deleted records' changes are left out, as older clients refuse
    /// unknown fields; unknown names are ignored.
    #[serde(default)]
    features: Option<String>,
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
        return Err(ApiError::bad_request(Code::BadQuery {
            param: Some("since".to_owned()),
        }));
    }
    let limit = q.limit.unwrap_or(200).clamp(1, 500);
    let since = q.since;
    let features = q.features.as_deref().unwrap_or_default();
    let household = features.split(',').any(|f| f.trim() == FEATURE_HOUSEHOLD);
    let deletes = features.split(',').any(|f| f.trim() == FEATURE_DELETE);
    let mut page = state
        .db(move |s| s.pull(&device, since, limit, household))
        .await?;
    // Tombstones go only to clients naming `delete` (older ones refuse the
    // body); the cursor stays where the page ended, past them.
    if !deletes {
        page.changes.retain(
            |c| !matches!(&c.change, Change::Record { record, .. } if record.body.is_tombstone()),
        );
    }
    Ok(Json(page))
}
