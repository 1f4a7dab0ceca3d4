//! The visits service's contract and health, end to end: `GET /visits/openapi.json` describes
//! exactly the routes the service answers, real answers match their documented schemas, and
//! `GET /visits/health` checks the service's own database.
//!
//! Needs the components built (`cargo xtask build`).

use std::collections::BTreeSet;

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{assert_other_methods_are_405, Contract};
use integration_tests::{TestApp, TestResponse};
use serde_json::json;

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 9] = [
    ("get", "/visits/{event_id}"),
    ("post", "/visits/{event_id}"),
    ("options", "/visits/{event_id}"),
    ("put", "/visits"),
    ("options", "/visits"),
    ("get", "/visits/health"),
    ("options", "/visits/health"),
    ("get", "/visits/openapi.json"),
    ("options", "/visits/openapi.json"),
];

fn contract(app: &TestApp) -> Contract {
    Contract::fetch(app, "visits")
}

/// A concrete request path for a documented one.
fn concrete(path: &str) -> String {
    path.replace("{event_id}", "324")
}

/// A body the operation accepts.
fn sample_body(method: &str, path: &str) -> (&'static str, Vec<u8>) {
    match (method, path) {
        ("post", "/visits/{event_id}") => (
            "application/json",
            br#"{"EventDay": 20171012, "EventCount": 2}"#.to_vec(),
        ),
        ("put", "/visits") => (
            "application/json",
            br#"[{"EventId": "324", "EventDay": 20171012, "EventCount": 10}]"#.to_vec(),
        ),
        _ => ("application/json", Vec::new()),
    }
}

fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> TestResponse {
    app.request(method, path, &[("content-type", content_type)], body)
}

#[test]
fn health_is_ok_with_its_database_check() {
    let app = TestApp::start_main_app();
    let response = app.get("/visits/health");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.json(),
        json!({"status": "ok", "service": "visits", "checks": {"sqlite": "ok"}})
    );
    contract(&app).assert_fits("/visits/health", "GET", &response);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    let app = TestApp::start_main_app();
    // The host opens a label's file on each new connection: make that fail.
    let database = app.temp_dir().join("visits.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    std::fs::create_dir(&database).unwrap();
    let response = app.get("/visits/health");
    assert_eq!(response.status, 503, "{}", response.text());
    let report = response.json();
    assert_eq!(report["status"], "failing");
    assert_eq!(report["service"], "visits");
    let message = report["checks"]["sqlite"].as_str().unwrap();
    assert!(!message.is_empty() && message != "ok", "{message:?}");
    contract(&app).assert_fits("/visits/health", "GET", &response);
}

#[test]
fn the_contract_is_openapi_3_1_and_lists_exactly_the_routes_served() {
    let app = TestApp::start_main_app();
    let doc = contract(&app);
    assert_eq!(doc.doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(!doc.doc["info"]["description"].as_str().unwrap().is_empty());
    let expected: BTreeSet<(String, String)> = SERVED
        .iter()
        .map(|(method, path)| (path.to_string(), method.to_uppercase()))
        .collect();
    assert_eq!(doc.operations(), expected);

    // Each documented operation is answered with a documented status and body; every other
    // method is refused with 405 and an `allow` header naming exactly the documented ones.
    for (method, path) in SERVED {
        let (content_type, body) = sample_body(method, path);
        let response = send(
            &app,
            &method.to_uppercase(),
            &concrete(path),
            content_type,
            body,
        );
        doc.assert_fits(path, method, &response);
    }
    assert_other_methods_are_405(&app, &doc, concrete);
}

/// A request and its expected status: (method, documented path, path, content type, body, status).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<u8>,
    u16,
);

#[test]
fn real_answers_match_their_documented_schemas() {
    let app = TestApp::start_main_app();
    let doc = contract(&app);
    let sample = include_str!("../components/visits/fixtures/sample.json");
    let cases: Vec<Case> = vec![
        (
            "put",
            "/visits",
            "/visits",
            "application/json",
            sample.into(),
            200,
        ),
        (
            "put",
            "/visits",
            "/visits",
            "text/csv",
            include_bytes!("../components/visits/fixtures/sample.csv").to_vec(),
            200,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/324?startDate=20171012",
            "",
            Vec::new(),
            200,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/999",
            "",
            Vec::new(),
            200,
        ),
        (
            "post",
            "/visits/{event_id}",
            "/visits/324",
            "application/json",
            br#"{"EventDay": 20171012, "EventCount": 5}"#.to_vec(),
            200,
        ),
        (
            "post",
            "/visits/{event_id}",
            "/visits/7",
            "application/json",
            Vec::new(),
            200,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/324?startDate=20170230",
            "",
            Vec::new(),
            400,
        ),
        (
            "get",
            "/visits/{event_id}",
            "/visits/abc",
            "",
            Vec::new(),
            404,
        ),
        (
            "post",
            "/visits/{event_id}",
            "/visits/324",
            "application/json",
            br#"{"EventCount": 0}"#.to_vec(),
            400,
        ),
        (
            "put",
            "/visits",
            "/visits",
            "application/xml",
            b"<a/>".to_vec(),
            415,
        ),
        (
            "put",
            "/visits",
            "/visits",
            "application/json",
            br#"[{"EventId": "1", "EventDay": 20171012}]"#.to_vec(),
            400,
        ),
        (
            "options",
            "/visits/{event_id}",
            "/visits/324",
            "",
            Vec::new(),
            204,
        ),
        (
            "get",
            "/visits/openapi.json",
            "/visits/openapi.json",
            "",
            Vec::new(),
            200,
        ),
    ];
    for (method, documented, path, content_type, body, status) in cases {
        let response = send(&app, &method.to_uppercase(), path, content_type, body);
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        doc.assert_fits(documented, method, &response);
    }
    let rows = app.get("/visits/324").json();
    assert!(
        rows.as_array().is_some_and(|rows| !rows.is_empty()),
        "{rows}"
    );
}
