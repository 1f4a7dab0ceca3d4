//! End-to-end tests of the API gateway's keys and scopes (components/gateway): every service is
//! reached through the gateway, which lets a request through only with a live key holding the
//! service's scope, and manages keys behind the admin token. Each test starts its own app.
//!
//! Needs every component built (`cargo xtask build`).

use integration_tests::{assert_error, Credentials, TestApp, TestResponse, Topology, JSON};
use serde_json::{json, Value};

fn customer() -> Value {
    json!({ "name": "Ada Lovelace", "email": "ada@example.com", "tier": "pro" })
}

fn put_customer_as(app: &TestApp, credentials: Credentials<'_>, id: &str) -> TestResponse {
    let path = format!("/support/customers/{id}");
    let body = customer().to_string();
    app.request_as(credentials, "PUT", &path, &[("content-type", JSON)], body)
}

/// Asserts the customer does not exist (read with the all-scopes key): a refused write did
/// nothing.
fn assert_no_customer(app: &TestApp, id: &str) {
    let read = app.get(&format!("/support/customers/{id}"));
    assert_eq!(read.status, 404, "{}", read.text());
}

/// Asserts a 401 with a JSON message and exactly this `WWW-Authenticate` challenge.
fn assert_unauthorized(response: &TestResponse, challenge: &str) {
    assert_error(response, 401, &[]);
    assert_eq!(response.header("www-authenticate"), Some(challenge));
}

const NO_KEY: &str = "Bearer realm=\"gateway\"";
const BAD_KEY: &str = "Bearer realm=\"gateway\", error=\"invalid_token\"";
const ADMIN: &str = "Bearer realm=\"admin\"";

fn admin_keys(app: &TestApp) -> Vec<Value> {
    let listed = app.get_as(Credentials::Admin, "/admin/keys");
    assert_eq!(listed.status, 200, "{}", listed.text());
    listed.json()["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("no keys array: {}", listed.text()))
        .clone()
}

// ---------------------------------------------------------------------------
// Calling services

#[test]
fn a_service_call_without_a_key_is_401_with_a_bearer_challenge() {
    let app = TestApp::start_main_app();
    for path in [
        "/support/tickets",
        "/events/support.tickets",
        "/telemetry/health",
    ] {
        assert_unauthorized(&app.get_as(Credentials::None, path), NO_KEY);
    }
    assert_unauthorized(&put_customer_as(&app, Credentials::None, "c-1"), NO_KEY);
    assert_no_customer(&app, "c-1");
}

#[test]
fn an_unknown_key_is_401_invalid_token_even_on_a_public_route() {
    let app = TestApp::start_main_app();
    let response = app.get_as(Credentials::Key("not-a-key"), "/support/tickets");
    assert_unauthorized(&response, BAD_KEY);
    assert_unauthorized(
        &put_customer_as(&app, Credentials::Key("not-a-key"), "c-1"),
        BAD_KEY,
    );
    assert_no_customer(&app, "c-1");
    // Visits reads, the registry and the health need no key, but a key that is sent is checked.
    for path in ["/visits/1", "/services", "/health"] {
        assert_eq!(app.get_as(Credentials::None, path).status, 200, "{path}");
        let response = app.get_as(Credentials::Key("not-a-key"), path);
        assert_unauthorized(&response, BAD_KEY);
    }
    // The admin token is not an API key.
    let response = app.get_as(Credentials::Key(app.admin_token()), "/support/tickets");
    assert_unauthorized(&response, BAD_KEY);
}

#[test]
fn a_revoked_key_is_refused_at_once() {
    let app = TestApp::start_main_app();
    let (id, key) = app.create_key("revoke-me", &["support:read"], 100);
    let before = app.get_as(Credentials::Key(&key), "/support/tickets");
    assert_eq!(before.status, 200, "{}", before.text());

    let path = format!("/admin/keys/{id}");
    let deleted = app.request_as(Credentials::Admin, "DELETE", &path, &[], Vec::new());
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert!(deleted.body.is_empty());

    assert_unauthorized(
        &app.get_as(Credentials::Key(&key), "/support/tickets"),
        BAD_KEY,
    );
    assert_eq!(app.get_as(Credentials::Admin, &path).status, 404);
    let again = app.request_as(Credentials::Admin, "DELETE", &path, &[], Vec::new());
    assert_error(&again, 404, &[]);
    assert!(
        admin_keys(&app).iter().all(|k| k["id"] != id.as_str()),
        "a deleted key is not listed"
    );
}

#[test]
fn keys_and_revocations_survive_a_restart() {
    let mut app = TestApp::start_main_app();
    let (_, kept) = app.create_key("kept", &["support:read"], 100);
    let (gone_id, gone) = app.create_key("gone", &["support:read"], 100);
    let path = format!("/admin/keys/{gone_id}");
    let deleted = app.request_as(Credentials::Admin, "DELETE", &path, &[], Vec::new());
    assert_eq!(deleted.status, 204, "{}", deleted.text());

    app.restart();
    let kept = app.get_as(Credentials::Key(&kept), "/support/tickets");
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_unauthorized(
        &app.get_as(Credentials::Key(&gone), "/support/tickets"),
        BAD_KEY,
    );
}

#[test]
fn a_key_without_the_scope_is_403_naming_it() {
    let app = TestApp::start_main_app();
    let (_, reader) = app.create_key("reader", &["support:read"], 100);
    // Read scope does not allow writing (PUT, POST, PATCH, DELETE need `support:write`).
    assert_error(
        &put_customer_as(&app, Credentials::Key(&reader), "c-1"),
        403,
        &["support:write"],
    );
    assert_no_customer(&app, "c-1");
    let flush = app.request_as(
        Credentials::Key(&reader),
        "POST",
        "/support/outbox/flush",
        &[("content-type", JSON)],
        "",
    );
    assert_error(&flush, 403, &["support:write"]);
    // Scopes are per service.
    let other = app.get_as(Credentials::Key(&reader), "/telemetry/health");
    assert_error(&other, 403, &["telemetry:read"]);

    // Write scope alone does not allow reading.
    let (_, writer) = app.create_key("writer", &["support:write"], 100);
    let created = put_customer_as(&app, Credentials::Key(&writer), "c-2");
    assert_eq!(created.status, 201, "{}", created.text());
    let read = app.get_as(Credentials::Key(&writer), "/support/customers/c-2");
    assert_error(&read, 403, &["support:read"]);
    // A refusal is the front's own answer, with its request id, in both topologies.
    assert!(read.header("x-request-id").is_some(), "{:?}", read.headers);
}

#[test]
fn a_key_with_the_scope_is_let_through_with_its_rate_headers() {
    let app = TestApp::start_main_app();
    let (_, key) = app.create_key("support", &["support:read", "support:write"], 50);
    let created = put_customer_as(&app, Credentials::Key(&key), "c-1");
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["id"], "c-1");
    let read = app.get_as(Credentials::Key(&key), "/support/customers/c-1");
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json()["name"], "Ada Lovelace");
    if !Topology::current().decorates_answers() {
        // The composed edge never sees the service's answer, so it cannot add its headers.
        assert_eq!(created.header("ratelimit-limit"), None);
        assert_eq!(read.header("ratelimit-limit"), None);
        return;
    }
    assert_eq!(created.header("ratelimit-limit"), Some("50"));
    assert_eq!(read.header("ratelimit-limit"), Some("50"));
    // Two requests of this key so far in this minute (unless the minute just rolled over).
    let remaining: u32 = read
        .header("ratelimit-remaining")
        .and_then(|r| r.parse().ok())
        .expect("a numeric ratelimit-remaining");
    assert!(
        remaining == 48 || remaining == 49,
        "ratelimit-remaining {remaining}"
    );
}

