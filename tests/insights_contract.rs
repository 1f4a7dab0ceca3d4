//! The insights service's health and contract, end to end: `GET /insights/health`, and
//! `GET /insights/openapi.json` describing exactly the routes the service serves, with real
//! answers fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use std::collections::BTreeSet;

use contract_check::{assert_other_methods_are_405, Contract};
use integration_tests::TestApp;
use serde_json::json;

const JSON: &str = "application/json";
const CLOUDEVENTS: &str = "application/cloudevents+json";

fn operation(path: &str, method: &str) -> (String, String) {
    (path.to_owned(), method.to_owned())
}

#[test]
fn health_checks_the_services_own_store() {
    let app = TestApp::start_main_app();
    let response = app.get("/insights/health");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    assert_eq!(
        response.json(),
        json!({"status": "ok", "service": "insights", "checks": {"sqlite": "ok"}})
    );
    let contract = Contract::fetch(&app, "insights");
    contract.assert_fits("/insights/health", "GET", &response);
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "insights");
    let expected = BTreeSet::from([
        operation("/insights/events", "POST"),
        operation("/insights/rebuild", "POST"),
        operation("/insights/support/customers/{id}", "GET"),
        operation("/insights/support/summary", "GET"),
        operation("/insights/telemetry/alerts", "GET"),
        operation("/insights/health", "GET"),
        operation("/insights/openapi.json", "GET"),
    ]);
    assert_eq!(contract.operations(), expected);
    assert_other_methods_are_405(&app, &contract, |path| path.replace("{id}", "c-1"));
    // A customer called `health` is a customer, not the health check.
    let response = app.get("/insights/support/customers/health");
    assert_eq!(response.status, 404, "{}", response.text());
    contract.assert_fits("/insights/support/customers/{id}", "GET", &response);
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "insights");

    let customer = json!({
        "specversion": "1.0", "id": "e-1", "source": "/support", "type": "support.customer.upserted",
        "time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json",
        "data": {"customer": {"id": "c-1", "name": "Ada", "email": "a@x.io", "tier": "pro",
                              "phone": null, "version": 1}},
        "requestid": "r-1"
    });
    let applied = app.post("/insights/events", CLOUDEVENTS, customer.to_string());
    assert_eq!(applied.status, 200, "{}", applied.text());
    assert_eq!(
        contract.assert_fits("/insights/events", "POST", &applied)["status"],
        "applied"
    );
    let duplicate = app.post("/insights/events", CLOUDEVENTS, customer.to_string());
    assert_eq!(
        contract.assert_fits("/insights/events", "POST", &duplicate)["status"],
        "duplicate"
    );
    let other = json!({"specversion": "1.0", "id": "e-2", "source": "/x", "type": "billing.paid"});
    let ignored = app.post("/insights/events", JSON, other.to_string());
    assert_eq!(
        contract.assert_fits("/insights/events", "POST", &ignored)["status"],
        "ignored"
    );
    let alert = json!({
        "specversion": "1.0", "id": "e-3", "source": "/telemetry", "type": "telemetry.temperature.warning",
        "data": {"alert": {"id": 7, "sensor_id": "s-1", "state": "active", "reason": "above_max",
                           "celsius": 36.5, "threshold": 35.0, "raised_at": "2026-11-23T10:00:00Z",
                           "resolved_at": null, "last_celsius": 36.5}}
    });
    assert_eq!(
        app.post("/insights/events", CLOUDEVENTS, alert.to_string())
            .status,
        200
    );
    let poison = json!({"specversion": "1.0", "id": "e-4", "source": "/support",
                        "type": "support.ticket.opened", "data": {"nothing": 1}});
    let refused = app.post("/insights/events", CLOUDEVENTS, poison.to_string());
    assert_eq!(refused.status, 400);
    contract.assert_fits("/insights/events", "POST", &refused);
    let text = app.post("/insights/events", "text/plain", "hello");
    assert_eq!(text.status, 415);
    contract.assert_fits("/insights/events", "POST", &text);

    let view = app.get("/insights/support/customers/c-1");
    assert_eq!(view.status, 200, "{}", view.text());
    let view = contract.assert_fits("/insights/support/customers/{id}", "GET", &view);
    assert_eq!(view["name"], "Ada");
    let unknown = app.get("/insights/support/customers/nobody");
    assert_eq!(unknown.status, 404);
    contract.assert_fits("/insights/support/customers/{id}", "GET", &unknown);

    let summary = app.get("/insights/support/summary");
    assert_eq!(summary.status, 200);
    contract.assert_fits("/insights/support/summary", "GET", &summary);
    let bad = app.get("/insights/support/summary?x=1");
    assert_eq!(bad.status, 400);
    contract.assert_fits("/insights/support/summary", "GET", &bad);

    let alerts = app.get("/insights/telemetry/alerts?limit=10");
    assert_eq!(alerts.status, 200);
    let alerts = contract.assert_fits("/insights/telemetry/alerts", "GET", &alerts);
    assert_eq!(alerts["alerts"][0]["id"], 7);
    let bad = app.get("/insights/telemetry/alerts?limit=0");
    assert_eq!(bad.status, 400);
    contract.assert_fits("/insights/telemetry/alerts", "GET", &bad);

    let rebuilt = app.post("/insights/rebuild", JSON, Vec::new());
    assert_eq!(rebuilt.status, 200, "{}", rebuilt.text());
    contract.assert_fits("/insights/rebuild", "POST", &rebuilt);
}
