//! What a phone camera without the app opens: `GET /j/{UNIT}` (the join key
//! stays in the URL fragment, which browsers never send).

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[utoipa::path(
    get,
    path = "/j/{unit}",
    tag = "public",
    summary = "The page a phone camera without the app opens for a unit's QR",
    params(("unit" = String, Path, description = "The unit's code (the join key stays in the URL fragment)")),
    responses(
        (status = 200, description = "The unit's page: how to join", body = String, content_type = "text/html; charset=utf-8"),
        (status = 404, description = "A page saying the unit is not found", body = String, content_type = "text/html; charset=utf-8"),
        (status = 500, description = "`internal`", body = cdht_core::sync::ErrorBody),
        (status = 503, description = "`busy`: the database is busy (a crowd writing); retry after `Retry-After` seconds", body = cdht_core::sync::ErrorBody)
    )
)]
pub async fn join_page(
    State(state): State<AppState>,
    unit: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    // A damaged QR (say, bytes that are not UTF-8) still gets a page a person can read.
    let code = unit
        .map(|Path(u)| u.trim().to_ascii_uppercase())
        .unwrap_or_default();
    if !cdht_core::qr::valid_unit_code(&code) {
        return (
            StatusCode::NOT_FOUND,
            Html(page("Không tìm thấy đơn vị", &not_found())),
        )
            .into_response();
    }
    let lookup = code.clone();
    let found = state
        .db(move |s| {
            let Some(row) = s.unit(&lookup)? else {
                return Ok(None);
            };
            let mut chain = Vec::new();
            for code in s.ancestors(&lookup)?.into_iter().skip(1) {
                if let Some(u) = s.unit(code.as_str())? {
                    chain.push(u.name);
                }
            }
            Ok(Some((row, chain)))
        })
        .await;
    match found {
        Ok(Some((row, chain))) => {
            let area = match row.area {
                cdht_core::AreaType::Difficult => {
                    "<p>Đơn vị thuộc vùng khó khăn: đạt danh hiệu từ <b>70 điểm</b>.</p>"
                }
                cdht_core::AreaType::Normal => "<p>Đạt danh hiệu từ <b>80 điểm</b>.</p>",
            };
            let body = format!(
                "<h1>{name}</h1>\
                 <p class=code>Mã đơn vị: <b>{code}</b></p>\
                 <p>{chain}</p>\
                 <p>Đây là mã QR để tự đánh giá danh hiệu <b>“Công dân học tập”</b> \
                 (10 chỉ số, mỗi chỉ số 0–10 điểm) của đơn vị này.</p>{area}\
                 <h2>Cách tham gia</h2><ol>\
                 <li>Cài ứng dụng <b>CDHT – Công dân học tập</b> (hỏi cán bộ chi hội khuyến học \
                 nếu chưa có).</li>\
                 <li>Mở ứng dụng, chọn <b>Quét mã đơn vị</b> và quét lại mã QR này \
                 (hoặc gõ mã đơn vị và mã tham gia in dưới mã QR).</li>\
                 <li>Tự chấm điểm, chụp ảnh minh chứng. Không cần mạng: ứng dụng tự gửi khi có sóng.</li>\
                 </ol>",
                name = escape(&row.name),
                code = escape(row.code.as_str()),
                chain = escape(&chain.join(" · ")),
            );
            Html(page(&row.name, &body)).into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Html(page("Không tìm thấy đơn vị", &not_found())),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn not_found() -> String {
    "<h1>Không tìm thấy đơn vị</h1><p>Mã QR này không còn dùng được hoặc bị in sai. \
     Bác hãy hỏi cán bộ chi hội khuyến học để lấy mã mới.</p>"
        .to_owned()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=vi><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{} – Công dân học tập</title>\
         <style>body{{font-family:sans-serif;font-size:18px;max-width:40em;margin:1em auto;\
         padding:0 1em;line-height:1.5}}.code b{{font-size:1.6em;letter-spacing:.05em}}</style>\
         </head><body>{body}</body></html>",
        escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
