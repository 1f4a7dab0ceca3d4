//! The telemetry service's health and contract, end to end: `GET /telemetry/health` (SQLite and
//! key-value), and `GET /telemetry/openapi.json` describing exactly the routes the service
//! serves, with real answers fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use contract_check::{assert_other_methods_are_405, Contract};
use integration_tests::TestApp;
use serde_json::json;

const JSON: &str = "application/json";

fn operation(path: &str, method: &str) -> (String, String) {
    (path.to_owned(), method.to_owned())
}

/// `minutes_ago` minutes before now, as RFC 3339 UTC (whole seconds).
fn minutes_ago(minutes: u64) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - minutes * 60;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[test]
fn health_checks_the_services_own_stores() {
    let app = TestApp::start_main_app();
    let response = app.get("/telemetry/health");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    assert_eq!(
        response.json(),
        json!({"status": "ok", "service": "telemetry",
               "checks": {"sqlite": "ok", "key_value": "ok"}})
    );
    let contract = Contract::fetch(&app, "telemetry");
    contract.assert_fits("/telemetry/health", "GET", &response);
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "telemetry");
    let expected = BTreeSet::from([
        operation("/telemetry/readings", "POST"),
        operation("/telemetry/sensors/{id}", "GET"),
        operation("/telemetry/sensors/{id}/readings", "GET"),
        operation("/telemetry/sensors/{id}/rules", "GET"),
        operation("/telemetry/sensors/{id}/rules", "PUT"),
        operation("/telemetry/alerts", "GET"),
        operation("/telemetry/outbox", "GET"),
        operation("/telemetry/outbox/flush", "POST"),
        operation("/telemetry/health", "GET"),
        operation("/telemetry/openapi.json", "GET"),
    ]);
    assert_eq!(contract.operations(), expected);
    assert_other_methods_are_405(&app, &contract, |path| path.replace("{id}", "s-1"));
    // A sensor called `health` is a sensor, not the health check.
    let response = app.get("/telemetry/sensors/health");
    assert_eq!(response.status, 404, "{}", response.text());
    contract.assert_fits("/telemetry/sensors/{id}", "GET", &response);
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "telemetry");

    let readings = json!([
        {"sensor_id": "boiler-1", "celsius": 20.0, "at": minutes_ago(3)},
        {"sensor_id": "boiler-1", "celsius": 40.0, "at": minutes_ago(2)},
        {"sensor_id": "boiler-1", "celsius": 41.5, "at": minutes_ago(1)},
    ]);
    let ingested = app.post("/telemetry/readings", JSON, readings.to_string());
    assert_eq!(ingested.status, 202, "{}", ingested.text());
    let body = contract.assert_fits("/telemetry/readings", "POST", &ingested);
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1, "{body}");
    let invalid = app.post(
        "/telemetry/readings",
        JSON,
        json!({"sensor_id": "s", "celsius": 5000}).to_string(),
    );
    assert_eq!(invalid.status, 400);
    contract.assert_fits("/telemetry/readings", "POST", &invalid);
    let text = app.post("/telemetry/readings", "text/plain", "20");
    assert_eq!(text.status, 415);
    contract.assert_fits("/telemetry/readings", "POST", &text);

    let sensor = app.get("/telemetry/sensors/boiler-1");
    assert_eq!(sensor.status, 200, "{}", sensor.text());
    let sensor = contract.assert_fits("/telemetry/sensors/{id}", "GET", &sensor);
    assert_eq!(sensor["state"], "warning");
    assert!(sensor["active_alert"].is_object());
    let unknown = app.get("/telemetry/sensors/never-seen");
    assert_eq!(unknown.status, 404);
    contract.assert_fits("/telemetry/sensors/{id}", "GET", &unknown);
    let bad_id = app.get("/telemetry/sensors/a%20b/rules");
    assert_eq!(bad_id.status, 404);
    contract.assert_fits("/telemetry/sensors/{id}/rules", "GET", &bad_id);

    let history = app.get("/telemetry/sensors/boiler-1/readings?limit=2");
    assert_eq!(history.status, 200);
    contract.assert_fits("/telemetry/sensors/{id}/readings", "GET", &history);
    let bad_since = app.get("/telemetry/sensors/boiler-1/readings?since=yesterday");
    assert_eq!(bad_since.status, 400);
    contract.assert_fits("/telemetry/sensors/{id}/readings", "GET", &bad_since);

    let rules = app.get("/telemetry/sensors/boiler-1/rules");
    contract.assert_fits("/telemetry/sensors/{id}/rules", "GET", &rules);
    let put = app.put(
        "/telemetry/sensors/boiler-1/rules",
        JSON,
        json!({"max_celsius": 50}).to_string(),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    contract.assert_fits("/telemetry/sensors/{id}/rules", "PUT", &put);
    let refused = app.put(
        "/telemetry/sensors/boiler-1/rules",
        JSON,
        json!({"min_celsius": 60}).to_string(),
    );
    assert_eq!(refused.status, 400);
    contract.assert_fits("/telemetry/sensors/{id}/rules", "PUT", &refused);

    let recovered = app.post(
        "/telemetry/readings",
        JSON,
        json!({"sensor_id": "boiler-1", "celsius": 21.0}).to_string(),
    );
    assert_eq!(recovered.status, 202);
    contract.assert_fits("/telemetry/readings", "POST", &recovered);
    for query in [
        "",
        "?state=active",
        "?state=resolved&sensor=boiler-1&limit=5",
    ] {
        let alerts = app.get(&format!("/telemetry/alerts{query}"));
        assert_eq!(alerts.status, 200, "{query}: {}", alerts.text());
        contract.assert_fits("/telemetry/alerts", "GET", &alerts);
    }
    let bad_state = app.get("/telemetry/alerts?state=open");
    assert_eq!(bad_state.status, 400);
    contract.assert_fits("/telemetry/alerts", "GET", &bad_state);

    contract.assert_fits("/telemetry/outbox", "GET", &app.get("/telemetry/outbox"));
    let flushed = app.post("/telemetry/outbox/flush", JSON, Vec::new());
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    contract.assert_fits("/telemetry/outbox/flush", "POST", &flushed);
}
