//! The events service's contract and health, end to end: `GET /events/openapi.json` describes
//! exactly the routes the service answers, real answers match their documented schemas,
//! `GET /events/health` checks the service's own database, and the names of these resources are
//! never topics.
//!
//! Needs the components built (`cargo xtask build`).

use std::time::Duration;

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{
    assert_cases_fit, assert_health_fails_without_sqlite, assert_healthy, assert_serves_exactly,
    Contract, ContractCase,
};
use integration_tests::{eventually, TestApp, CE_BATCH, CE_JSON, JSON};
use serde_json::{json, Value};

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 12] = [
    ("get", "/events/topics"),
    ("get", "/events/{topic}"),
    ("post", "/events/{topic}"),
    ("post", "/events/dispatch"),
    ("get", "/events/subscriptions"),
    ("get", "/events/subscriptions/{name}"),
    ("put", "/events/subscriptions/{name}"),
    ("delete", "/events/subscriptions/{name}"),
    ("get", "/events/subscriptions/{name}/dead-letters"),
    ("post", "/events/subscriptions/{name}/dead-letters/replay"),
    ("get", "/events/health"),
    ("get", "/events/openapi.json"),
];

fn contract(app: &TestApp) -> Contract {
    Contract::fetch(app, "events")
}

/// A concrete request path for a documented one.
fn concrete(path: &str) -> String {
    path.replace("{topic}", "orders").replace("{name}", "probe")
}

fn event(id: &str) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/test", "type": "test.thing.happened",
        "time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json",
        "subject": format!("things/{id}"), "data": {"id": id}, "requestid": "r-1"
    })
}

/// A body the operation accepts.
fn sample_body(method: &str, path: &str) -> (&'static str, Vec<u8>) {
    match (method, path) {
        ("post", "/events/{topic}") => (CE_JSON, event("probe").to_string().into_bytes()),
        ("put", "/events/subscriptions/{name}") => (
            JSON,
            json!({"topics": ["orders"], "endpoint": "http://127.0.0.1:1/"})
                .to_string()
                .into_bytes(),
        ),
        _ => (JSON, Vec::new()),
    }
}

#[test]
fn health_is_ok_with_its_database_check() {
    let app = TestApp::start_main_app();
    assert_healthy(&app, "events", &["sqlite"]);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    let app = TestApp::start_main_app();
    assert_health_fails_without_sqlite(&app, "events", "events");
}

#[test]
fn the_contract_is_openapi_3_1_and_lists_exactly_the_routes_served() {
    let app = TestApp::start_main_app();
    let doc = contract(&app);
    assert_eq!(doc.doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(!doc.doc["info"]["description"].as_str().unwrap().is_empty());
    // Each documented operation is answered with a documented status and body; every other
    // method is refused with 405 and an `allow` header naming exactly the documented ones.
    assert_serves_exactly(&app, &doc, &SERVED, concrete, sample_body);
    // OPTIONS is not documented either (no CORS preflight here: the gateway answers those).
    for (_, path) in SERVED {
        let response = app.request("OPTIONS", &concrete(path), &[], Vec::new());
        assert_eq!(response.status, 405, "OPTIONS {path}: {}", response.text());
    }
}

#[test]
fn the_names_of_the_service_resources_are_never_topics() {
    let app = TestApp::start_main_app();
    for name in ["health", "openapi.json", "topics", "subscriptions"] {
        let response = app.post(&format!("/events/{name}"), CE_JSON, event("a").to_string());
        assert_eq!(response.status, 405, "{name}: {}", response.text());
        assert_eq!(response.header("allow"), Some("GET"), "{name}");
        let message = response.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("reserved"), "{message}");
    }
    let response = app.put(
        "/events/subscriptions/all",
        JSON,
        json!({"topics": ["health"], "endpoint": "http://a"}).to_string(),
    );
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(app.get("/events/topics").json(), json!({"topics": []}));
    assert_eq!(app.get("/events/health").status, 200);
}

