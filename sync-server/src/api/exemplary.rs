//! Exemplary Learning Citizen (công dân học tập tiêu biểu) for officers:
//! who in a unit's subtree is eligible to be considered in a year, and the
//! title granted by a decision. Recognised years in a row never grant the
//! title by themselves (`cdht_core::exemplary`).

use super::{invalid_text, require_officer, review::READERS};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::storage::{ExemplaryGrant, ExemplaryTitle, Subject};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use cdht_core::ids::{AssessmentId, PersonId, UnitCode};
use cdht_core::sync::{ErrorBody, Role};
use cdht_core::text::has_forbidden_char;
use cdht_core::Code;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The years assessments may have (as pushes accept them).
const YEARS: std::ops::RangeInclusive<u16> = 2021..=2100;

/// The longest decision number accepted.
const MAX_DECISION_NO_CHARS: usize = 100;

/// The most persons one decision may name in a request.
const MAX_PERSONS: usize = 5000;

/// A person recognised in `year` in the unit's subtree, and their exemplary
/// status for that year.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExemplaryPerson {
    pub person: PersonId,
    pub person_name: String,
    /// The person's recognised assessment of `year` in the subtree, and its unit.
    pub assessment: AssessmentId,
    pub unit: UnitCode,
    pub year: u16,
    /// Recognised years in a row ending with `year` (at least 1 here).
    pub streak: u32,
    /// Years in a row needed, by the rules of the catalog of that assessment.
    pub required: u32,
    /// Eligible to be considered for the exemplary title ("đủ điều kiện
    /// xét"): not the title, which only a decision grants (`title`).
    pub eligible: bool,
    /// Further recognised years in a row needed (0 once eligible).
    pub years_to_go: u32,
    /// The years-in-a-row rule is provisional (one source so far).
    pub provisional: bool,
    /// The decision that granted the exemplary title for `year`; null until then.
    pub title: Option<ExemplaryTitle>,
}

/// One page of persons, by person id; ask again with `after = next` while set.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExemplaryPage {
    pub persons: Vec<ExemplaryPerson>,
    pub next: Option<PersonId>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ExemplaryQuery {
    /// The year the status is for: 2021 to 2100.
    #[param(minimum = 2021, maximum = 2100)]
    year: u16,
    /// The `next` of the previous page (left out for the first).
    after: Option<PersonId>,
    /// The most persons in one answer: 1 to 500, 100 when left out.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

fn bad_year() -> ApiError {
    ApiError::bad_request(Code::BadQuery {
        param: Some("year".to_owned()),
    })
}

#[utoipa::path(
    get,
    path = "/units/{code}/exemplary",
    tag = "officer",
    summary = "Who in a unit's subtree is eligible for exemplary Learning Citizen in a year, and who was granted it",
    description = "Every person with a recognised assessment of `year` in the subtree, with \
        their streak of recognised years (in any unit) ending with `year`. `eligible` means \
        eligible to be considered; the title is `title`, set only by a decision \
        (`POST /units/{code}/exemplary`).",
    params(
        ("code" = String, Path, description = "The unit's code"),
        ExemplaryQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of persons, by person id; repeat with `after = next` while `next` is set", body = ExemplaryPage),
        (status = 400, description = "`bad_query`: no `year` or one outside 2021–2100, `after` not a person id, or `limit` not a number", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn list_exemplary(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExemplaryQuery>,
) -> Result<Json<ExemplaryPage>, ApiError> {
    require_officer(&state, &subject, READERS, &code).await?;
    if !YEARS.contains(&q.year) {
        return Err(bad_year());
    }
    let year = q.year;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let catalogs = state.scoring_catalogs().await?;
    let page = state
        .db(move |s| s.exemplary_candidates(&code, year, q.after, limit))
        .await?;
    let mut persons = Vec::with_capacity(page.candidates.len());
    for c in page.candidates {
        let status = crate::exemplary::status(&c, year, &catalogs).map_err(ApiError::from)?;
        persons.push(ExemplaryPerson {
            person: c.person,
            person_name: c.person_name,
            assessment: c.assessment,
            unit: c.unit,
            year,
            streak: status.streak,
            required: status.required,
            eligible: status.eligible,
            years_to_go: status.years_to_go,
            provisional: status.provisional,
            title: c.title,
        });
    }
    Ok(Json(ExemplaryPage {
        persons,
        next: page.next,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantExemplaryBody {
    /// The year of the title: the last of the recognised years in a row (2021 to 2100).
    #[schema(minimum = 2021, maximum = 2100)]
    year: u16,
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    decision_no: String,
    decision_date: chrono::NaiveDate,
    /// 1 to 5000 persons of the unit's subtree, each eligible in `year`.
    #[schema(min_items = 1, max_items = 5000)]
    persons: Vec<PersonId>,
}

#[utoipa::path(
    post,
    path = "/units/{code}/exemplary",
    tag = "officer",
    summary = "Grant the exemplary Learning Citizen title by a decision (recogniser)",
    description = "All or nothing: every person must be recognised in `year` by an assessment \
        of the unit's subtree and eligible (enough recognised years in a row). The same \
        decision sent again changes nothing.",
    params(
        ("code" = String, Path, description = "The unit's code")
    ),
    request_body = GrantExemplaryBody,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Granted"),
        (status = 400, description = "`invalid_exemplary` (a year outside 2021–2100, no decision number or one over 100 characters, or 0 or over 5000 persons), `invalid_text` (a control or bidi character in the decision number), `bad_json`, `invalid_body` or `bad_request`", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees)", body = ErrorBody),
        (status = 404, description = "`not_found`: a person has no record in the unit's subtree", body = ErrorBody),
        (status = 409, description = "`not_eligible` (a person not recognised in `year` in the subtree, or not enough years in a row) or `already_granted` (granted for `year` by another decision)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn grant_exemplary(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<GrantExemplaryBody>,
) -> Result<StatusCode, ApiError> {
    let actor = require_officer(&state, &subject, &[Role::Recogniser], &code).await?;
    let decision_no = body.decision_no.trim().to_owned();
    if has_forbidden_char(&decision_no, false) {
        return Err(invalid_text("decision_no"));
    }
    if !YEARS.contains(&body.year)
        || decision_no.is_empty()
        || decision_no.chars().count() > MAX_DECISION_NO_CHARS
        || body.persons.is_empty()
        || body.persons.len() > MAX_PERSONS
    {
        return Err(ApiError::bad_request(Code::InvalidExemplary { max: 5000 }));
    }
    let year = body.year;
    let grant = ExemplaryGrant {
        year,
        title: ExemplaryTitle {
            decision_no,
            decision_date: body.decision_date.to_string(),
        },
        persons: body.persons,
    };
    let catalogs = state.scoring_catalogs().await?;
    state
        .db(move |s| {
            s.grant_exemplary(&code, &actor, &grant, &|c| {
                crate::exemplary::status(c, year, &catalogs)
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
