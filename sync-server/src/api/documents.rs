//! Documents for officers: a recognised assessment's certificate (PDF with a
//! QR to `GET /v/{token}`), and a decision's recognition list (XLSX, PDF).

use super::report::{attachment, file_part, XLSX};
use super::require_officer;
use super::review::{assessment_scope, parse_assessment, READERS};
use crate::documents::certificate::{certificate_pdf, verify_url};
use crate::documents::decision::{decision_pdf, decision_table};
use crate::documents::new_token;
use crate::documents::xlsx::workbook;
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::storage::Subject;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use cdht_core::sync::ErrorBody;
use cdht_core::text::has_forbidden_char;
use cdht_core::Code;
use serde::Deserialize;
use utoipa::IntoParams;

/// Where the server is reached: `public_url` (set by `init`), else this
/// request's own host.
async fn public_url(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(url) = state.db(|s| s.setting(crate::units::PUBLIC_URL)).await? {
        return Ok(url);
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1:8080");
    Ok(format!("http://{host}"))
}

#[utoipa::path(
    get,
    path = "/assessments/{id}/certificate.pdf",
    tag = "officer",
    summary = "The certificate of a recognised assessment (A4 PDF with a verification QR)",
    description = "One A4 page \"Công dân học tập\": full name, unit, year, decision number and \
        date, and a QR code of `{public_url}/v/{token}`; the token is random and kept, so every \
        download of the same certificate carries the same one.",
    params(("id" = String, Path, format = Uuid, description = "The assessment's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The certificate", body = Vec<u8>, content_type = "application/pdf"),
        (status = 400, description = "`bad_path`: the id is not a UUID", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: no token, or an unknown or expired one", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope` (also for an unknown id)", body = ErrorBody),
        (status = 409, description = "`not_recognised`: the assessment is not recognised", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn certificate(
    State(state): State<AppState>,
    subject: Subject,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = parse_assessment(&id)?;
    assessment_scope(&state, &subject, READERS, id).await?;
    let token = new_token().map_err(|_| ApiError::internal())?;
    let facts = state
        .db(move |s| s.certificate(id, &token))
        .await?
        .ok_or_else(ApiError::out_of_scope)?;
    let url = verify_url(&public_url(&state, &headers).await?, &facts.token);
    let bytes = tokio::task::spawn_blocking(move || certificate_pdf(&facts, &url))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "certificate");
            ApiError::internal()
        })?;
    Ok(attachment(
        bytes,
        "application/pdf",
        &format!("chung-nhan-{id}.pdf"),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DecisionQuery {
    /// The decision number, as entered when recognising (1 to 100 characters).
    decision_no: String,
}

/// The decision's rows in the subtree, and the unit's name.
async fn decision_rows(
    state: &AppState,
    subject: &Subject,
    code: String,
    decision_no: String,
) -> Result<(String, Vec<crate::documents::DecisionRow>), ApiError> {
    require_officer(state, subject, READERS, &code).await?;
    let decision_no = decision_no.trim().to_owned();
    if decision_no.is_empty()
        || decision_no.chars().count() > 100
        || has_forbidden_char(&decision_no, false)
    {
        return Err(ApiError::bad_request(Code::BadQuery {
            param: Some("decision_no".to_owned()),
        }));
    }
    state
        .db(move |s| {
            let name = s.unit(&code)?.map(|u| u.name).unwrap_or_default();
            Ok((name, s.decision_list(&code, &decision_no)?))
        })
        .await
}

#[utoipa::path(
    get,
    path = "/units/{code}/recognition-list.xlsx",
    tag = "officer",
    summary = "The people a decision recognised in the unit's subtree, as an Excel workbook",
    params(
        ("code" = String, Path, description = "The unit's code"),
        DecisionQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The list (empty when the decision recognised nobody here)", body = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "`bad_query`: no decision number, or a bad one", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn decision_xlsx(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<DecisionQuery>,
) -> Result<Response, ApiError> {
    let name = format!(
        "danh-sach-{}-{}.xlsx",
        file_part(&code),
        file_part(&q.decision_no)
    );
    let (_, rows) = decision_rows(&state, &subject, code, q.decision_no).await?;
    let bytes = workbook(&[decision_table(&rows)]).map_err(|e| {
        tracing::error!(error = %e, "decision workbook");
        ApiError::internal()
    })?;
    Ok(attachment(bytes, XLSX, &name))
}

#[utoipa::path(
    get,
    path = "/units/{code}/recognition-list.pdf",
    tag = "officer",
    summary = "The people a decision recognised in the unit's subtree, as a printable PDF",
    params(
        ("code" = String, Path, description = "The unit's code"),
        DecisionQuery
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The list", body = Vec<u8>, content_type = "application/pdf"),
        (status = 400, description = "`bad_query`: no decision number, or a bad one", body = ErrorBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden_role` or `out_of_scope`", body = ErrorBody),
        (status = 500, description = "`internal`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after `Retry-After` seconds", body = ErrorBody)
    )
)]
pub(super) async fn decision_pdf_list(
    State(state): State<AppState>,
    subject: Subject,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<DecisionQuery>,
) -> Result<Response, ApiError> {
    let name = format!(
        "danh-sach-{}-{}.pdf",
        file_part(&code),
        file_part(&q.decision_no)
    );
    let decision_no = q.decision_no.trim().to_owned();
    let (unit_name, rows) = decision_rows(&state, &subject, code, q.decision_no).await?;
    let bytes = tokio::task::spawn_blocking(move || decision_pdf(&unit_name, &decision_no, &rows))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "decision pdf");
            ApiError::internal()
        })?;
    Ok(attachment(bytes, "application/pdf", &name))
}
