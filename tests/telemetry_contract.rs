//! The telemetry service's health and contract, end to end: `GET /telemetry/health` (SQLite and
//! key-value), and `GET /telemetry/openapi.json` describing exactly the routes the service
//! serves, with real answers fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{
    assert_health_fails_without_sqlite, assert_healthy, assert_serves_exactly, Contract,
};
use integration_tests::{now_millis, rfc3339, TestApp, JSON};
use serde_json::json;

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 10] = [
    ("POST", "/telemetry/readings"),
    ("GET", "/telemetry/sensors/{id}"),
    ("GET", "/telemetry/sensors/{id}/readings"),
    ("GET", "/telemetry/sensors/{id}/rules"),
    ("PUT", "/telemetry/sensors/{id}/rules"),
    ("GET", "/telemetry/alerts"),
    ("GET", "/telemetry/outbox"),
    ("POST", "/telemetry/outbox/flush"),
    ("GET", "/telemetry/health"),
    ("GET", "/telemetry/openapi.json"),
];

#[test]
fn health_checks_the_services_own_stores() {
    let app = TestApp::start_main_app();
    assert_healthy(&app, "telemetry", &["sqlite", "key_value"]);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    // A fresh app: the host keeps idle connections, which would still answer.
    let app = TestApp::start_main_app();
    assert_health_fails_without_sqlite(&app, "telemetry", "telemetry");
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "telemetry");
    // Empty bodies: each documented operation answers them with a documented status.
    let concrete = |path: &str| path.replace("{id}", "s-1");
    assert_serves_exactly(&app, &contract, &SERVED, concrete, |_, _| {
        (JSON, Vec::new())
    });
    // A sensor called `health` is a sensor, not the health check.
    let response = app.get("/telemetry/sensors/health");
    contract.assert_answer("/telemetry/sensors/{id}", "GET", 404, &response);
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "telemetry");
    let minutes_ago = |minutes: i64| rfc3339(now_millis() - minutes * 60_000);
    let ingest = "/telemetry/readings";
    let post = |body: serde_json::Value| app.post(ingest, JSON, body.to_string());

    let ingested = post(json!([
        {"sensor_id": "boiler-1", "celsius": 20.0, "at": minutes_ago(3)},
        {"sensor_id": "boiler-1", "celsius": 40.0, "at": minutes_ago(2)},
        {"sensor_id": "boiler-1", "celsius": 41.5, "at": minutes_ago(1)},
    ]));
    let body = contract.assert_answer(ingest, "POST", 202, &ingested);
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1, "{body}");
    let invalid = post(json!({"sensor_id": "s", "celsius": 5000}));
    contract.assert_answer(ingest, "POST", 400, &invalid);
    let text = app.post(ingest, "text/plain", "20");
    contract.assert_answer(ingest, "POST", 415, &text);

    let sensor = "/telemetry/sensors/{id}";
    let boiler =
        contract.assert_answer(sensor, "GET", 200, &app.get("/telemetry/sensors/boiler-1"));
    assert_eq!(boiler["state"], "warning");
    assert!(boiler["active_alert"].is_object());
    let unknown = app.get("/telemetry/sensors/never-seen");
    contract.assert_answer(sensor, "GET", 404, &unknown);

    let readings = "/telemetry/sensors/{id}/readings";
    for (query, status) in [("limit=2", 200), ("since=yesterday", 400)] {
        let history = app.get(&format!("/telemetry/sensors/boiler-1/readings?{query}"));
        contract.assert_answer(readings, "GET", status, &history);
    }

    let rules = "/telemetry/sensors/{id}/rules";
    let bad_id = app.get("/telemetry/sensors/a%20b/rules");
    contract.assert_answer(rules, "GET", 404, &bad_id);
    let boiler_rules = app.get("/telemetry/sensors/boiler-1/rules");
    contract.assert_answer(rules, "GET", 200, &boiler_rules);
    for (body, status) in [
        (json!({"max_celsius": 50}), 200),
        (json!({"min_celsius": 60}), 422),
    ] {
        let put = app.put("/telemetry/sensors/boiler-1/rules", JSON, body.to_string());
        contract.assert_answer(rules, "PUT", status, &put);
    }

    let recovered = post(json!({"sensor_id": "boiler-1", "celsius": 21.0}));
    contract.assert_answer(ingest, "POST", 202, &recovered);
    for (query, status) in [
        ("", 200),
        ("?state=active", 200),
        ("?state=resolved&sensor=boiler-1&limit=5", 200),
        ("?state=open", 400),
    ] {
        let alerts = app.get(&format!("/telemetry/alerts{query}"));
        contract.assert_answer("/telemetry/alerts", "GET", status, &alerts);
    }

    let outbox = app.get("/telemetry/outbox");
    contract.assert_answer("/telemetry/outbox", "GET", 200, &outbox);
    let flushed = app.post("/telemetry/outbox/flush", JSON, Vec::new());
    contract.assert_answer("/telemetry/outbox/flush", "POST", 200, &flushed);
}
