#![allow(clippy::unwrap_used)]
//! `/api/openapi.json` against the real server: the document is OpenAPI 3.1
//! with every `$ref` resolving; every documented operation is served (a
//! request reaches its handler, never the 404 fallback or a 405) and answers
//! only statuses it documents, with bodies that match the documented schemas
//! (a small JSON Schema check below, on real answers and real request
//! bodies); every method a path does not document answers 405. The router
//! and the document are built by the same `routes!` calls
//! (`cdht_server::api::api_routes`), and a scan of the sources checks that no
//! route is added any other way, so no served route is left undocumented.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::DeviceState;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::*;

/// Every operation the server serves. A new route is added here on purpose,
/// so one dropped from `api_routes` (which would vanish from the router and
/// the document together) is caught too.
const EXPECTED: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/j/{unit}"),
    ("GET", "/v/{token}"),
    ("GET", "/api/openapi.json"),
    ("GET", "/"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard/"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/assessments/{id}"),
    ("POST", "/api/v1/enrol"),
    ("POST", "/api/v1/login"),
    ("POST", "/api/v1/push"),
    ("GET", "/api/v1/pull"),
    ("POST", "/api/v1/evidence/status"),
    ("GET", "/api/v1/evidence/{sha256}"),
    ("PUT", "/api/v1/evidence/{sha256}"),
    ("POST", "/api/v1/device/officer"),
    ("DELETE", "/api/v1/device/officer"),
    ("GET", "/api/v1/units/{code}"),
    ("GET", "/api/v1/units/{code}/assessments"),
    ("GET", "/api/v1/units/{code}/duplicates"),
    ("GET", "/api/v1/units/{code}/audit"),
    ("POST", "/api/v1/units/{code}/recognitions"),
    ("GET", "/api/v1/units/{code}/exemplary"),
    ("POST", "/api/v1/units/{code}/exemplary"),
    ("POST", "/api/v1/units/{code}/join-key"),
    ("POST", "/api/v1/assessments/{id}/approve"),
    ("POST", "/api/v1/assessments/{id}/return"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/units/{code}/report"),
    ("GET", "/api/v1/units/{code}/report.xlsx"),
    ("GET", "/api/v1/units/{code}/report.csv"),
    ("GET", "/api/v1/units/{code}/review-queue"),
    ("GET", "/api/v1/assessments/{id}/certificate.pdf"),
    ("GET", "/api/v1/units/{code}/recognition-list.xlsx"),
    ("GET", "/api/v1/units/{code}/recognition-list.pdf"),
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// The (METHOD, path) pairs of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Resolves a local `$ref` (`#/components/schemas/X`) by JSON pointer.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Every `$ref` anywhere in `v`, with where it is.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    out.push((at.to_owned(), child.as_str().unwrap_or_default().to_owned()));
                } else {
                    refs(child, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A small JSON Schema (2020-12 subset, as utoipa writes it) check: enough
/// to prove that what serde reads and writes is what the document says.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = resolve(doc, r).ok_or_else(|| format!("{at}: unresolved {r}"))?;
        return check(doc, target, value, at);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, value, at)?;
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let errors: Vec<String> = one
            .iter()
            .filter_map(|s| check(doc, s, value, at).err())
            .collect();
        let passed = one.len() - errors.len();
        if passed != 1 {
            return Err(format!(
                "{at}: {passed} of oneOf match {value}: {}",
                errors.join(" | ")
            ));
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} not in {allowed:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            return Err(format!("{at}: {n} below {min}"));
        }
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n > max {
            return Err(format!("{at}: {n} above {max}"));
        }
    }
    if let (Some(format), Some(s)) = (schema.get("format").and_then(Value::as_str), value.as_str())
    {
        let ok = match format {
            "uuid" => uuid::Uuid::parse_str(s).is_ok(),
            "date" => s.len() == 10 && s.as_bytes()[4] == b'-',
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: {s} is not a {format}"));
        }
    }
    if let Some(items) = schema.get("items") {
        for (i, v) in value.as_array().into_iter().flatten().enumerate() {
            check(doc, items, v, &format!("{at}/{i}"))?;
        }
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap();
            if !obj.contains_key(name) {
                return Err(format!("{at}: required `{name}` missing in {value}"));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, v, &format!("{at}/{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: `{k}` is not a documented field"))
                    }
                    Some(s @ Value::Object(_)) => check(doc, s, v, &format!("{at}/{k}"))?,
                    _ => {}
                },
            }
        }
    }
    Ok(())
}

