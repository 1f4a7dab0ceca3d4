//! The insights service's health and contract, end to end: `GET /insights/health`, and
//! `GET /insights/openapi.json` describing exactly the routes the service serves, with real
//! answers fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{
    assert_health_fails_without_sqlite, assert_healthy, assert_serves_exactly, Contract,
};
use integration_tests::{TestApp, CE_JSON, JSON};
use serde_json::json;

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 7] = [
    ("POST", "/insights/events"),
    ("POST", "/insights/rebuild"),
    ("GET", "/insights/support/customers/{id}"),
    ("GET", "/insights/support/summary"),
    ("GET", "/insights/telemetry/alerts"),
    ("GET", "/insights/health"),
    ("GET", "/insights/openapi.json"),
];

#[test]
fn health_checks_the_services_own_store() {
    let app = TestApp::start_main_app();
    assert_healthy(&app, "insights", &["sqlite"]);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    // A fresh app: the host keeps idle connections, which would still answer.
    let app = TestApp::start_main_app();
    assert_health_fails_without_sqlite(&app, "insights", "insights");
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "insights");
    // Empty bodies: each documented operation answers them with a documented status.
    let concrete = |path: &str| path.replace("{id}", "c-1");
    assert_serves_exactly(&app, &contract, &SERVED, concrete, |_, _| {
        (JSON, Vec::new())
    });
    // A customer called `health` is a customer, not the health check.
    let response = app.get("/insights/support/customers/health");
    contract.assert_answer("/insights/support/customers/{id}", "GET", 404, &response);
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "insights");
    let events = "/insights/events";
    let push = |media: &str, event: &serde_json::Value| app.post(events, media, event.to_string());

    let customer = json!({
        "specversion": "1.0", "id": "e-1", "source": "/support", "type": "support.customer.upserted",
        "time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json",
        "data": {"customer": {"id": "c-1", "name": "Ada", "email": "a@x.io", "tier": "pro",
                              "phone": null, "version": 1}},
        "requestid": "r-1"
    });
    let other = json!({"specversion": "1.0", "id": "e-2", "source": "/x", "type": "billing.paid"});
    let alert = json!({
        "specversion": "1.0", "id": "e-3", "source": "/telemetry", "type": "telemetry.temperature.warning",
        "data": {"alert": {"id": 7, "sensor_id": "s-1", "state": "active", "reason": "above_max",
                           "celsius": 36.5, "threshold": 35.0, "raised_at": "2026-11-23T10:00:00Z",
                           "resolved_at": null, "last_celsius": 36.5}}
    });
    for (media, event, receipt) in [
        (CE_JSON, &customer, "applied"),
        (CE_JSON, &customer, "duplicate"),
        (JSON, &other, "ignored"),
        (CE_JSON, &alert, "applied"),
    ] {
        let answer = contract.assert_answer(events, "POST", 200, &push(media, event));
        assert_eq!(answer["status"], receipt, "{event}");
    }
    let poison = json!({"specversion": "1.0", "id": "e-4", "source": "/support",
                        "type": "support.ticket.opened", "data": {"nothing": 1}});
    contract.assert_answer(events, "POST", 400, &push(CE_JSON, &poison));
    let text = app.post(events, "text/plain", "hello");
    contract.assert_answer(events, "POST", 415, &text);

    let view = "/insights/support/customers/{id}";
    let ada = app.get("/insights/support/customers/c-1");
    let ada = contract.assert_answer(view, "GET", 200, &ada);
    assert_eq!(ada["name"], "Ada");
    let unknown = app.get("/insights/support/customers/nobody");
    contract.assert_answer(view, "GET", 404, &unknown);

    for (query, status) in [("", 200), ("?x=1", 400)] {
        let summary = app.get(&format!("/insights/support/summary{query}"));
        contract.assert_answer("/insights/support/summary", "GET", status, &summary);
    }
    let alerts = "/insights/telemetry/alerts";
    let active = app.get("/insights/telemetry/alerts?limit=10");
    let active = contract.assert_answer(alerts, "GET", 200, &active);
    assert_eq!(active["alerts"][0]["id"], 7);
    let refused = app.get("/insights/telemetry/alerts?limit=0");
    contract.assert_answer(alerts, "GET", 400, &refused);

    let rebuilt = app.post("/insights/rebuild", JSON, Vec::new());
    contract.assert_answer("/insights/rebuild", "POST", 200, &rebuilt);
}
