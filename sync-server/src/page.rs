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
            let server = s.setting(crate::units::PUBLIC_URL)?;
            Ok(Some((row, chain, server)))
        })
        .await;
    match found {
        Ok(Some((row, chain, server))) => {
            let body = unit_page_body(
                &row,
                &chain,
                server.as_deref(),
                state.config.app_url.as_deref(),
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

/// The unit's page. The steps name the app's real buttons (the join
/// screen, `ui/shared/src/i18n/vi.json`). The join key is in the URL fragment,
/// which the browser never sends: the page's own script shows it.
fn unit_page_body(
    row: &crate::storage::UnitRow,
    chain: &[String],
    server: Option<&str>,
    app_url: Option<&str>,
) -> String {
    let area = match row.area {
        cdht_core::AreaType::Difficult => {
            "<p>Đơn vị thuộc vùng khó khăn: đạt danh hiệu từ <b>70 điểm</b>.</p>"
        }
        cdht_core::AreaType::Normal => "<p>Đạt danh hiệu từ <b>80 điểm</b>.</p>",
    };
    let get_app = match app_url {
        Some(url) => format!(
            "Tải và cài ứng dụng <b>CDHT – Công dân học tập</b>: \
             <a id=app-url href=\"{url}\">{url}</a>.",
            url = escape(url)
        ),
        None => "Cài ứng dụng <b>CDHT – Công dân học tập</b> (hỏi cán bộ chi hội khuyến học \
                 nếu chưa có)."
            .to_owned(),
    };
    let server_line = server.map_or_else(String::new, |s| {
        format!("<p>Địa chỉ máy chủ: <b id=server>{}</b></p>", escape(s))
    });
    format!(
        "<h1>{name}</h1>\
         <p class=code>Mã đơn vị: <b>{code}</b></p>\
         <p class=code id=key-line hidden>Mã tham gia: <b id=join-key></b></p>\
         {server_line}<p>{chain}</p>\
         <p>Đây là mã QR để tự đánh giá danh hiệu <b>“Công dân học tập”</b> \
         (10 chỉ số, mỗi chỉ số 0–10 điểm) của đơn vị này.</p>{area}\
         <h2>Cách tham gia</h2><ol>\
         <li id=get-app>{get_app}</li>\
         <li>Mở ứng dụng, vào mục <b>Đơn vị</b>, bấm <b>Quét mã QR bằng máy ảnh</b> và quét \
         lại mã QR này (hoặc <b>Chọn ảnh mã QR</b> với một ảnh chụp mã). Không quét được: ở \
         <b>Cách 2: Nhập mã in dưới mã QR</b>, gõ địa chỉ máy chủ, mã đơn vị và mã tham gia \
         ở trên.</li>\
         <li>Tự chấm điểm, chụp ảnh minh chứng. Không cần mạng: ứng dụng tự gửi khi có sóng.</li>\
         </ol>\
         <script>{JOIN_KEY_SCRIPT}</script>",
        name = escape(&row.name),
        code = escape(row.code.as_str()),
        chain = escape(&chain.join(" · ")),
    )
}

/// Shows the join key of the QR (`#k=KEY`) when the page was opened from it.
const JOIN_KEY_SCRIPT: &str = "var m=/[#&]k=([A-Za-z0-9]{6,32})(&|$)/.exec(location.hash);\
if(m){document.getElementById('join-key').textContent=m[1];\
document.getElementById('key-line').hidden=false;}";

fn not_found() -> String {
    "<h1>Không tìm thấy đơn vị</h1><p>Mã QR này không còn dùng được hoặc bị in sai. \
     Bác hãy hỏi cán bộ chi hội khuyến học để lấy mã mới.</p>"
        .to_owned()
}

pub(crate) fn page(title: &str, body: &str) -> String {
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

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