#[test]
fn x_api_key_is_accepted_like_a_bearer_key() {
    let app = TestApp::start_main_app();
    let (_, key) = app.create_key("header", &["support:read"], 100);
    // A request's own `x-api-key` replaces the harness's default key.
    let response = app.request(
        "GET",
        "/support/tickets",
        &[("x-api-key", &key)],
        Vec::new(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["tickets"], json!([]));
    let write = app.request(
        "PUT",
        "/support/customers/c-1",
        &[("x-api-key", &key), ("content-type", JSON)],
        customer().to_string(),
    );
    assert_error(&write, 403, &["support:write"]);
    let unknown = app.request(
        "GET",
        "/support/tickets",
        &[("x-api-key", "nope")],
        Vec::new(),
    );
    assert_unauthorized(&unknown, BAD_KEY);
}

#[test]
fn visits_reads_are_public_but_its_writes_need_a_key() {
    let app = TestApp::start_main_app();
    let read = app.get_as(Credentials::None, "/visits/324");
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json(), json!([]));
    let write = app.request_as(
        Credentials::None,
        "POST",
        "/visits/324",
        &[("content-type", JSON)],
        "",
    );
    assert_unauthorized(&write, NO_KEY);
    assert_eq!(app.get_json("/visits/324"), json!([]));
}

// ---------------------------------------------------------------------------
// Administering keys

#[test]
fn admin_calls_without_or_with_a_wrong_token_are_401() {
    let app = TestApp::start_main_app();
    let (_, all_scopes_key) = app.default_key().expect("the main app has a default key");
    let all_scopes_key = all_scopes_key.to_owned();
    let wrong = format!("{}x", app.admin_token());
    for credentials in [
        Credentials::None,
        Credentials::Key(&wrong),
        Credentials::Key(&all_scopes_key),
    ] {
        assert_unauthorized(&app.get_as(credentials, "/admin/keys"), ADMIN);
        let body = json!({"name": "sneaky", "scopes": ["support:write"]}).to_string();
        let created = app.request_as(
            credentials,
            "POST",
            "/admin/keys",
            &[("content-type", JSON)],
            body,
        );
        assert_unauthorized(&created, ADMIN);
    }
    // The admin token in `x-api-key` is not an admin call either.
    let response = app.request(
        "GET",
        "/admin/keys",
        &[("x-api-key", app.admin_token())],
        Vec::new(),
    );
    assert_unauthorized(&response, ADMIN);
    let names: Vec<Value> = admin_keys(&app).iter().map(|k| k["name"].clone()).collect();
    assert_eq!(names, [json!("tests")], "only the harness's key exists");
}