/// Checks `value` against the component schema `name`.
fn check_component(doc: &Value, name: &str, value: &Value) {
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    if let Err(e) = check(doc, &schema, value, name) {
        panic!("{e}");
    }
}

async fn document(server: &TestServer) -> Value {
    let response = reqwest::get(format!("{}/api/openapi.json", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn document_is_openapi_3_1_and_every_ref_resolves() {
    let server = start().await;
    let doc = document(&server).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // What is served is what the handlers and types produce.
    let generated = serde_json::to_value(cdht_server::api::openapi_document()).unwrap();
    assert_eq!(doc, generated);

    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    assert!(found.len() > 50, "{}", found.len());
    for (at, r) in &found {
        assert!(r.starts_with("#/components/schemas/"), "{at}: {r}");
        assert!(resolve(&doc, r).is_some(), "{at}: {r} does not resolve");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(operations(&doc), expected);

    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.to_ascii_lowercase()];
        let what = format!("{method} {path}");
        // Path parameters: exactly the `{names}` of the path.
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{what}");
                p["name"].as_str().unwrap().to_owned()
            })
            .collect();
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, in_path, "{what}");
        // One success answer (or a redirect); every error answer is an
        // ErrorBody (the join page's 404 is the page itself, in HTML, and so
        // is the dashboard's 503 when it was not built).
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .filter(|s| s.starts_with('2') || s.starts_with('3'))
                .count()
                == 1,
            "{what}"
        );
        for (status, response) in responses {
            let page = path == "/j/{unit}" || path == "/v/{token}";
            let dashboard = path == "/dashboard/" && status == "503";
            if status.starts_with('2')
                || status.starts_with('3')
                || (page && status == "404")
                || dashboard
            {
                continue;
            }
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{what} {status}"
            );
        }
        let statuses: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
        let authenticated = op.get("security").is_some();
        let json_body = op["requestBody"]["content"]["application/json"].is_object();
        if authenticated {
            assert!(statuses.contains("401"), "{what}");
        }
        if json_body {
            for s in ["400", "413", "415"] {
                assert!(statuses.contains(s), "{what} {s}");
            }
            assert!(
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string(),
                "{what}: the body is a component schema"
            );
        }
        if let Some(schema) = responses
            .iter()
            .find(|(s, _)| s.starts_with('2'))
            .and_then(|(_, r)| r["content"]["application/json"]["schema"].as_object())
        {
            if path != "/api/openapi.json" {
                let schema = Value::Object(schema.clone());
                let r = schema["$ref"]
                    .as_str()
                    .or_else(|| schema["items"]["$ref"].as_str());
                assert!(r.is_some(), "{what}: the answer is a component schema");
            }
        }
    }
    // The query parameters of the routes that take some.
    let query = |method: &str, path: &str| -> Vec<(String, bool)> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["required"] == true,
                )
            })
            .collect()
    };
    assert_eq!(
        query("get", "/api/v1/pull"),
        [
            ("since".to_owned(), false),
            ("limit".to_owned(), false),
            ("features".to_owned(), false)
        ]
    );
    assert_eq!(
        query("put", "/api/v1/evidence/{sha256}"),
        [("offset".to_owned(), true)]
    );
}

