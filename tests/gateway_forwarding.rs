//! End-to-end tests of what crosses the API gateway (components/gateway) between a client and a
//! service: the caller's identity as the gateway vouches for it (never as the client claims it),
//! no way around the gateway, request ids carried into events, and the access log. The main
//! app's tests also run in the composed topology, where the edge cannot rewrite a request
//! (one posing as the gateway is refused instead) nor add headers to the service's answer.
//!
//! What a service really receives is seen through the conformance probe
//! (tests/components/probe), which echoes every header it is given: an app of the gateway and
//! the probe as its only service, `echo`. Needs every component and the probe built
//! (`cargo xtask build`).

use std::time::Duration;

use integration_tests::{
    assert_error, eventually, probe_wasm, read_to_string_lossy, repo_root, write_file, AppSpec,
    Credentials, TestApp, TestResponse, Topology, JSON, SERVICES, TEST_ADMIN_TOKEN,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// The echo app

/// The gateway in front of one private service, `echo` (the probe), as the main app wires them
/// (see the gateway's section of spin.toml). Reads of `echo` are public.
const ECHO_MANIFEST: &str = r#"
spin_manifest_version = 2

[application]
name = "gateway-echo"

[variables]
admin_token = { required = true, secret = true }

[[trigger.http]]
route = "/..."
component = "gateway"

[component.gateway]
source = "{gateway}"
key_value_stores = ["gateway"]
sqlite_databases = ["gateway"]
allowed_outbound_hosts = ["http://*.spin.internal"]
[component.gateway.variables]
admin_token = "{{ admin_token }}"
services = "echo"
public_read = "echo"
cors_origins = "*"
max_body_bytes = "1048576"

[[trigger.http]]
route = { private = true }
component = "echo"

[component.echo]
source = "{probe}"
environment = { PROBE_COMPONENT = "echo" }
"#;

const ECHO_RUNTIME_CONFIG: &str = "[key_value_store.gateway]\ntype = \"spin\"\n\
    path = \"{tmp}/gateway_kv.db\"\n\n[sqlite_database.gateway]\ntype = \"spin\"\n\
    path = \"{tmp}/gateway.db\"\n";

/// The echo app; its manifest lives in the returned temp dir.
fn start_echo_app() -> (tempfile::TempDir, TestApp) {
    let gateway = repo_root().join("target/wasm32-wasip2/release/gateway.wasm");
    assert!(
        gateway.exists(),
        "build the components with `cargo xtask build`"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = dir.path().join("spin.toml");
    write_file(
        &manifest,
        &ECHO_MANIFEST
            .replace("{gateway}", gateway.to_str().expect("utf-8 path"))
            .replace("{probe}", probe_wasm().to_str().expect("utf-8 path")),
    );
    // The token goes in as plain environment: the harness's own key would ask for the main
    // app's scopes, which this app does not have.
    let app = TestApp::start(AppSpec {
        manifest,
        runtime_config: ECHO_RUNTIME_CONFIG.to_owned(),
        env: vec![(
            "SPIN_VARIABLE_ADMIN_TOKEN".to_owned(),
            TEST_ADMIN_TOKEN.to_owned(),
        )],
        ..AppSpec::default()
    });
    (dir, app)
}

/// Creates a key in the echo app; returns `(id, key)`.
fn echo_key(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let admin = format!("Bearer {TEST_ADMIN_TOKEN}");
    let body = json!({"name": "echo", "scopes": scopes}).to_string();
    let headers = [("authorization", admin.as_str()), ("content-type", JSON)];
    let created = app.request("POST", "/admin/keys", &headers, body);
    assert_eq!(created.status, 201, "{}", created.text());
    let created = created.json();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    )
}

/// The headers the echo service received for a request, as `(lowercase name, value)`.
fn received(response: &TestResponse) -> Vec<(String, String)> {
    assert_eq!(response.status, 200, "{}", response.text());
    let echo = response.json();
    assert_eq!(echo["component"], "echo", "{echo}");
    echo["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_ascii_lowercase(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// What a client could send to pass for someone else.
const SPOOFED: [(&str, &str); 9] = [
    ("x-gateway-key-id", "spoofed-key-id"),
    ("x-gateway-scopes", "echo:write spoofed:admin"),
    ("x-gateway-admin", "spoofed-true"),
    ("spin-client-addr", "6.6.6.6:666"),
    ("spin-path-info", "/spoofed-path"),
    ("spin-full-url", "http://spoofed.example/echo"),
    ("x-forwarded-for", "6.6.6.6"),
    ("x-forwarded-host", "spoofed.example"),
    ("forwarded", "for=6.6.6.6;host=spoofed.example"),
];

fn assert_nothing_spoofed(headers: &[(String, String)]) {
    for (name, value) in headers {
        assert!(
            !value.contains("spoofed") && !value.contains("6.6.6.6"),
            "a spoofed value reached the service: {name}: {value}"
        );
    }
    for name in ["forwarded", "x-forwarded-host", "x-gateway-admin"] {
        assert!(
            values(headers, name).is_empty(),
            "{name} reached the service"
        );
    }
}

// ---------------------------------------------------------------------------
// Identity

#[test]
fn a_service_sees_the_identity_the_gateway_vouches_for_not_the_clients() {
    let (_dir, app) = start_echo_app();
    let (id, key) = echo_key(&app, &["echo:read"]);
    let bearer = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", bearer.as_str()),
        ("x-request-id", "trace-1"),
        ("x-custom", "kept"),
    ];
    headers.extend(SPOOFED);
    let response = app.request("GET", "/echo/whoami?x=1", &headers, Vec::new());
    let seen = received(&response);
    assert_nothing_spoofed(&seen);
    assert_eq!(values(&seen, "x-gateway-key-id"), [id.as_str()]);
    assert_eq!(values(&seen, "x-gateway-scopes"), ["echo:read"]);
    assert_eq!(values(&seen, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(values(&seen, "x-request-id"), ["trace-1"]);
    // Credentials end at the gateway; other end-to-end headers go on.
    assert!(values(&seen, "authorization").is_empty(), "{seen:?}");
    assert!(seen.iter().all(|(_, v)| !v.contains(&key)), "{seen:?}");
    assert_eq!(values(&seen, "x-custom"), ["kept"]);
    assert_eq!(response.json()["path_with_query"], "/echo/whoami?x=1");

    // The same through `x-api-key`.
    let response = app.request("GET", "/echo/whoami", &[("x-api-key", &key)], Vec::new());
    let seen = received(&response);
    assert!(values(&seen, "x-api-key").is_empty(), "{seen:?}");
    assert_eq!(values(&seen, "x-gateway-key-id"), [id.as_str()]);
}

#[test]
fn an_anonymous_caller_reaches_a_service_with_no_identity_at_all() {
    let (_dir, app) = start_echo_app();
    let response = app.request("GET", "/echo/whoami", &SPOOFED, Vec::new());
    let seen = received(&response);
    assert_nothing_spoofed(&seen);
    assert!(values(&seen, "x-gateway-key-id").is_empty(), "{seen:?}");
    assert!(values(&seen, "x-gateway-scopes").is_empty(), "{seen:?}");
    assert_eq!(values(&seen, "x-forwarded-for"), ["127.0.0.1"]);
    // A spoofed identity does not make a write anonymous-able either.
    let write = app.request("POST", "/echo/whoami", &SPOOFED, "{}");
    assert_error(&write, 401, &[]);
}

#[test]
fn a_spoofed_scope_header_grants_nothing() {
    let app = TestApp::start_main_app();
    let (_, reader) = app.create_key("reader", &["support:read"], 100);
    let (all_id, _) = app.default_key().unwrap();
    let spoofed = [
        ("x-gateway-scopes", "support:read support:write"),
        ("x-gateway-key-id", all_id),
        ("content-type", JSON),
    ];
    let customer = json!({"name": "Ada", "email": "ada@example.com", "tier": "pro"}).to_string();
    let path = "/support/customers/c-1";
    let as_reader = app.request_as(
        Credentials::Key(&reader),
        "PUT",
        path,
        &spoofed,
        customer.clone(),
    );
    let as_nobody = app.request_as(Credentials::None, "PUT", path, &spoofed, customer);
    if Topology::current().rewrites_requests() {
        // The gateway drops the claim and judges the caller by the key alone.
        assert_error(&as_reader, 403, &["support:write"]);
        assert_error(&as_nobody, 401, &[]);
    } else {
        // The edge cannot drop a header before the service reads it, so it refuses the request.
        assert_error(&as_reader, 400, &["x-gateway-"]);
        assert_error(&as_nobody, 400, &["x-gateway-"]);
    }
    assert_eq!(app.get(path).status, 404, "nothing was written");
}

// ---------------------------------------------------------------------------
// No way around the gateway

/// The component labels listed under `Available Routes:` in the server's startup output.
fn listed_routes(output: &str) -> Vec<String> {
    let routes = output
        .split_once("Available Routes:")
        .unwrap_or_else(|| panic!("no routes banner in:\n{output}"))
        .1;
    routes
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| {
            line.trim()
                .split_once(": http")
                .map(|(label, _)| label.to_owned())
        })
        .collect()
}

#[test]
fn services_are_reached_only_through_the_gateway() {
    let app = TestApp::start_main_app();
    let mut routes = listed_routes(&app.stderr());
    routes.sort_unstable();
    let mut public = Topology::current().public_components(&SERVICES);
    public.sort_unstable();
    assert_eq!(routes, public);

    let (_, key) = app.default_key().unwrap();
    let port = app.base_url.rsplit(':').next().unwrap().to_owned();
    let customer = json!({"name": "Ada", "email": "ada@example.com", "tier": "pro"}).to_string();
    let put = |target: &str, host: &str, credentials: &str| {
        let request = format!(
            "PUT {target} HTTP/1.1\r\nhost: {host}\r\n{credentials}\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n\
             {customer}",
            customer.len()
        );
        app.raw_request(request.as_bytes())
    };
    let with_key = format!("authorization: Bearer {key}\r\n");
    let internal = "support.spin.internal";
    // A `Host` naming the service, as a chained request would: Spin deletes an inbound
    // `*.spin.internal` Host, and a request left without an authority is closed unanswered.
    let answer = put("/support/customers/c-1", internal, &with_key);
    assert!(answer.is_err(), "closed unanswered: {answer:?}");
    // The same name as an absolute-form target is only an authority: routing goes by the path,
    // so the request is the gateway's like any other and gets its rules (spin-compat s.11).
    let target = "http://support.spin.internal/support/customers/c-1";
    let refused = put(target, internal, "").expect("the gateway answers");
    assert_error(&refused, 401, &[]);
    assert!(
        refused.header("x-request-id").is_some(),
        "the gateway's answer"
    );
    let target = "http://support.spin.internal/support/customers/c-abs";
    let created = put(target, internal, &with_key).expect("the gateway answers");
    assert_eq!(created.status, 201, "{}", created.text());
    if Topology::current().decorates_answers() {
        assert!(
            created.header("ratelimit-remaining").is_some(),
            "counted against the key, so it went through the gateway"
        );
    }
    // Spin's routing headers, spoofed, change nothing either.
    let spoofed_route = [
        ("host", format!("127.0.0.1:{port}")),
        ("spin-path-info", "/visits/1".to_owned()),
        ("spin-component-route", "visits".to_owned()),
        ("spin-matched-route", "/visits/...".to_owned()),
        ("spin-full-url", format!("http://127.0.0.1:{port}/visits/1")),
        ("content-type", JSON.to_owned()),
    ];
    let spoofed_route: Vec<(&str, &str)> = spoofed_route
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    let response = app.request_as(
        Credentials::None,
        "PUT",
        "/support/customers/c-1",
        &spoofed_route,
        customer,
    );
    assert_error(&response, 401, &[]);
    let read = app.request(
        "GET",
        "/support/customers/c-1",
        &[("authorization", &format!("Bearer {key}"))],
        Vec::new(),
    );
    assert_eq!(read.status, 404, "nothing was written: {}", read.text());
}

// ---------------------------------------------------------------------------
// Request ids and the access log

#[test]
fn the_request_id_reaches_the_events_a_write_publishes() {
    let app = TestApp::start_main_app();
    let customer = json!({"name": "Ada", "email": "ada@example.com", "tier": "pro"});
    let created = app.send_json(
        "PUT",
        "/support/customers/c-1",
        &[("x-request-id", "cust-req-1")],
        &customer,
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let opened = app.send_json(
        "POST",
        "/support/customers/c-1/tickets",
        &[("x-request-id", "test-123")],
        &json!({"subject": "Printer on fire"}),
    );
    assert_eq!(opened.status, 201, "{}", opened.text());
    let decorated = Topology::current().decorates_answers();
    if decorated {
        assert_eq!(opened.header("x-request-id"), Some("test-123"));
    }

    // The client's own id reaches the service: passed on by the gateway, or as sent (composed).
    let tickets = app.wait_for_events("support.tickets", 1, |e| {
        e["type"] == "support.ticket.opened"
    });
    assert_eq!(tickets[0]["requestid"], "test-123", "{}", tickets[0]);
    let customers = app.wait_for_events("support.customers", 1, |_| true);
    assert_eq!(customers[0]["requestid"], "cust-req-1", "{}", customers[0]);

    // Without one from the client, the id the gateway made up is the one that travels; the
    // composed edge cannot pass one on, so the service has none.
    let updated = app.send_json(
        "PATCH",
        &format!("/support/tickets/{}", opened.json()["id"]),
        &[("content-type", "application/merge-patch+json")],
        &json!({"status": "resolved"}),
    );
    assert_eq!(updated.status, 200, "{}", updated.text());
    let updates = app.wait_for_events("support.tickets", 1, |e| {
        e["type"] == "support.ticket.updated"
    });
    if decorated {
        let generated = updated.header("x-request-id").expect("an x-request-id");
        assert_eq!(updates[0]["requestid"], generated, "{}", updates[0]);
    } else {
        assert_eq!(updated.header("x-request-id"), None);
        assert_eq!(updates[0]["requestid"], Value::Null, "{}", updates[0]);
    }
}

/// The access log of support's front so far: its stdout, which the server keeps per component
/// (the gateway's when chained, `support-edge`'s when composed).
fn access_log_text(app: &TestApp) -> String {
    let front = match Topology::current() {
        Topology::Chained => "gateway",
        Topology::Composed => "support-edge",
    };
    read_to_string_lossy(&app.state_dir().join(format!("logs/{front}_stdout.txt")))
}

fn access_log(app: &TestApp) -> Vec<Value> {
    access_log_text(app)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["request_id"].is_string())
        .collect()
}

fn logged(app: &TestApp, request_id: &str) -> Value {
    eventually(
        Duration::from_secs(5),
        &format!("access log line {request_id}"),
        || {
            let entries = access_log(app);
            let mine: Vec<&Value> = entries
                .iter()
                .filter(|e| e["request_id"] == request_id)
                .collect();
            match mine.as_slice() {
                [one] => Ok((*one).clone()),
                _ => Err(format!("{} lines for it in {entries:?}", mine.len())),
            }
        },
    )
}

#[test]
fn each_request_is_logged_as_one_json_line_with_the_true_key() {
    let app = TestApp::start_main_app();
    let (key_id, key) = app.default_key().unwrap();
    let spoofed = ("x-gateway-key-id", "spoofed");
    let served = if Topology::current().rewrites_requests() {
        app.request(
            "GET",
            "/support/tickets",
            &[("x-request-id", "log-1"), spoofed],
            Vec::new(),
        )
    } else {
        // The composed edge refuses a claim it cannot strip, and logs the refusal.
        let refused = app.request(
            "GET",
            "/support/tickets",
            &[("x-request-id", "log-0"), spoofed],
            "",
        );
        assert_error(&refused, 400, &["x-gateway-key-id"]);
        let entry = logged(&app, "log-0");
        assert_eq!(
            (&entry["key_id"], &entry["status"]),
            (&Value::Null, &json!(400)),
            "{entry}"
        );
        app.request(
            "GET",
            "/support/tickets",
            &[("x-request-id", "log-1")],
            Vec::new(),
        )
    };
    assert_eq!(served.status, 200, "{}", served.text());
    let refused = app.request_as(
        Credentials::None,
        "GET",
        "/support/tickets",
        &[("x-request-id", "log-2")],
        Vec::new(),
    );
    assert_eq!(refused.status, 401);

    let entry = logged(&app, "log-1");
    assert_eq!(entry["key_id"], key_id, "{entry}");
    assert_eq!(entry["method"], "GET", "{entry}");
    assert_eq!(entry["path"], "/support/tickets", "{entry}");
    // The composed edge hands the answer to the client unseen, so it logs no status for it.
    let status = if Topology::current().decorates_answers() {
        json!(200)
    } else {
        Value::Null
    };
    assert_eq!(entry["status"], status, "{entry}");
    assert!(
        entry["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{entry}"
    );
    assert!(
        entry["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{entry}"
    );
    assert!(
        entry["upstream_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{entry}"
    );
    assert!(
        entry["upstream"]
            .as_str()
            .is_some_and(|u| u.contains("support")),
        "{entry}"
    );

    let entry = logged(&app, "log-2");
    assert_eq!(entry["key_id"], Value::Null, "{entry}");
    assert_eq!(entry["status"], 401, "{entry}");

    // Secrets never reach the log.
    let log = access_log_text(&app);
    assert!(
        !log.contains(key) && !log.contains(app.admin_token()),
        "{log}"
    );
}