#[test]
fn real_answers_match_their_documented_schemas() {
    let app = TestApp::start_main_app_for_delivery();
    let doc = contract(&app);
    let subscription = json!({
        "topics": ["shop.*"], "endpoint": "http://127.0.0.1:1/events", "max_attempts": 1
    });
    let batch = json!([event("a"), event("b")]);
    let cases: Vec<ContractCase> = vec![
        (
            "put",
            "/events/subscriptions/{name}",
            "/events/subscriptions/dead",
            JSON,
            subscription.to_string().into_bytes(),
            201,
        ),
        (
            "put",
            "/events/subscriptions/{name}",
            "/events/subscriptions/dead",
            JSON,
            subscription.to_string().into_bytes(),
            200,
        ),
        (
            "post",
            "/events/{topic}",
            "/events/shop.orders",
            CE_BATCH,
            batch.to_string().into_bytes(),
            201,
        ),
        (
            "post",
            "/events/{topic}",
            "/events/shop.orders",
            CE_JSON,
            event("a").to_string().into_bytes(),
            201,
        ),
        (
            "get",
            "/events/{topic}",
            "/events/shop.orders?after=1&limit=5",
            "",
            Vec::new(),
            200,
        ),
        (
            "get",
            "/events/{topic}",
            "/events/nothing.here",
            "",
            Vec::new(),
            200,
        ),
        (
            "get",
            "/events/topics",
            "/events/topics",
            "",
            Vec::new(),
            200,
        ),
        (
            "get",
            "/events/subscriptions",
            "/events/subscriptions",
            "",
            Vec::new(),
            200,
        ),
        (
            "get",
            "/events/subscriptions/{name}",
            "/events/subscriptions/dead",
            "",
            Vec::new(),
            200,
        ),
        (
            "post",
            "/events/dispatch",
            "/events/dispatch",
            "",
            Vec::new(),
            200,
        ),
        (
            "post",
            "/events/{topic}",
            "/events/Bad",
            CE_JSON,
            event("a").to_string().into_bytes(),
            400,
        ),
        (
            "post",
            "/events/{topic}",
            "/events/shop.orders",
            "text/plain",
            b"x".to_vec(),
            415,
        ),
        (
            "post",
            "/events/{topic}",
            "/events/shop.orders",
            CE_JSON,
            br#"{"id": "x"}"#.to_vec(),
            400,
        ),
        (
            "get",
            "/events/{topic}",
            "/events/shop.orders?limit=0",
            "",
            Vec::new(),
            400,
        ),
        (
            "put",
            "/events/subscriptions/{name}",
            "/events/subscriptions/x",
            JSON,
            br#"{"topics": [], "endpoint": "http://a"}"#.to_vec(),
            400,
        ),
        (
            "get",
            "/events/subscriptions/{name}",
            "/events/subscriptions/nobody",
            "",
            Vec::new(),
            404,
        ),
        (
            "get",
            "/events/subscriptions/{name}/dead-letters",
            "/events/subscriptions/nobody/dead-letters",
            "",
            Vec::new(),
            404,
        ),
    ];
    assert_cases_fit(&app, &doc, cases);

    // The unreachable subscriber dead-letters both events at its first attempt.
    let page = eventually(Duration::from_secs(30), "two dead letters", || {
        let response = app.get("/events/subscriptions/dead/dead-letters?limit=10");
        assert_eq!(response.status, 200, "{}", response.text());
        let page = response.json();
        if page["total"] == 2 {
            doc.assert_fits(
                "/events/subscriptions/{name}/dead-letters",
                "GET",
                &response,
            );
            return Ok(page);
        }
        app.post("/events/dispatch", JSON, "");
        Err(page.to_string())
    });
    assert_eq!(page["dead_letters"][0]["event"]["id"], "a");
    let replay = app.post("/events/subscriptions/dead/dead-letters/replay", JSON, "");
    assert_eq!(replay.status, 200, "{}", replay.text());
    doc.assert_fits(
        "/events/subscriptions/{name}/dead-letters/replay",
        "POST",
        &replay,
    );
    assert_eq!(replay.json(), json!({"replayed": 0, "remaining": 2}));
    let shown = app.get("/events/subscriptions/dead");
    doc.assert_fits("/events/subscriptions/{name}", "GET", &shown);
    let deleted = app.request("DELETE", "/events/subscriptions/dead", &[], Vec::new());
    assert_eq!(deleted.status, 204);
    doc.assert_fits("/events/subscriptions/{name}", "DELETE", &deleted);
}