#[tokio::test]
async fn schemas_follow_serde() {
    let server = start().await;
    let doc = document(&server).await;
    let s = &doc["components"]["schemas"];
    // Ids are strings, uuids where they are uuids.
    for id in ["PersonId", "AssessmentId", "DeviceId", "EvidenceId"] {
        assert_eq!(s[id]["type"], "string", "{id}");
        assert_eq!(s[id]["format"], "uuid", "{id}");
    }
    for id in ["UnitCode", "CatalogId", "GroupId", "IndicatorId", "LevelId"] {
        assert_eq!(s[id]["type"], "string", "{id}");
    }
    // `tag = "kind"`: every variant carries its kind.
    let kinds = |name: &str| -> Vec<Value> {
        s[name]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["properties"]["kind"]["enum"][0].clone())
            .collect()
    };
    assert_eq!(
        kinds("Change"),
        [
            json!("review"),
            json!("recognition"),
            json!("unit"),
            json!("record"),
            json!("catalog")
        ]
    );
    assert_eq!(
        kinds("RecordBody"),
        [
            json!("person"),
            json!("assessment"),
            json!("evidence"),
            json!("tombstone")
        ]
    );
    // `flatten`: the change's fields sit beside seq and at.
    let all_of = s["ServerChange"]["allOf"].as_array().unwrap();
    assert!(all_of
        .iter()
        .any(|p| p["$ref"] == "#/components/schemas/Change"));
    // `deny_unknown_fields` and `skip_serializing_if`.
    let person = &s["RecordBody"]["oneOf"][0];
    assert_eq!(person["additionalProperties"], false);
    assert!(!person["required"]
        .as_array()
        .unwrap()
        .contains(&json!("keep_cccd")));
    assert!(person["properties"]["household"].is_object(), "{person}");
    assert!(!person["required"]
        .as_array()
        .unwrap()
        .contains(&json!("household")));

    // Values serde writes pass; values serde refuses fail.
    let good = json!({"seq": 3, "at": "2025-10-01T00:00:00Z", "kind": "review",
        "assessment": AssessmentId::new_v7(), "state": "returned", "reason": "Thiếu ảnh"});
    check_component(&doc, "ServerChange", &good);
    let bad = json!({"seq": 3, "at": "x", "kind": "review", "assessment": "not-a-uuid",
        "state": "returned"});
    assert!(check(&doc, &s["ServerChange"], &bad, "bad").is_err());
    // The exemplary listing: a title is null until a decision grants it.
    let person = |title: Value| {
        json!({"person": cdht_core::ids::PersonId::new_v7(), "person_name": "Lò Thị Mai",
            "assessment": AssessmentId::new_v7(), "unit": "DEMO-X1-C1", "year": 2025,
            "streak": 5, "required": 5, "eligible": true, "years_to_go": 0,
            "provisional": true, "title": title})
    };
    let granted = json!({"decision_no": "05/QĐ-KH", "decision_date": "2026-01-15"});
    check_component(
        &doc,
        "ExemplaryPage",
        &json!({"persons": [person(Value::Null), person(granted)], "next": null}),
    );
    assert!(check(
        &doc,
        &s["ExemplaryPage"],
        &json!({"persons": [person(json!("granted"))], "next": null}),
        "bad title"
    )
    .is_err());
    let (_, body) = person_record();
    let mut v = serde_json::to_value(&body).unwrap();
    check_component(&doc, "RecordBody", &v);
    v["extra"] = json!(1);
    assert!(check(&doc, &s["RecordBody"], &v, "extra").is_err());
    assert!(serde_json::from_value::<cdht_core::sync::RecordBody>(v).is_err());
}

fn person_record() -> (cdht_core::ids::PersonId, cdht_core::sync::RecordBody) {
    person("Lò Văn Páo", Some("001234567890"))
}

/// Sends one request; returns the status and the body as JSON (Null when
/// it is not JSON).
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> (u16, String, Value) {
    let mut request = http.request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some((content_type, bytes)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.bytes().await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, json)
}

