//! `GET /v/{token}`: what a certificate's QR opens, with no login. It says
//! the title is genuine and shows only the person's initials and birth
//! year, the unit, the year and the decision; an unknown or forged token
//! (or a title no longer held) gets a page saying so, and nothing else.

use super::{initials, vi_date, CertificateFacts};
use crate::page::{escape, page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// A token as certificates carry it: 64 lower-case hex digits.
fn plausible(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[utoipa::path(
    get,
    path = "/v/{token}",
    tag = "public",
    summary = "The verification page a certificate's QR opens (no login)",
    params(("token" = String, Path, description = "The certificate's verification token")),
    responses(
        (status = 200, description = "The title is genuine: initials, birth year, unit, year, decision", body = String, content_type = "text/html; charset=utf-8"),
        (status = 404, description = "A page saying no such certificate exists", body = String, content_type = "text/html; charset=utf-8"),
        (status = 500, description = "`internal`", body = cdht_core::sync::ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = cdht_core::sync::ErrorBody)
    )
)]
pub async fn verify_page(
    State(state): State<AppState>,
    token: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let found = if plausible(&token) {
        state.db(move |s| s.verify_certificate(&token)).await
    } else {
        Ok(None)
    };
    let response = match found {
        Ok(Some(facts)) => Html(genuine(&facts)).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, Html(unknown())).into_response(),
        Err(e) => return e.into_response(),
    };
    let mut response = response;
    // Nobody's name in a search engine's index or a shared cache.
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        header::HeaderValue::from_static("noindex"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

fn genuine(f: &CertificateFacts) -> String {
    let born = f
        .birth_year
        .map_or_else(String::new, |y| format!("<li>Năm sinh: <b>{y}</b></li>"));
    page(
        "Giấy chứng nhận hợp lệ",
        &format!(
            "<h1>✔ Giấy chứng nhận hợp lệ</h1>\
             <p id=verdict>Danh hiệu <b>“Công dân học tập”</b> này là thật, do Hội Khuyến học \
             công nhận.</p><ul>\
             <li>Người được công nhận: <b id=initials>{initials}</b></li>{born}\
             <li>Đơn vị: <b>{unit}</b></li>\
             <li>Năm: <b>{year}</b></li>\
             <li>Quyết định số <b>{no}</b> ngày <b>{date}</b></li></ul>\
             <p>Trang này chỉ hiện chữ cái đầu của họ tên; hãy đối chiếu với giấy chứng nhận.</p>",
            initials = escape(&initials(&f.full_name)),
            unit = escape(&f.unit_name),
            year = f.year,
            no = escape(&f.decision_no),
            date = escape(&vi_date(&f.decision_date)),
        ),
    )
}

fn unknown() -> String {
    page(
        "Không tìm thấy giấy chứng nhận",
        "<h1>✘ Không tìm thấy giấy chứng nhận</h1>\
         <p id=verdict>Mã này không khớp với giấy chứng nhận “Công dân học tập” nào còn hiệu lực. \
         Giấy có thể bị làm giả, mã in sai, hoặc danh hiệu đã bị thu hồi. \
         Hãy hỏi Hội Khuyến học nơi cấp giấy.</p>",
    )
}
