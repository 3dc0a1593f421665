//! What officers read and decide: a unit, its assessments, possible
//! duplicates and audit log; approving, returning and recognising
//! assessments; a unit's join key; the counters.

use super::{invalid_text, require_officer};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::storage::{
    AssessmentSummary, AuditEntry, DuplicatePage, Recognition, ReviewAction, Stats, Subject,
};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use cdht_core::ids::AssessmentId;
use cdht_core::sync::{ErrorBody, ReviewState, Role, UnitInfo};
use cdht_core::text::has_forbidden_char;
use cdht_core::Code;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

// ------------------------------------------------------------ officers

/// The roles that read a unit's assessments (and its exemplary listing).
pub(super) const READERS: &[Role] = &[
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
pub(super) async fn get_unit(
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
pub(super) async fn list_assessments(
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
pub(super) async fn duplicates(
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
pub(super) struct DuplicatesQuery {
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
pub(super) async fn audit_log(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    require_officer(&state, &subject, READERS, &code).await?;
    Ok(Json(state.db(move |s| s.audit(&code)).await?))
}

pub(super) async fn assessment_scope(
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

pub(super) fn parse_assessment(id: &str) -> Result<AssessmentId, ApiError> {
    id.parse().map_err(|_| ApiError::bad_request(Code::BadPath))
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
        (status = 409, description = "`wrong_state` (params `state`, the state now, and `to`): only a submitted assessment can be approved (another reviewer may have acted first: nothing is overwritten)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn approve(
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
pub(super) struct ReturnBody {
    /// Shown to the person; 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    reason: String,
    /// The state the reviewer saw: `submitted` (when left out), or `approved`
    /// to withdraw an approval before recognition. If the assessment is no
    /// longer in it (another reviewer acted first), `409 wrong_state`.
    #[serde(default = "submitted")]
    #[schema(default = "submitted")]
    from: ReviewState,
}

const fn submitted() -> ReviewState {
    ReviewState::Submitted
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
        (status = 409, description = "`wrong_state` (params `state`, the state now, and `to`): the assessment is not in the state `from` says (another reviewer acted first: nothing is overwritten), or `from` is neither `submitted` nor `approved`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn return_assessment(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> Result<StatusCode, ApiError> {
    let id = parse_assessment(&id)?;
    let reason = body.reason.trim().to_owned();
    if has_forbidden_char(&reason, true) {
        return Err(invalid_text("reason"));
    }
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::bad_request(Code::ReasonRequired { max: 1000 }));
    }
    let from = body.from;
    let actor = assessment_scope(&state, &subject, &[Role::Reviewer], id).await?;
    state
        .db(move |s| s.review(id, &actor, &ReviewAction::Return { reason, from }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RecogniseBody {
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
pub(super) async fn recognise(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<RecogniseBody>,
) -> Result<StatusCode, ApiError> {
    let actor = require_officer(&state, &subject, &[Role::Recogniser], &code).await?;
    let decision_no = body.decision_no.trim().to_owned();
    if has_forbidden_char(&decision_no, false) {
        return Err(invalid_text("decision_no"));
    }
    if decision_no.is_empty() || body.assessments.is_empty() || body.assessments.len() > 5000 {
        return Err(ApiError::bad_request(Code::InvalidRecognition {
            max: 5000,
        }));
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
pub(super) async fn rotate_join_key(
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
pub(super) async fn stats(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Stats>, ApiError> {
    let Subject::Officer { grants, .. } = &subject else {
        return Err(ApiError::forbidden_role());
    };
    if !grants.iter().any(|g| g.role == Role::Admin) {
        return Err(ApiError::forbidden_role());
    }
    Ok(Json(state.db(|s| s.stats()).await?))
}
