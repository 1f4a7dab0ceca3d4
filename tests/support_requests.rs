//! Shared by `support_api.rs` and `support_events.rs` (included with `#[path]`, not a test target
//! of its own): requests to the support service that both suites make.

#![allow(dead_code)]

use integration_tests::{TestApp, TestResponse};
use serde_json::{json, Value};

pub fn customer(name: &str, tier: &str) -> Value {
    json!({ "name": name, "email": "ada@example.com", "tier": tier, "phone": "+41791234567" })
}

pub fn put_customer(
    app: &TestApp,
    id: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    app.send_json("PUT", &format!("/support/customers/{id}"), headers, body)
}

/// Creates a customer, asserting it worked.
pub fn given_customer(app: &TestApp, id: &str) {
    let created = put_customer(app, id, &customer("Ada Lovelace", "pro"), &[]);
    assert_eq!(created.status, 201, "{}", created.text());
}

pub fn post_ticket(
    app: &TestApp,
    customer_id: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    let path = format!("/support/customers/{customer_id}/tickets");
    app.send_json("POST", &path, headers, body)
}

/// Opens a ticket, asserting it worked; returns its representation.
pub fn given_ticket(app: &TestApp, customer_id: &str, subject: &str) -> Value {
    let created = post_ticket(app, customer_id, &json!({ "subject": subject }), &[]);
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()
}

pub fn patch_ticket(
    app: &TestApp,
    id: &Value,
    body: &Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut all = vec![("content-type", "application/merge-patch+json")];
    all.extend_from_slice(headers);
    app.send_json("PATCH", &format!("/support/tickets/{id}"), &all, body)
}

pub fn pending(app: &TestApp) -> i64 {
    app.get_json("/support/outbox")["pending"]
        .as_i64()
        .expect("pending count")
}
