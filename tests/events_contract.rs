//! The events service's contract and health, end to end: `GET /events/openapi.json` describes
//! exactly the routes the service answers, real answers match their documented schemas,
//! `GET /events/health` checks the service's own database, and the names of these resources are
//! never topics.
//!
//! Needs the components built (`cargo xtask build`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{assert_other_methods_are_405, Contract};
use integration_tests::{TestApp, TestResponse};
use serde_json::{json, Value};

const ONE: &str = "application/cloudevents+json";
const BATCH: &str = "application/cloudevents-batch+json";

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
        ("post", "/events/{topic}") => (ONE, event("probe").to_string().into_bytes()),
        ("put", "/events/subscriptions/{name}") => (
            "application/json",
            json!({"topics": ["orders"], "endpoint": "http://127.0.0.1:1/"})
                .to_string()
                .into_bytes(),
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

/// The app with loopback subscribers allowed (an unreachable one fails at once) and fast retries.
fn start() -> TestApp {
    TestApp::start_main_app_with(&[
        "--variable",
        "subscriber_hosts=http://127.0.0.1:*",
        "--variable",
        "retry_base_ms=20",
    ])
}

#[test]
fn health_is_ok_with_its_database_check() {
    let app = TestApp::start_main_app();
    let response = app.get("/events/health");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.json(),
        json!({"status": "ok", "service": "events", "checks": {"sqlite": "ok"}})
    );
    contract(&app).assert_fits("/events/health", "GET", &response);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    let app = TestApp::start_main_app();
    // The host opens a label's file on each new connection: make that fail.
    let database = app.temp_dir().join("events.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    std::fs::create_dir(&database).unwrap();
    let response = app.get("/events/health");
    assert_eq!(response.status, 503, "{}", response.text());
    let report = response.json();
    assert_eq!(report["status"], "failing");
    assert_eq!(report["service"], "events");
    let message = report["checks"]["sqlite"].as_str().unwrap();
    assert!(!message.is_empty() && message != "ok", "{message:?}");
    contract(&app).assert_fits("/events/health", "GET", &response);
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
        let response = app.post(&format!("/events/{name}"), ONE, event("a").to_string());
        assert_eq!(response.status, 405, "{name}: {}", response.text());
        assert_eq!(response.header("allow"), Some("GET"), "{name}");
        let message = response.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("reserved"), "{message}");
    }
    let response = app.put(
        "/events/subscriptions/all",
        "application/json",
        json!({"topics": ["health"], "endpoint": "http://a"}).to_string(),
    );
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(app.get("/events/topics").json(), json!({"topics": []}));
    assert_eq!(app.get("/events/health").status, 200);
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
    let app = start();
    let doc = contract(&app);
    let subscription = json!({
        "topics": ["shop.*"], "endpoint": "http://127.0.0.1:1/events", "max_attempts": 1
    });
    let batch = json!([event("a"), event("b")]);
    let cases: Vec<Case> = vec![
        (
            "put",
            "/events/subscriptions/{name}",
            "/events/subscriptions/dead",
            "application/json",
            subscription.to_string().into_bytes(),
            201,
        ),
        (
            "put",
            "/events/subscriptions/{name}",
            "/events/subscriptions/dead",
            "application/json",
            subscription.to_string().into_bytes(),
            200,
        ),
        (
            "post",
            "/events/{topic}",
            "/events/shop.orders",
            BATCH,
            batch.to_string().into_bytes(),
            201,
        ),
        (
            "post",
            "/events/{topic}",
            "/events/shop.orders",
            ONE,
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
            ONE,
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
            ONE,
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
            "application/json",
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

    // The unreachable subscriber dead-letters both events at its first attempt.
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let response = app.get("/events/subscriptions/dead/dead-letters?limit=10");
        assert_eq!(response.status, 200, "{}", response.text());
        let page = response.json();
        if page["total"] == 2 {
            doc.assert_fits(
                "/events/subscriptions/{name}/dead-letters",
                "GET",
                &response,
            );
            break page;
        }
        assert!(Instant::now() < deadline, "no dead letters: {page}");
        app.post("/events/dispatch", "application/json", "");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(page["dead_letters"][0]["event"]["id"], "a");
    let replay = app.post(
        "/events/subscriptions/dead/dead-letters/replay",
        "application/json",
        "",
    );
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
