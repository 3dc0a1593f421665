//! The officers' web dashboard (`ui/dashboard`), built into the binary by
//! `build.rs`: `/dashboard/` and everything under it (its assets, and its
//! own pages' addresses, which all get `index.html`: the page routes itself).

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

/// (path under `/dashboard/`, bytes) of every built file; empty when the
/// dashboard was not built before this binary.
static ASSETS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));

/// What the dashboard's pages may load and run: only this server's own
/// scripts, styles, fonts and API (no inline script, no CDN); photos are
/// shown from blobs fetched with the officer's token.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; font-src 'self'; img-src 'self' blob: data:; connect-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether the dashboard was built into this binary.
#[must_use]
pub fn is_built() -> bool {
    asset("index.html").is_some()
}

fn asset(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[utoipa::path(
    get,
    path = "/",
    tag = "public",
    summary = "Sends a browser to the dashboard (`/dashboard/`)",
    responses(
        (status = 303, description = "To `/dashboard/`")
    )
)]
pub async fn root() -> Redirect {
    Redirect::to("/dashboard/")
}

#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "public",
    summary = "Sends a browser to the dashboard (`/dashboard/`)",
    responses(
        (status = 303, description = "To `/dashboard/`")
    )
)]
pub async fn bare() -> Redirect {
    Redirect::to("/dashboard/")
}

#[utoipa::path(
    get,
    path = "/dashboard/",
    tag = "public",
    summary = "The officers' web dashboard (HTML); its assets and pages are every address under /dashboard/",
    description = "Hashed assets (`/dashboard/assets/…`) are cached for a year; every other \
        address under `/dashboard/` answers the dashboard's `index.html` (never cached), whose \
        script shows the page for that address.",
    responses(
        (status = 200, description = "The dashboard's page", content_type = "text/html"),
        (status = 503, description = "This server was built without the dashboard (an HTML page saying how to build it)", content_type = "text/html")
    )
)]
pub async fn index() -> Response {
    page("index.html")
}

/// Any `GET` under `/dashboard/` the router has no route for (the router's
/// fallback sends them here): a built file, or `index.html` for the
/// dashboard's own pages. `None` for other addresses.
#[must_use]
pub fn serve_path(uri: &Uri) -> Option<Response> {
    let rest = uri.path().strip_prefix("/dashboard/")?;
    if rest.split('/').any(|s| s == ".." || s == ".") {
        return None;
    }
    Some(page(rest))
}

fn page(path: &str) -> Response {
    if let Some(bytes) = asset(path).filter(|_| path != "index.html") {
        // Vite names every asset after its content: a new build is a new name.
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return with_headers(StatusCode::OK, content_type(path), cache, bytes);
    }
    if path.starts_with("assets/") {
        return with_headers(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "no-cache",
            b"not found",
        );
    }
    match asset("index.html") {
        Some(html) => with_headers(StatusCode::OK, "text/html; charset=utf-8", "no-cache", html),
        None => with_headers(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html; charset=utf-8",
            "no-cache",
            NOT_BUILT.as_bytes(),
        ),
    }
}

const NOT_BUILT: &str = "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\">\
<title>CDHT</title><h1>Chưa có bảng điều khiển</h1>\
<p>Máy chủ này được dựng khi giao diện bảng điều khiển chưa được dựng. Chạy \
<code>cd ui &amp;&amp; npm run build:dashboard</code> rồi dựng lại <code>cdht-server</code> \
(<code>bash scripts/setup.sh</code> làm cả hai).</p>\
<p lang=\"en\">This server was built before the dashboard's web pages were: run \
<code>cd ui &amp;&amp; npm run build:dashboard</code>, then build <code>cdht-server</code> again \
(<code>bash scripts/setup.sh</code> does both).</p></html>";

fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    cache: &'static str,
    body: &'static [u8],
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