#[test]
fn a_created_key_is_shown_once_with_its_location_and_defaults() {
    let app = TestApp::start_main_app();
    let body = json!({"name": "ci", "scopes": ["support:read", "events:write"]}).to_string();
    let created = app.request_as(
        Credentials::Admin,
        "POST",
        "/admin/keys",
        &[("content-type", JSON)],
        body,
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let key = created.json();
    let id = key["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/admin/keys/{id}").as_str())
    );
    assert_eq!(key["name"], "ci");
    assert_eq!(key["scopes"], json!(["support:read", "events:write"]));
    assert_eq!(key["rate_per_minute"], 600, "the default rate");
    assert!(
        key["created_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{key}"
    );
    let secret = key["key"].as_str().expect("the key, shown once");
    assert!(secret.len() >= 20, "a key hard to guess: {secret:?}");

    let read = app.get_as(Credentials::Admin, &format!("/admin/keys/{id}"));
    assert_eq!(read.status, 200, "{}", read.text());
    let mut expected = key.clone();
    expected.as_object_mut().unwrap().remove("key");
    assert_eq!(read.json(), expected);

    // Two keys never share a secret or an id.
    let (other_id, other) = app.create_key("ci", &["support:read"], 10);
    assert_ne!(other_id, id);
    assert_ne!(other, secret);
}

#[test]
fn listing_keys_never_shows_a_secret() {
    let app = TestApp::start_main_app();
    let (id, secret) = app.create_key("listed", &["telemetry:read"], 7);
    let listed = app.get_as(Credentials::Admin, "/admin/keys");
    assert_eq!(listed.status, 200, "{}", listed.text());
    let (_, default_secret) = app.default_key().unwrap();
    for secret in [secret.as_str(), default_secret] {
        assert!(
            !listed.text().contains(secret),
            "a secret in the listing: {}",
            listed.text()
        );
    }
    let keys = admin_keys(&app);
    assert_eq!(keys.len(), 2, "{keys:?}");
    let mine = keys
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("the new key is listed");
    let fields: Vec<&str> = mine
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut fields = fields;
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["created_at", "id", "name", "rate_per_minute", "scopes"]
    );
    assert_eq!(mine["scopes"], json!(["telemetry:read"]));
    assert_eq!(mine["rate_per_minute"], 7);
    let one = app.get_as(Credentials::Admin, &format!("/admin/keys/{id}"));
    assert!(!one.text().contains(&secret), "{}", one.text());
    assert_error(
        &app.get_as(Credentials::Admin, "/admin/keys/no-such-key"),
        404,
        &[],
    );
    assert_error(
        &app.get_as(Credentials::Admin, "/admin/keys/key_0000000000000000"),
        404,
        &["key_0000000000000000"],
    );
    // An id of no key's shape is answered without a lookup, and not echoed back.
    let long = format!("/admin/keys/{}", "x".repeat(3000));
    let refused = app.get_as(Credentials::Admin, &long);
    assert_error(&refused, 404, &["key ids look like"]);
    assert!(refused.text().len() < 200, "{}", refused.text());
}

#[test]
fn invalid_key_requests_are_400_and_create_nothing() {
    let app = TestApp::start_main_app();
    let cases = [
        (json!({"name": "", "scopes": ["support:read"]}), "name"),
        (
            json!({"name": "n".repeat(101), "scopes": ["support:read"]}),
            "name",
        ),
        (json!({"scopes": ["support:read"]}), "name"),
        (json!({"name": "n", "scopes": []}), "scope"),
        (json!({"name": "n"}), "scope"),
        (
            json!({"name": "n", "scopes": ["support:admin"]}),
            "support:admin",
        ),
        (
            json!({"name": "n", "scopes": ["billing:read"]}),
            "billing:read",
        ),
        (json!({"name": "n", "scopes": ["support"]}), "support"),
        (
            json!({"name": "n", "scopes": ["support:read"], "rate_per_minute": 0}),
            "rate_per_minute",
        ),
        (
            json!({"name": "n", "scopes": ["support:read"], "rate_per_minute": 1_000_001}),
            "rate_per_minute",
        ),
        (
            json!({"name": "n", "scopes": ["support:read"], "admin": true}),
            "admin",
        ),
    ];
    for (body, word) in cases {
        let response = app.request_as(
            Credentials::Admin,
            "POST",
            "/admin/keys",
            &[("content-type", JSON)],
            body.to_string(),
        );
        assert_error(&response, 400, &[word]);
    }
    let broken = app.request_as(
        Credentials::Admin,
        "POST",
        "/admin/keys",
        &[("content-type", JSON)],
        "{\"name\": ",
    );
    assert_error(&broken, 400, &[]);
    // Longest name and the rate bounds are fine.
    app.create_key(&"n".repeat(100), &["support:read"], 1);
    app.create_key("max", &["support:read"], 1_000_000);
    assert_eq!(
        admin_keys(&app).len(),
        3,
        "only the valid keys were created"
    );
}
