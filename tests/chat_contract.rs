//! The chat service's health and contract, end to end: `GET /chat/health`, and
//! `GET /chat/openapi.json` describing exactly the routes the service serves, with real answers
//! fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{
    assert_health_fails_without_sqlite, assert_healthy, assert_serves_exactly, Contract,
};
use integration_tests::{TestApp, JSON};
use serde_json::json;

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 9] = [
    ("POST", "/chat/conversations"),
    ("GET", "/chat/conversations"),
    ("GET", "/chat/conversations/{id}"),
    ("POST", "/chat/conversations/{id}/messages"),
    ("GET", "/chat/conversations/{id}/messages"),
    ("GET", "/chat/outbox"),
    ("POST", "/chat/outbox/flush"),
    ("GET", "/chat/health"),
    ("GET", "/chat/openapi.json"),
];

#[test]
fn health_checks_the_services_own_store() {
    let app = TestApp::start_main_app();
    assert_healthy(&app, "chat", &["sqlite"]);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    // A fresh app: the host keeps idle connections, which would still answer.
    let app = TestApp::start_main_app();
    assert_health_fails_without_sqlite(&app, "chat", "chat");
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "chat");
    // Empty bodies: each documented operation answers them with a documented status.
    let concrete = |path: &str| path.replace("{id}", "1");
    assert_serves_exactly(&app, &contract, &SERVED, concrete, |_, _| {
        (JSON, Vec::new())
    });
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "chat");
    let conversations = "/chat/conversations";
    let start = |body| app.post_json(conversations, &body);
    let started = contract.assert_answer(
        conversations,
        "POST",
        201,
        &start(json!({"members": ["ada", "bob"], "title": "Lunch"})),
    );
    contract.assert_answer(
        conversations,
        "POST",
        201,
        &start(json!({"members": ["ada", "cy"]})),
    );
    contract.assert_answer(
        conversations,
        "POST",
        400,
        &start(json!({"members": ["ada"]})),
    );
    let text = app.post(conversations, "text/plain", "ada,bob");
    contract.assert_answer(conversations, "POST", 415, &text);

    let id = started["id"].as_i64().expect("an id");
    let conversation = "/chat/conversations/{id}";
    let read = app.get(&format!("/chat/conversations/{id}"));
    contract.assert_answer(conversation, "GET", 200, &read);
    contract.assert_answer(
        conversation,
        "GET",
        404,
        &app.get("/chat/conversations/999"),
    );

    let messages = "/chat/conversations/{id}/messages";
    let path = format!("/chat/conversations/{id}/messages");
    let send = |sender: &str, text: &str| {
        let body = json!({"sender": sender, "text": text});
        app.send_json("POST", &path, &[("idempotency-key", "k-1")], &body)
    };
    contract.assert_answer(messages, "POST", 201, &send("ada", "hello"));
    contract.assert_answer(messages, "POST", 201, &send("ada", "hello"));
    contract.assert_answer(messages, "POST", 422, &send("ada", "other"));
    let stranger = app.post_json(&path, &json!({"sender": "eve", "text": "hi"}));
    contract.assert_answer(messages, "POST", 422, &stranger);
    let empty = app.post_json(&path, &json!({"sender": "ada", "text": ""}));
    contract.assert_answer(messages, "POST", 400, &empty);
    let nowhere = app.post_json(
        "/chat/conversations/999/messages",
        &json!({"sender": "ada", "text": "hi"}),
    );
    contract.assert_answer(messages, "POST", 404, &nowhere);
    app.post_json(&path, &json!({"sender": "bob", "text": "hi"}));
    for (query, status) in [
        ("?after=0&limit=1", 200),
        ("?after=5", 200),
        ("?limit=201", 400),
    ] {
        contract.assert_answer(messages, "GET", status, &app.get(&format!("{path}{query}")));
    }

    for (query, status) in [
        ("?member=ada&limit=1", 200),
        ("?member=nobody", 200),
        ("?member=ada&cursor=c0000000000000000", 200),
        ("?member=ada&cursor=junk", 400),
        ("", 400),
    ] {
        let page = app.get(&format!("{conversations}{query}"));
        contract.assert_answer(conversations, "GET", status, &page);
    }
    let page = app.get_json("/chat/conversations?member=ada&limit=1");
    assert!(page["next_cursor"].is_string(), "{page}");
    contract.assert_answer("/chat/outbox", "GET", 200, &app.get("/chat/outbox"));
    let flushed = app.post("/chat/outbox/flush", JSON, Vec::new());
    contract.assert_answer("/chat/outbox/flush", "POST", 200, &flushed);
}