/// Checks an answer against what the document says of `method path`.
fn check_answer(
    doc: &Value,
    method: &str,
    path: &str,
    status: u16,
    content_type: &str,
    body: &Value,
) {
    let what = format!("{method} {path}");
    let documented =
        &doc["paths"][path][method.to_ascii_lowercase()]["responses"][status.to_string()];
    assert!(
        documented.is_object(),
        "{what} answered {status}, which it does not document: {body}"
    );
    let Some(media) = documented["content"].as_object() else {
        return;
    };
    let (media_type, content) = media.iter().next().unwrap();
    assert!(
        content_type.starts_with(media_type.split(';').next().unwrap()),
        "{what} {status}: {content_type}, documented {media_type}"
    );
    if media_type == "application/json" {
        if let Err(e) = check(doc, &content["schema"], body, &format!("{what} {status}")) {
            panic!("{e}");
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_as_documented_and_nothing_else() {
    let server = start().await;
    let doc = document(&server).await;
    // Redirects (`/` to the dashboard) are answers to check, not to follow.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", server.url);
    const JSON: &str = "application/json";

    // A real session, its request bodies and answers checked against the
    // document: enrol, push, evidence, review, pull (also as a collector
    // device, which gets other devices' records).
    let qr = server.qr("DEMO-X1-C1");
    let enrol = json!({"unit": qr.unit, "join_key": qr.join_key,
        "device_id": cdht_core::ids::DeviceId::new_v7(), "device_label": "openapi"});
    check_component(&doc, "EnrolRequest", &enrol);
    let (status, ct, enrolled) = send(
        &http,
        Method::POST,
        &url("/api/v1/enrol"),
        None,
        Some((JSON, enrol.to_string().into_bytes())),
    )
    .await;
    check_answer(&doc, "POST", "/api/v1/enrol", status, &ct, &enrolled);
    assert_eq!(status, 200, "{enrolled}");
    let device = enrolled["token"].as_str().unwrap().to_owned();

    let (person_id, person_body) = person_record();
    let assessment_id = AssessmentId::new_v7();
    let jpeg = photo(7, 5000);
    let push = batch(
        1,
        vec![
            v1(person_body),
            v1(assessment(
                assessment_id,
                person_id,
                DeviceState::Submitted,
                [8; 10],
            )),
            v1(evidence(assessment_id, &jpeg)),
        ],
    );
    let push = serde_json::to_value(&push).unwrap();
    check_component(&doc, "PushBatch", &push);
    let (status, ct, pushed) = send(
        &http,
        Method::POST,
        &url("/api/v1/push"),
        Some(&device),
        Some((JSON, push.to_string().into_bytes())),
    )
    .await;
    check_answer(&doc, "POST", "/api/v1/push", status, &ct, &pushed);
    assert_eq!(status, 200, "{pushed}");
    assert!(pushed["acks"][1]["score"].is_object(), "{pushed}");

    let sha = cdht_sync_client::sha256_hex(&jpeg);
    let status_req = json!({"sha256": [sha]});
    check_component(&doc, "EvidenceQuery", &status_req);
    let (status, ct, held) = send(
        &http,
        Method::POST,
        &url("/api/v1/evidence/status"),
        Some(&device),
        Some((JSON, status_req.to_string().into_bytes())),
    )
    .await;
    check_answer(&doc, "POST", "/api/v1/evidence/status", status, &ct, &held);
    let (status, ct, uploaded) = send(
        &http,
        Method::PUT,
        &url(&format!("/api/v1/evidence/{sha}?offset=0")),
        Some(&device),
        Some(("application/octet-stream", jpeg.clone())),
    )
    .await;
    check_answer(
        &doc,
        "PUT",
        "/api/v1/evidence/{sha256}",
        status,
        &ct,
        &uploaded,
    );
    assert_eq!(uploaded["complete"], true, "{uploaded}");

    let login = json!({"username": "kiemtra-x1", "password": server.password("kiemtra-x1")});
    check_component(&doc, "LoginRequest", &login);
    let (status, ct, reviewer) = send(
        &http,
        Method::POST,
        &url("/api/v1/login"),
        None,
        Some((JSON, login.to_string().into_bytes())),
    )
    .await;
    check_answer(&doc, "POST", "/api/v1/login", status, &ct, &reviewer);
    let reviewer = reviewer["token"].as_str().unwrap().to_owned();
    let reason = json!({"reason": "Thiếu ảnh minh chứng"});
    check_component(&doc, "ReturnBody", &reason);
    let (status, ct, returned) = send(
        &http,
        Method::POST,
        &url(&format!("/api/v1/assessments/{assessment_id}/return")),
        Some(&reviewer),
        Some((JSON, reason.to_string().into_bytes())),
    )
    .await;
    check_answer(
        &doc,
        "POST",
        "/api/v1/assessments/{id}/return",
        status,
        &ct,
        &returned,
    );
    assert_eq!(status, 204);

    let (status, ct, pulled) = send(
        &http,
        Method::GET,
        &url("/api/v1/pull?since=0&limit=500"),
        Some(&device),
        None,
    )
    .await;
    check_answer(&doc, "GET", "/api/v1/pull", status, &ct, &pulled);
    assert!(
        pulled["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "review"),
        "{pulled}"
    );

    let collector = server.device("DEMO-X1-C1").await;
    let collector_token = collector.token().unwrap().to_owned();
    let bind = json!({"username": "nhaplieu-x1-c1", "password": server.password("nhaplieu-x1-c1")});
    let (status, ct, bound) = send(
        &http,
        Method::POST,
        &url("/api/v1/device/officer"),
        Some(&collector_token),
        Some((JSON, bind.to_string().into_bytes())),
    )
    .await;
    check_answer(&doc, "POST", "/api/v1/device/officer", status, &ct, &bound);
    assert_eq!(bound["scope"], "unit_records", "{bound}");
    let (status, ct, pulled) = send(
        &http,
        Method::GET,
        &url("/api/v1/pull"),
        Some(&collector_token),
        None,
    )
    .await;
    check_answer(&doc, "GET", "/api/v1/pull", status, &ct, &pulled);
    let kinds: BTreeSet<&str> = pulled["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "record")
        .filter_map(|c| c["record"]["body"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["assessment", "evidence", "person"]),
        "{pulled}"
    );

    let admin_login = json!({"username": "admin-tinh", "password": server.password("admin-tinh")});
    let (_, _, admin) = send(
        &http,
        Method::POST,
        &url("/api/v1/login"),
        None,
        Some((JSON, admin_login.to_string().into_bytes())),
    )
    .await;
    let admin = admin["token"].as_str().unwrap().to_owned();

    // The route-level answers: what an unknown path and a wrong method get.
    let (status, _, unrouted) = send(
        &http,
        Method::GET,
        &url("/api/v1/no-such-route"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, unrouted["code"].as_str()),
        (404, Some("not_found"))
    );

    // Every documented operation, with no token, a device's, an admin's:
    // it reaches its handler (never the fallback's 404 nor a 405), and every
    // answer is one it documents, with the documented body.
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.to_ascii_lowercase()];
        let mut concrete = path
            .replace("{unit}", "DEMO-X1-C1")
            .replace("{code}", "DEMO-X1-C1")
            .replace("{sha256}", &sha)
            .replace("{id}", &assessment_id.to_string());
        let required_query: Vec<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| format!("{}=0", p["name"].as_str().unwrap()))
            .collect();
        if !required_query.is_empty() {
            concrete = format!("{concrete}?{}", required_query.join("&"));
        }
        let content = op["requestBody"]["content"].as_object();
        for token in [None, Some(device.as_str()), Some(admin.as_str())] {
            let body = content.and_then(|c| c.keys().next()).map(|media| {
                if media == JSON {
                    (JSON, b"{}".to_vec())
                } else {
                    ("application/octet-stream", Vec::new())
                }
            });
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let (status, ct, answer) = send(&http, m, &url(&concrete), token, body).await;
            let what = format!("{method} {concrete} (token: {})", token.is_some());
            assert_ne!(status, 405, "{what}");
            assert!(
                !(status == 404 && answer == unrouted),
                "{what}: not routed (the fallback answered)"
            );
            check_answer(&doc, &method, &path, status, &ct, &answer);
        }
        // The methods a path does not document are not served.
        for other in METHODS {
            if doc["paths"][&path].get(other).is_some() {
                continue;
            }
            let m = Method::from_bytes(other.to_ascii_uppercase().as_bytes()).unwrap();
            let (status, _, answer) = send(&http, m, &url(&concrete), Some(&admin), None).await;
            assert_eq!(status, 405, "{other} {path}: {answer}");
            assert_eq!(answer["code"], "method_not_allowed");
        }
    }
}

/// The router is `api_routes()` plus a fallback and layers: a route added
/// with plain axum calls would be served without being documented, so the
/// server's sources may not use them.
#[test]
fn routes_are_only_added_through_utoipa_axum() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let files = std::fs::read_dir(&src)
        .unwrap()
        .chain(std::fs::read_dir(src.join("api")).unwrap());
    for entry in files {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for forbidden in [
            ".route(",
            ".route_service(",
            ".nest_service(",
            ".merge(",
            "axum::routing",
            "axum::Router::new",
            "Router::<",
        ] {
            assert!(
                !text.contains(forbidden),
                "{}: `{forbidden}` adds a route the OpenAPI document does not see; \
                 register it with `routes!` in api::api_routes",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 10, "{checked}");
    let api = std::fs::read_to_string(src.join("api").join("mod.rs")).unwrap();
    assert!(api.contains("api_routes().split_for_parts()"));
}

/// The document states the rules the server enforces, so clients and
/// fuzzers see the real contract: seq from 1 to 2^63 − 1, sha256 as 64
/// lower-case hex characters, at most 500 hashes a status request, a return
/// reason of 1 to 1000 characters.
#[test]
fn the_document_states_the_enforced_rules() {
    let doc = serde_json::to_value(cdht_server::api::openapi_document()).unwrap();
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let seq = &schema("PushBatch")["properties"]["seq"];
    assert_eq!(seq["minimum"], 1, "{seq}");
    assert_eq!(
        seq["maximum"].as_f64(),
        Some(9.223_372_036_854_776e18),
        "{seq}"
    );
    // The evidence record is inlined in RecordBody's oneOf: find it by its fields.
    fn find_evidence(v: &serde_json::Value) -> Option<serde_json::Value> {
        if v["properties"]["content_type"].is_object() {
            return Some(v["properties"]["sha256"].clone());
        }
        match v {
            serde_json::Value::Object(m) => m.values().find_map(find_evidence),
            serde_json::Value::Array(a) => a.iter().find_map(find_evidence),
            _ => None,
        }
    }
    let sha = find_evidence(&doc).unwrap();
    assert_eq!(sha["pattern"], "^[0-9a-f]{64}$", "{sha}");
    let query = &schema("EvidenceQuery")["properties"]["sha256"];
    assert_eq!(query["maxItems"], 500, "{query}");
    let reason = &schema("ReturnBody")["properties"]["reason"];
    assert_eq!(
        (reason["minLength"].clone(), reason["maxLength"].clone()),
        (1.into(), 1000.into()),
        "{reason}"
    );
    let put = &doc["paths"]["/api/v1/evidence/{sha256}"]["put"]["parameters"];
    let path_param = put
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sha256")
        .unwrap();
    assert_eq!(
        path_param["schema"]["pattern"], "^[0-9a-f]{64}$",
        "{path_param}"
    );
}

/// The dashboard's API types (`ui/shared/src/generated/dashboard-api.ts`) are
/// generated by openapi-typescript from `ui/shared/src/generated/openapi.json`,
/// this document exactly as the server serves it. The committed copy must be
/// current: `CDHT_UPDATE_GENERATED=1` rewrites it, then `npm run generate` in
/// ui/ makes the types again (`npm run check` fails while they differ).
#[test]
fn the_dashboards_copy_of_the_document_is_current() {
    let json = cdht_server::api::openapi_document()
        .to_pretty_json()
        .unwrap()
        + "\n";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ui/shared/src/generated/openapi.json"
    );
    if std::env::var_os("CDHT_UPDATE_GENERATED").is_some() {
        std::fs::write(path, &json).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == json,
        "{path} is not the server's document: run \
         `CDHT_UPDATE_GENERATED=1 cargo test -p cdht-server --test openapi the_dashboards_copy` \
         then `npm run generate` in ui/, and commit both"
    );
}
