//! A unit's yearly report for officers (issue 13, item 5): as JSON, XLSX and
//! CSV, each within the officer's subtrees. The figures are computed by
//! `crate::report` from what storage gathers.

use super::require_officer;
use super::review::READERS;
use crate::documents::tables::{csv, report_tables};
use crate::documents::xlsx::workbook;
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::report::{compute_with, score_legacy, Report};
use crate::storage::Subject;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cdht_core::sync::ErrorBody;
use cdht_core::Code;
use serde::Deserialize;
use utoipa::IntoParams;

/// The years assessments may have (as pushes accept them).
pub(super) const YEARS: std::ops::RangeInclusive<u16> = 2021..=2100;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct YearQuery {
    /// The report's year: 2021 to 2100.
    #[param(minimum = 2021, maximum = 2100)]
    year: u16,
}

pub(super) fn bad_year() -> ApiError {
    ApiError::bad_request(Code::BadQuery {
        param: Some("year".to_owned()),
    })
}

/// The report of `code` for `year`, once the officer may read the unit;
/// `households`: with every household listed (the exports).
async fn build(
    state: &AppState,
    subject: &Subject,
    code: String,
    year: u16,
    households: bool,
) -> Result<Report, ApiError> {
    require_officer(state, subject, READERS, &code).await?;
    if !YEARS.contains(&year) {
        return Err(bad_year());
    }
    let catalogs = state.scoring_catalogs().await?;
    let mut facts = state.db(move |s| s.report_facts(&code, year)).await?;
    let mut report = tokio::task::spawn_blocking(move || {
        score_legacy(&mut facts, &catalogs);
        compute_with(&facts, &catalogs, households)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "report computation failed");
        ApiError::internal()
    })?;
    if !households {
        // A page lists at most this many eligible people; a province can
        // have tens of thousands, which the exports list in full.
        report.exemplary.persons.truncate(EXEMPLARY_LISTED);
    }
    let ids: Vec<String> = report
        .exemplary
        .persons
        .iter()
        .map(|p| p.person.clone())
        .collect();
    if !ids.is_empty() {
        let names = state.db(move |s| s.person_names(&ids)).await?;
        for p in &mut report.exemplary.persons {
            if let Some(name) = names.get(&p.person) {
                p.person_name.clone_from(name);
            }
        }
    }
    Ok(report)
}

/// The most eligible people the JSON report lists (`exemplary.eligible`
/// counts them all; report.xlsx and report.csv list them all).
pub const EXEMPLARY_LISTED: usize = 500;

const DEFINITIONS: &str = "For the assessments of `year` in the unit's subtree: `registered` = \
    people with an assessment of the year (draft or later); `submitted` = assessments sent in \
    (now submitted, returned, approved or recognised); `approved` = approved or recognised; \
    `returned` = returned now; `recognised`; `passed` = sent in and passing by the server's \
    score; `pass_rate` = passed ÷ submitted. Indicator figures are over the assessments sent \
    in, weakest first. `exemplary`: people recognised in each of the years in a row their \
    catalog asks for (5) ending with `year`, eligible to be considered (the first 500 by unit \
    listed, all counted; the exports list all). `units`: adult members \
    (of the unit and below) recognised ÷ adult members. `households`: per household (its \
    label, else the address); the list of households is in report.xlsx and report.csv. \
    `progress`: Decision 677's 2030 targets.";

#[utoipa::path(
    get,
    path = "/units/{code}/report",
    tag = "officer",
    summary = "A unit's yearly report: counts, by group, by child unit, indicators, exemplary, members, households, Decision 677 progress",
    description = DEFINITIONS,
    params(
        ("code" = String, Path, description = "The unit's code"),
        YearQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = Report),
        (status = 400, description = "`bad_query`: no `year`, or one outside 2021–2100", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` (no suitable role, or a device token) or `out_of_scope` (the unit is outside the officer's subtrees, or unknown)", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn report(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(build(&state, &subject, code, q.year, false).await?))
}

/// A file download: its type and name.
pub(super) fn attachment(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

pub(super) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A code as a file name part (unit codes are letters, digits and `-`).
pub(super) fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/units/{code}/report.xlsx",
    tag = "officer",
    summary = "The yearly report as an Excel workbook (a sheet per table, Vietnamese headers)",
    description = DEFINITIONS,
    params(
        ("code" = String, Path, description = "The unit's code"),
        YearQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The workbook", body = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "`bad_query`: no `year`, or one outside 2021–2100", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn report_xlsx(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> Result<Response, ApiError> {
    let name = format!("bao-cao-{}-{}.xlsx", file_part(&code), q.year);
    let report = build(&state, &subject, code, q.year, true).await?;
    let bytes = tokio::task::spawn_blocking(move || workbook(&report_tables(&report)))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "report workbook");
            ApiError::internal()
        })?;
    Ok(attachment(bytes, XLSX, &name))
}

#[utoipa::path(
    get,
    path = "/units/{code}/report.csv",
    tag = "officer",
    summary = "The yearly report as CSV (UTF-8 with BOM; one section per table)",
    description = DEFINITIONS,
    params(
        ("code" = String, Path, description = "The unit's code"),
        YearQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The CSV file", body = String, content_type = "text/csv; charset=utf-8"),
        (status = 400, description = "`bad_query`: no `year`, or one outside 2021–2100", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn report_csv(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> Result<Response, ApiError> {
    let name = format!("bao-cao-{}-{}.csv", file_part(&code), q.year);
    let report = build(&state, &subject, code, q.year, true).await?;
    let bytes = csv(&report_tables(&report)).map_err(|e| {
        tracing::error!(error = %e, "report csv");
        ApiError::internal()
    })?;
    Ok(attachment(bytes, "text/csv; charset=utf-8", &name))
}
