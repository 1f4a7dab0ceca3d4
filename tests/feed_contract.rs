//! The feed service's health and contract, end to end: `GET /feed/health`, and
//! `GET /feed/openapi.json` describing exactly the routes the service serves, with real answers
//! fitting it. Needs every component built (`cargo xtask build`).

#[path = "contract_check.rs"]
mod contract_check;

use contract_check::{
    assert_health_fails_without_sqlite, assert_healthy, assert_serves_exactly, Contract,
};
use integration_tests::{TestApp, JSON};
use serde_json::json;

/// Every (method, path) the service answers.
const SERVED: [(&str, &str); 11] = [
    ("GET", "/feed/users/{id}"),
    ("PUT", "/feed/users/{id}/following/{other}"),
    ("DELETE", "/feed/users/{id}/following/{other}"),
    ("POST", "/feed/users/{id}/posts"),
    ("GET", "/feed/users/{id}/posts"),
    ("GET", "/feed/users/{id}/posts/{post}"),
    ("GET", "/feed/users/{id}/timeline"),
    ("GET", "/feed/outbox"),
    ("POST", "/feed/outbox/flush"),
    ("GET", "/feed/health"),
    ("GET", "/feed/openapi.json"),
];

#[test]
fn health_checks_the_services_own_store() {
    let app = TestApp::start_main_app();
    assert_healthy(&app, "feed", &["sqlite"]);
}

#[test]
fn health_is_503_naming_the_check_when_the_database_cannot_be_opened() {
    // A fresh app: the host keeps idle connections, which would still answer.
    let app = TestApp::start_main_app();
    assert_health_fails_without_sqlite(&app, "feed", "feed");
}

#[test]
fn the_contract_lists_exactly_the_served_routes() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "feed");
    // Empty bodies: each documented operation answers them with a documented status.
    let concrete = |path: &str| {
        path.replace("{id}", "ada")
            .replace("{other}", "bob")
            .replace("{post}", "1")
    };
    assert_serves_exactly(&app, &contract, &SERVED, concrete, |_, _| {
        (JSON, Vec::new())
    });
}

#[test]
fn real_answers_fit_the_contract() {
    let app = TestApp::start_main_app();
    let contract = Contract::fetch(&app, "feed");

    let following = "/feed/users/{id}/following/{other}";
    let put = |path: &str| app.request("PUT", path, &[], Vec::new());
    let delete = |path: &str| app.request("DELETE", path, &[], Vec::new());
    contract.assert_answer(following, "PUT", 201, &put("/feed/users/ada/following/bob"));
    contract.assert_answer(following, "PUT", 200, &put("/feed/users/ada/following/bob"));
    contract.assert_answer(following, "PUT", 422, &put("/feed/users/ada/following/ada"));
    contract.assert_answer(following, "PUT", 404, &put("/feed/users/ada/following/B"));

    let posts = "/feed/users/{id}/posts";
    let publish = |user: &str, text: &str| {
        let body = json!({ "text": text });
        let path = format!("/feed/users/{user}/posts");
        app.send_json("POST", &path, &[("idempotency-key", "k-1")], &body)
    };
    let first = contract.assert_answer(posts, "POST", 201, &publish("bob", "hello"));
    contract.assert_answer(posts, "POST", 201, &publish("bob", "hello"));
    contract.assert_answer(posts, "POST", 422, &publish("bob", "other"));
    contract.assert_answer(posts, "POST", 400, &publish("bob", ""));
    contract.assert_answer(posts, "POST", 404, &publish("Bob", "hi"));
    let text = app.post("/feed/users/bob/posts", "text/plain", "hi");
    contract.assert_answer(posts, "POST", 415, &text);
    publish("ada", "mine");

    let id = first["id"].as_i64().expect("an id");
    let one = "/feed/users/{id}/posts/{post}";
    contract.assert_answer(
        one,
        "GET",
        200,
        &app.get(&format!("/feed/users/bob/posts/{id}")),
    );
    contract.assert_answer(one, "GET", 404, &app.get("/feed/users/bob/posts/999"));

    for listing in [posts, "/feed/users/{id}/timeline"] {
        let path = listing.replace("{id}", "ada");
        for (query, status) in [
            ("?limit=1", 200),
            ("", 200),
            ("?cursor=c0000000000000000", 200),
            ("?cursor=junk", 400),
            ("?limit=101", 400),
        ] {
            let page = app.get(&format!("{path}{query}"));
            contract.assert_answer(listing, "GET", status, &page);
        }
        let missing = app.get(&listing.replace("{id}", "A"));
        contract.assert_answer(listing, "GET", 404, &missing);
    }
    let page = app.get_json("/feed/users/ada/timeline?limit=1");
    assert!(page["next_cursor"].is_string(), "{page}");

    let user = "/feed/users/{id}";
    contract.assert_answer(user, "GET", 200, &app.get("/feed/users/ada"));
    contract.assert_answer(user, "GET", 404, &app.get("/feed/users/A"));

    contract.assert_answer(
        following,
        "DELETE",
        204,
        &delete("/feed/users/ada/following/bob"),
    );
    contract.assert_answer(
        following,
        "DELETE",
        404,
        &delete("/feed/users/ada/following/bob"),
    );
    contract.assert_answer(
        following,
        "DELETE",
        422,
        &delete("/feed/users/ada/following/ada"),
    );

    contract.assert_answer("/feed/outbox", "GET", 200, &app.get("/feed/outbox"));
    let flushed = app.post("/feed/outbox/flush", JSON, Vec::new());
    contract.assert_answer("/feed/outbox/flush", "POST", 200, &flushed);
}
