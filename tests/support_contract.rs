//! The support service's health and contract, end to end: `GET /support/health`, and
//! `GET /support/openapi.json` describing exactly the routes the service serves, with real answers
//! fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{
    assert_health_fails_without_sqlite, assert_healthy, assert_serves_exactly, Contract,
};
use integration_tests::{TestApp, JSON};
use serde_json::{json, Value};

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 10] = [
    ("GET", "/support/customers/{id}"),
    ("PUT", "/support/customers/{id}"),
    ("POST", "/support/customers/{id}/tickets"),
    ("GET", "/support/tickets"),
    ("GET", "/support/tickets/{id}"),
    ("PATCH", "/support/tickets/{id}"),
    ("GET", "/support/outbox"),
    ("POST", "/support/outbox/flush"),
    ("GET", "/support/health"),
    ("GET", "/support/openapi.json"),
];

#[test]
fn health_checks_the_services_own_store() {
    let app = TestApp::start_main_app();
    assert_healthy(&app, "support", &["sqlite"]);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    // A fresh app: the host keeps idle connections, which would still answer.
    let app = TestApp::start_main_app();
    assert_health_fails_without_sqlite(&app, "support", "support");
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "support");
    // Empty bodies: each documented operation answers them with a documented status.
    let concrete = |path: &str| path.replace("{id}", "1");
    assert_serves_exactly(&app, &contract, &SERVED, concrete, |_, _| {
        (JSON, Vec::new())
    });
    // A customer called `health` is a customer, not the health check.
    let response = app.get("/support/customers/health");
    contract.assert_answer("/support/customers/{id}", "GET", 404, &response);
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "support");
    let customer = "/support/customers/{id}";
    let put = |headers: &[(&str, &str)], body: &Value| {
        app.send_json("PUT", "/support/customers/c-1", headers, body)
    };
    let ada =
        json!({"name": "Ada Lovelace", "email": "ada@example.com", "tier": "pro", "phone": null});
    let created = contract.assert_answer(customer, "PUT", 201, &put(&[], &ada));
    assert_eq!(created["version"], 1);
    contract.assert_answer(customer, "PUT", 200, &put(&[], &ada));
    contract.assert_answer(customer, "PUT", 412, &put(&[("if-match", "\"7\"")], &ada));
    let invalid = json!({"name": "n", "email": "nope", "tier": "pro"});
    contract.assert_answer(customer, "PUT", 400, &put(&[], &invalid));
    let unknown_field = json!({"name": "n", "email": "a@b.io", "tier": "pro", "vip": true});
    contract.assert_answer(customer, "PUT", 400, &put(&[], &unknown_field));
    let text = put(&[("content-type", "text/plain")], &json!("x"));
    contract.assert_answer(customer, "PUT", 415, &text);

    let tickets = "/support/customers/{id}/tickets";
    let open = |customer_id: &str, subject: &str| {
        let body = json!({"subject": subject, "priority": "high"});
        let path = format!("/support/customers/{customer_id}/tickets");
        app.send_json("POST", &path, &[("idempotency-key", "k-1")], &body)
    };
    let ticket = contract.assert_answer(tickets, "POST", 201, &open("c-1", "Printer on fire"));
    contract.assert_answer(tickets, "POST", 422, &open("c-1", "Another"));
    contract.assert_answer(tickets, "POST", 404, &open("nobody", "s"));

    let detail = contract.assert_answer(customer, "GET", 200, &app.get("/support/customers/c-1"));
    assert_eq!(detail["open_tickets"], 1);

    let ticket_path = "/support/tickets/{id}";
    let path = format!("/support/tickets/{}", ticket["id"]);
    let fetched = app.get(&path);
    contract.assert_answer(ticket_path, "GET", 200, &fetched);
    let etag = fetched.header("etag").expect("an etag").to_owned();
    let not_modified = app.request("GET", &path, &[("if-none-match", &etag)], Vec::new());
    contract.assert_answer(ticket_path, "GET", 304, &not_modified);
    let merge_patch = [("content-type", "application/merge-patch+json")];
    for (status, code) in [("resolved", 200), ("closed", 200), ("open", 409)] {
        let patched = app.send_json("PATCH", &path, &merge_patch, &json!({"status": status}));
        contract.assert_answer(ticket_path, "PATCH", code, &patched);
    }

    for (query, status) in [("?customer=c-1&limit=1", 200), ("?limit=0", 400)] {
        let page = app.get(&format!("/support/tickets{query}"));
        contract.assert_answer("/support/tickets", "GET", status, &page);
    }
    contract.assert_answer("/support/outbox", "GET", 200, &app.get("/support/outbox"));
    let flushed = app.post("/support/outbox/flush", JSON, Vec::new());
    contract.assert_answer("/support/outbox/flush", "POST", 200, &flushed);
}
