#![allow(clippy::unwrap_used)]
//! What the dashboard's pages need from the real server: the pages
//! themselves (embedded, with their cache and CSP headers), `/me`, and one
//! assessment for review, each refused outside the officer's subtrees.

mod support;

use cdht_core::sync::DeviceState;
use reqwest::{redirect, StatusCode};
use serde_json::Value;
use support::*;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(url: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = http().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_dashboard_is_served_with_its_headers() {
    let server = start().await;
    for from in ["/", "/dashboard"] {
        let res = http()
            .get(format!("{}{from}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{from}");
        assert_eq!(res.headers()["location"], "/dashboard/", "{from}");
    }
    // The page itself and any of its own addresses: the same index.html,
    // never cached, scripts only from this server.
    let index = http()
        .get(format!("{}/dashboard/", server.url))
        .send()
        .await
        .unwrap();
    let csp = index.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(index.headers()["cache-control"], "no-cache");
    let built = cdht_server::dashboard::is_built();
    let status = index.status();
    let body = index.text().await.unwrap();
    if built {
        assert_eq!(status, StatusCode::OK);
        let sub = http()
            .get(format!("{}/dashboard/review/x", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(sub.status(), StatusCode::OK);
        assert_eq!(sub.text().await.unwrap(), body);
        // No inline script: every script is a file under /dashboard/assets/.
        let script = body
            .split("<script")
            .nth(1)
            .and_then(|s| s.split("src=\"").nth(1))
            .and_then(|s| s.split('"').next())
            .unwrap();
        assert!(script.starts_with("/dashboard/assets/"), "{script}");
        assert!(!body.contains("<script>"), "{body}");
        let asset = http()
            .get(format!("{}{script}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), StatusCode::OK);
        assert!(asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        assert!(asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
    } else {
        // Built before `npm run build:dashboard`: a page saying how.
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("npm run build:dashboard"), "{body}");
    }
    let missing = http()
        .get(format!("{}/dashboard/assets/nope.js", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let post = http()
        .post(format!("{}/dashboard/", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Elsewhere the API's JSON 404 stays.
    let (status, body) = get(&format!("{}/nothing-here", server.url), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn me_names_the_roles_and_the_units_they_cover() {
    let server = start().await;
    let reviewer = server.officer("kiemtra-x1").await;
    let (status, me) = get(&format!("{}/api/v1/me", server.url), reviewer.token()).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "kiemtra-x1");
    assert_eq!(me["roles"][0]["role"], "reviewer");
    assert_eq!(me["roles"][0]["unit"], "DEMO-X1");
    assert!(!me["roles"][0]["unit_name"].as_str().unwrap().is_empty());
    let codes: Vec<&str> = me["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["DEMO-X1", "DEMO-X1-C1", "DEMO-X1-C2"]);

    let (status, _) = get(&format!("{}/api/v1/me", server.url), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let device = server.device("DEMO-X1-C1").await;
    let (status, body) = get(&format!("{}/api/v1/me", server.url), device.token()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden_role"))
    );
}

#[tokio::test]
async fn an_assessment_for_review_inside_the_scope_only() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let jpeg = photo(5, 4000);
    let with_photo =
        announce_photos(&device, 1, "Trần Văn Bình", std::slice::from_ref(&jpeg)).await;
    let (_, passing) =
        push_person_with_assessment(&device, 2, "Lê Thị Hoa", None, DeviceState::Submitted).await;

    let reviewer = server.officer("kiemtra-x1").await;
    let url = |id: &dyn std::fmt::Display| format!("{}/api/v1/assessments/{id}", server.url);
    let (status, d) = get(&url(&with_photo), reviewer.token()).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["person_name"], "Trần Văn Bình");
    assert_eq!(d["unit"], "DEMO-X1-C1");
    assert_eq!(d["state"], "submitted");
    assert_eq!(d["total"], 80);
    assert_eq!(d["indicators"].as_array().unwrap().len(), 10);
    assert!(
        d["indicators"][0]["title"]["vi"].as_str().unwrap().len() > 3,
        "{d}"
    );
    assert_eq!(d["indicators"][0]["points"], 8);
    let photos: Vec<&Value> = d["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["evidence"].as_array().unwrap())
        .collect();
    assert_eq!(photos, [&Value::from(cdht_sync_client::sha256_hex(&jpeg))]);
    assert!(d["last_review"].is_null());

    // After a review, who and when.
    reviewer
        .post_json::<_, Value>(
            &format!("/api/v1/assessments/{passing}/return"),
            &serde_json::json!({"reason": "Thiếu ảnh"}),
        )
        .await
        .unwrap();
    let (_, d) = get(&url(&passing), reviewer.token()).await;
    assert_eq!(d["state"], "returned");
    assert_eq!(d["return_reason"], "Thiếu ảnh");
    assert_eq!(d["last_review"]["actor"], "kiemtra-x1");
    assert_eq!(d["last_review"]["action"], "return");
    assert!(d["last_review"]["at"].as_str().unwrap().starts_with("20"));

    // Another commune's reviewer, a device, an unknown id, a bad id.
    let other = server.officer("kiemtra-x2").await;
    let (status, body) = get(&url(&with_photo), other.token()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("out_of_scope"))
    );
    let (status, _) = get(&url(&with_photo), device.token()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unknown = cdht_core::ids::AssessmentId::new_v7();
    let (status, body) = get(&url(&unknown), reviewer.token()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("out_of_scope"))
    );
    let (status, body) = get(&url(&"x"), reviewer.token()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_path"))
    );
    // The province's viewer reads it.
    let viewer = server.officer("xem-tinh").await;
    let (status, _) = get(&url(&with_photo), viewer.token()).await;
    assert_eq!(status, StatusCode::OK);
}
