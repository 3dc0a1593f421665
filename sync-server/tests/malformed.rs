#![allow(clippy::unwrap_used, clippy::type_complexity)]
//! A sweep of malformed requests against the real server: never a 5xx, every
//! error a typed JSON body `{code, message}`.

mod support;

use reqwest::Method;
use serde_json::Value;
use support::*;

#[tokio::test]
async fn malformed_requests_get_typed_4xx_answers_never_5xx() {
    let server = start().await;
    let device = server.device("DEMO-X1-C1").await;
    let device_token = device.token().unwrap().to_owned();
    let officer = server.officer("kiemtra-x1").await;
    let officer_token = officer.token().unwrap().to_owned();
    let huge = "x".repeat(3 * 1024 * 1024);
    let huge_json = format!("{{\"batch_id\":\"{huge}\"}}");
    let sha = "a".repeat(64);
    let too_many_records = format!(
        "{{\"batch_id\":\"0190d3c2-7a9b-7cde-8f01-23456789abcd\",\"seq\":1,\"records\":[{}]}}",
        vec![
            r#"{"version":1,"hash":"x","body":{"kind":"person","id":"0190d3c2-7a9b-7cde-8f01-23456789abcd","full_name":"A"}}"#;
            201
        ]
        .join(",")
    );
    let d = Some(device_token.as_str());
    let o = Some(officer_token.as_str());
    let stale = Some("deadbeef");
    // (method, path, token, content type, body, expected status)
    let cases: Vec<(Method, String, Option<&str>, Option<&str>, String, u16)> = vec![
        (Method::POST, "/api/v1/enrol".into(), None, Some("application/json"), "{bad".into(), 400),
        (Method::POST, "/api/v1/enrol".into(), None, Some("application/json"), "[]".into(), 400),
        (Method::POST, "/api/v1/enrol".into(), None, Some("application/json"), r#"{"unit":1}"#.into(), 400),
        (Method::POST, "/api/v1/enrol".into(), None, None, "{}".into(), 415),
        (Method::POST, "/api/v1/enrol".into(), None, Some("application/json"),
            r#"{"unit":"DEMO-X1","join_key":"K","device_id":"not-a-uuid"}"#.into(), 400),
        (Method::POST, "/api/v1/enrol".into(), None, Some("application/json"), huge_json.clone(), 413),
        (Method::POST, "/api/v1/login".into(), None, Some("application/json"), r#"{"username":[],"password":1}"#.into(), 400),
        (Method::POST, "/api/v1/login".into(), None, Some("application/json"), r#"{"username":"nobody","password":"x"}"#.into(), 401),
        (Method::POST, "/api/v1/push".into(), None, Some("application/json"), "{}".into(), 401),
        (Method::POST, "/api/v1/push".into(), stale, Some("application/json"), "{}".into(), 401),
        (Method::POST, "/api/v1/push".into(), d, Some("application/json"), "{".into(), 400),
        (Method::POST, "/api/v1/push".into(), d, Some("application/json"),
            r#"{"batch_id":"x","seq":"a","records":{}}"#.into(), 400),
        (Method::POST, "/api/v1/push".into(), d, Some("application/json"),
            r#"{"batch_id":"0190d3c2-7a9b-7cde-8f01-23456789abcd","seq":-1,"records":[]}"#.into(), 400),
        (Method::POST, "/api/v1/push".into(), d, Some("application/json"),
            r#"{"batch_id":"0190d3c2-7a9b-7cde-8f01-23456789abcd","seq":0,"records":[]}"#.into(), 400),
        (Method::POST, "/api/v1/push".into(), d, Some("application/json"),
            r#"{"batch_id":"0190d3c2-7a9b-7cde-8f01-23456789abcd","seq":1,"records":[{"version":1,"hash":"x","body":{"kind":"spaceship"}}]}"#.into(), 400),
        (Method::POST, "/api/v1/push".into(), d, Some("application/json"), too_many_records, 413),
        (Method::POST, "/api/v1/push".into(), d, Some("application/json"), huge_json, 413),
        (Method::POST, "/api/v1/push".into(), o, Some("application/json"),
            r#"{"batch_id":"0190d3c2-7a9b-7cde-8f01-23456789abcd","seq":1,"records":[]}"#.into(), 403),
        (Method::GET, "/api/v1/pull?since=-1".into(), d, None, String::new(), 400),
        (Method::GET, "/api/v1/pull?since=abc".into(), d, None, String::new(), 400),
        (Method::GET, "/api/v1/pull?limit=99999999999999999999".into(), d, None, String::new(), 400),
        (Method::GET, "/api/v1/pull".into(), None, None, String::new(), 401),
        (Method::POST, "/api/v1/evidence/status".into(), d, Some("application/json"), r#"{"sha256":["nothex"]}"#.into(), 400),
        (Method::PUT, "/api/v1/evidence/nothex?offset=0".into(), d, Some("application/octet-stream"), "abc".into(), 400),
        (Method::PUT, format!("/api/v1/evidence/{sha}?offset=abc"), d, Some("application/octet-stream"), "abc".into(), 400),
        (Method::PUT, format!("/api/v1/evidence/{sha}"), d, Some("application/octet-stream"), "abc".into(), 400),
        (Method::PUT, format!("/api/v1/evidence/{sha}?offset=0"), d, Some("application/octet-stream"), "x".repeat(300 * 1024), 413),
        (Method::PUT, format!("/api/v1/evidence/{sha}?offset=0"), d, Some("application/octet-stream"), "abc".into(), 404),
        (Method::GET, format!("/api/v1/evidence/{sha}"), d, None, String::new(), 404),
        (Method::GET, format!("/api/v1/evidence/{sha}"), None, None, String::new(), 401),
        (Method::GET, "/api/v1/evidence/nothex".into(), d, None, String::new(), 400),
        (Method::GET, "/api/v1/evidence/nothex".into(), o, None, String::new(), 400),
        (Method::POST, "/api/v1/device/officer".into(), None, Some("application/json"), "{}".into(), 401),
        (Method::POST, "/api/v1/device/officer".into(), d, Some("application/json"), "{bad".into(), 400),
        (Method::POST, "/api/v1/device/officer".into(), d, Some("application/json"), r#"{"username":1}"#.into(), 400),
        (Method::POST, "/api/v1/device/officer".into(), d, None, "{}".into(), 415),
        (Method::POST, "/api/v1/device/officer".into(), d, Some("application/json"),
            r#"{"username":"nobody","password":"x"}"#.into(), 401),
        (Method::POST, "/api/v1/device/officer".into(), o, Some("application/json"),
            r#"{"username":"kiemtra-x1","password":"x"}"#.into(), 403),
        (Method::DELETE, "/api/v1/device/officer".into(), None, None, String::new(), 401),
        (Method::DELETE, "/api/v1/device/officer".into(), o, None, String::new(), 403),
        (Method::PUT, "/api/v1/device/officer".into(), d, None, String::new(), 405),
        (Method::GET, "/api/v1/units/DEMO-X1/assessments".into(), None, None, String::new(), 401),
        (Method::GET, "/api/v1/units/%00%FF/assessments".into(), o, None, String::new(), 400),
        (Method::GET, "/api/v1/units/NO-SUCH-UNIT/assessments".into(), o, None, String::new(), 403),
        (Method::POST, "/api/v1/assessments/not-a-uuid/approve".into(), o, Some("application/json"), "{}".into(), 400),
        (Method::POST, "/api/v1/assessments/0190d3c2-7a9b-7cde-8f01-23456789abcd/approve".into(), o, None, String::new(), 403),
        (Method::POST, "/api/v1/assessments/0190d3c2-7a9b-7cde-8f01-23456789abcd/return".into(), o,
            Some("application/json"), r#"{"reason":"   "}"#.into(), 400),
        (Method::POST, "/api/v1/units/DEMO-X1/recognitions".into(), o, Some("application/json"),
            r#"{"decision_no":"1","decision_date":"2025-13-45","assessments":[]}"#.into(), 400),
        (Method::GET, "/nope".into(), None, None, String::new(), 404),
        (Method::GET, "/api/v1/nope".into(), d, None, String::new(), 404),
        (Method::DELETE, "/healthz".into(), None, None, String::new(), 405),
        (Method::GET, "/j/%FF%FE".into(), None, None, String::new(), 404),
        (Method::GET, "/j/NO-SUCH-UNIT".into(), None, None, String::new(), 404),
    ];
    let http = reqwest::Client::new();
    for (method, path, token, content_type, body, expected) in cases {
        let mut req = http.request(method.clone(), format!("{}{path}", server.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let response = req.body(body).send().await.unwrap();
        let status = response.status().as_u16();
        let is_html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let text = response.text().await.unwrap();
        assert_eq!(status, expected, "{method} {path}: {text}");
        if is_html {
            assert!(text.contains("Không tìm thấy"), "{path}");
            continue;
        }
        let error: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        assert!(
            error["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{path}: {text}"
        );
        assert!(error["message"].is_string(), "{path}: {text}");
    }

    // The public pieces answer.
    let health: Value = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    // How a device tells this server from anything else at an address.
    assert_eq!(health["service"], "cdht");
    let openapi: Value = http
        .get(format!("{}/api/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/push",
        "/api/v1/pull",
        "/api/v1/evidence/{sha256}",
        "/api/v1/device/officer",
        "/j/{unit}",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path}");
    }
    for (path, method) in [
        ("/api/v1/evidence/{sha256}", "get"),
        ("/api/v1/device/officer", "post"),
        ("/api/v1/device/officer", "delete"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let page = http
        .get(format!("{}/j/DEMO-X2-C1", server.url))
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("utf-8"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Chi hội khuyến học bản Na Cô Sa"));
    assert!(html.contains("70 điểm"), "the difficult area is inherited");
}
