//! `GET /units/{code}/review-queue`: a subtree's assessments of a year in
//! one state (submitted by default), newest first, a page at a time.

use super::report::{bad_year, YEARS};
use super::require_officer;
use super::review::READERS;
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::queue::{parse_cursor, QueueFilter, QueuePage};
use crate::storage::Subject;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use cdht_core::sync::{ErrorBody, ReviewState};
use cdht_core::Code;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct QueueQuery {
    /// 2021 to 2100.
    #[param(minimum = 2021, maximum = 2100)]
    year: u16,
    /// `draft`, `submitted` (when left out), `returned`, `approved` or `recognised`.
    state: Option<String>,
    /// A target group id.
    group: Option<String>,
    /// Only passing (true) or failing (false) by the server's score.
    passed: Option<bool>,
    /// Only with (true) or without (false) a likely duplicate (same keyed CCCD, same year).
    duplicate: Option<bool>,
    /// The `next` of the previous page.
    cursor: Option<String>,
    /// 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/units/{code}/review-queue",
    tag = "officer",
    summary = "The review queue of a unit's subtree: newest first, paged, filtered",
    params(
        ("code" = String, Path, description = "The unit's code"),
        QueueQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page, newest first; repeat with `cursor = next` while `next` is set", body = QueuePage),
        (status = 400, description = "`bad_query`: a year outside 2021–2100, an unknown state, a bad cursor or a parameter of the wrong type", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn review_queue(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<QueuePage>, ApiError> {
    require_officer(&state, &subject, READERS, &code).await?;
    if !YEARS.contains(&q.year) {
        return Err(bad_year());
    }
    let review_state = match q.state.as_deref() {
        None => ReviewState::Submitted,
        Some(s) => ReviewState::parse(s).ok_or_else(|| {
            ApiError::bad_request(Code::BadQuery {
                param: Some("state".to_owned()),
            })
        })?,
    };
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(parse_cursor(c).ok_or_else(|| {
            ApiError::bad_request(Code::BadQuery {
                param: Some("cursor".to_owned()),
            })
        })?),
    };
    let filter = QueueFilter {
        year: q.year,
        state: review_state.as_str().to_owned(),
        group: q.group,
        passed: q.passed,
        duplicate: q.duplicate,
        after,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
    };
    Ok(Json(
        state.db(move |s| s.review_queue(&code, &filter)).await?,
    ))
}
