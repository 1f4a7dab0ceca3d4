//! The support service's health and contract, end to end: `GET /support/health`, and
//! `GET /support/openapi.json` describing exactly the routes the service serves, with real answers
//! fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use std::collections::BTreeSet;

use contract_check::{assert_other_methods_are_405, Contract};
use integration_tests::TestApp;
use serde_json::json;

const JSON: &str = "application/json";

fn operation(path: &str, method: &str) -> (String, String) {
    (path.to_owned(), method.to_owned())
}

#[test]
fn health_checks_the_services_own_store() {
    let app = TestApp::start_main_app();
    let response = app.get("/support/health");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    assert_eq!(
        response.json(),
        json!({"status": "ok", "service": "support", "checks": {"sqlite": "ok"}})
    );
    let contract = Contract::fetch(&app, "support");
    contract.assert_fits("/support/health", "GET", &response);
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "support");
    let expected = BTreeSet::from([
        operation("/support/customers/{id}", "GET"),
        operation("/support/customers/{id}", "PUT"),
        operation("/support/customers/{id}/tickets", "POST"),
        operation("/support/tickets", "GET"),
        operation("/support/tickets/{id}", "GET"),
        operation("/support/tickets/{id}", "PATCH"),
        operation("/support/outbox", "GET"),
        operation("/support/outbox/flush", "POST"),
        operation("/support/health", "GET"),
        operation("/support/openapi.json", "GET"),
    ]);
    assert_eq!(contract.operations(), expected);
    assert_other_methods_are_405(&app, &contract, |path| path.replace("{id}", "1"));
    // A customer called `health` is a customer, not the health check.
    let response = app.get("/support/customers/health");
    assert_eq!(response.status, 404, "{}", response.text());
    contract.assert_fits("/support/customers/{id}", "GET", &response);
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "support");
    let customer =
        json!({"name": "Ada Lovelace", "email": "ada@example.com", "tier": "pro", "phone": null});

    let put = |body: &serde_json::Value, headers: &[(&str, &str)]| {
        let mut all = vec![("content-type", JSON)];
        all.extend_from_slice(headers);
        app.request("PUT", "/support/customers/c-1", &all, body.to_string())
    };
    let created = put(&customer, &[]);
    assert_eq!(created.status, 201, "{}", created.text());
    let body = contract.assert_fits("/support/customers/{id}", "PUT", &created);
    assert_eq!(body["version"], 1);
    let unchanged = put(&customer, &[]);
    assert_eq!(unchanged.status, 200);
    contract.assert_fits("/support/customers/{id}", "PUT", &unchanged);
    let stale = put(&customer, &[("if-match", "\"7\"")]);
    assert_eq!(stale.status, 412);
    contract.assert_fits("/support/customers/{id}", "PUT", &stale);
    let invalid = put(&json!({"name": "n", "email": "nope", "tier": "pro"}), &[]);
    assert_eq!(invalid.status, 400);
    contract.assert_fits("/support/customers/{id}", "PUT", &invalid);
    let unknown_field = put(
        &json!({"name": "n", "email": "a@b.io", "tier": "pro", "vip": true}),
        &[],
    );
    assert_eq!(unknown_field.status, 400);
    let text = app.request(
        "PUT",
        "/support/customers/c-1",
        &[("content-type", "text/plain")],
        "x",
    );
    assert_eq!(text.status, 415);
    contract.assert_fits("/support/customers/{id}", "PUT", &text);

    let ticket = app.request(
        "POST",
        "/support/customers/c-1/tickets",
        &[("content-type", JSON), ("idempotency-key", "k-1")],
        json!({"subject": "Printer on fire", "priority": "high"}).to_string(),
    );
    assert_eq!(ticket.status, 201, "{}", ticket.text());
    let ticket = contract.assert_fits("/support/customers/{id}/tickets", "POST", &ticket);
    let reused = app.request(
        "POST",
        "/support/customers/c-1/tickets",
        &[("content-type", JSON), ("idempotency-key", "k-1")],
        json!({"subject": "Another"}).to_string(),
    );
    assert_eq!(reused.status, 422);
    contract.assert_fits("/support/customers/{id}/tickets", "POST", &reused);
    let nobody = app.post(
        "/support/customers/nobody/tickets",
        JSON,
        json!({"subject": "s"}).to_string(),
    );
    assert_eq!(nobody.status, 404);
    contract.assert_fits("/support/customers/{id}/tickets", "POST", &nobody);

    let detail = app.get("/support/customers/c-1");
    assert_eq!(detail.status, 200);
    let detail = contract.assert_fits("/support/customers/{id}", "GET", &detail);
    assert_eq!(detail["open_tickets"], 1);

    let id = ticket["id"].to_string();
    let path = format!("/support/tickets/{id}");
    let fetched = app.get(&path);
    contract.assert_fits("/support/tickets/{id}", "GET", &fetched);
    let etag = fetched.header("etag").expect("an etag").to_owned();
    let not_modified = app.request("GET", &path, &[("if-none-match", &etag)], Vec::new());
    assert_eq!(not_modified.status, 304);
    contract.assert_fits("/support/tickets/{id}", "GET", &not_modified);
    let patch = |body: serde_json::Value| {
        app.request(
            "PATCH",
            &path,
            &[("content-type", "application/merge-patch+json")],
            body.to_string(),
        )
    };
    let resolved = patch(json!({"status": "resolved"}));
    assert_eq!(resolved.status, 200, "{}", resolved.text());
    contract.assert_fits("/support/tickets/{id}", "PATCH", &resolved);
    assert_eq!(patch(json!({"status": "closed"})).status, 200);
    let refused = patch(json!({"status": "open"}));
    assert_eq!(refused.status, 409);
    contract.assert_fits("/support/tickets/{id}", "PATCH", &refused);

    let page = app.get("/support/tickets?customer=c-1&limit=1");
    assert_eq!(page.status, 200);
    contract.assert_fits("/support/tickets", "GET", &page);
    let bad = app.get("/support/tickets?limit=0");
    assert_eq!(bad.status, 400);
    contract.assert_fits("/support/tickets", "GET", &bad);

    let outbox = app.get("/support/outbox");
    contract.assert_fits("/support/outbox", "GET", &outbox);
    let flushed = app.post("/support/outbox/flush", JSON, Vec::new());
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    contract.assert_fits("/support/outbox/flush", "POST", &flushed);
}
