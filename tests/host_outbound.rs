//! Host conformance: Outbound HTTP and service chaining: `allowed_outbound_hosts`, denials, and chained requests
//! to private components.
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{
    assert_denied, eventually_contains, fetch, start_conformance_app, Echo, UpstreamServer,
};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Outbound HTTP and service chaining

#[test]
fn outbound_request_to_allowed_host_reaches_it() {
    let upstream = UpstreamServer::start();
    let app = start_conformance_app();
    let url = format!("{}/hello?x=1", upstream.url());
    let result = fetch(&app, &url, "POST", &["x-test: 1"], "payload");
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["body"], UpstreamServer::BODY);
    let headers = result["headers"].as_array().expect("headers");
    assert!(
        headers
            .iter()
            .any(|h| h[0] == "x-upstream" && h[1] == "yes"),
        "{result}"
    );
    let received = upstream.requests();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].target, "/hello?x=1");
    assert_eq!(received[0].header("x-test"), Some("1"));
    assert_eq!(received[0].body, b"payload");
}

#[test]
fn outbound_request_to_disallowed_host_is_denied() {
    let upstream = UpstreamServer::start();
    let app = start_conformance_app();
    // Same server, but `localhost` is not in allowed_outbound_hosts.
    let result = fetch(
        &app,
        &format!("http://localhost:{}/", upstream.port),
        "GET",
        &[],
        "",
    );
    assert_denied(&result);
    assert!(
        upstream.requests().is_empty(),
        "a denied request must not be sent"
    );
}

#[test]
fn denied_outbound_request_is_reported_on_stderr() {
    let app = start_conformance_app();
    assert_denied(&fetch(&app, "http://localhost:9/", "GET", &[], ""));
    let output = eventually_contains(|| app.stderr(), "disallowed destination");
    assert!(
        output.contains("disallowed destination"),
        "output:\n{output}"
    );
    assert!(output.contains("http://localhost:9"), "output:\n{output}");
}

#[test]
fn chained_request_reaches_private_component_with_chaining_headers() {
    let app = start_conformance_app();
    let result = fetch(
        &app,
        "http://echo.spin.internal/deep/path?z=1",
        "GET",
        &["x-caller: probe"],
        "",
    );
    assert_eq!(result["status"], 200, "{result}");
    let inner: Value =
        serde_json::from_str(result["body"].as_str().unwrap_or_default()).expect("json");
    let echo = Echo::from_json(&inner);
    assert_eq!(echo.component(), "echo");
    assert_eq!(echo.str("path_with_query"), "/deep/path?z=1");
    assert!(
        echo.str("authority").starts_with("echo.spin.internal"),
        "{inner}"
    );
    assert_eq!(echo.header("spin-path-info"), "/deep/path");
    assert_eq!(
        echo.header("spin-full-url"),
        "http://localhost/deep/path?z=1"
    );
    assert_eq!(echo.header("spin-matched-route"), "/...");
    assert_eq!(echo.header("spin-raw-component-route"), "/...");
    assert_eq!(echo.header("spin-component-route"), "");
    assert_eq!(echo.header("spin-base-path"), "/");
    assert_eq!(echo.header("spin-client-addr"), "0.0.0.0:0");
    assert_eq!(echo.header("x-caller"), "probe");
}

#[test]
fn chaining_to_component_not_in_allowed_hosts_is_denied() {
    let app = start_conformance_app();
    assert_denied(&fetch(&app, "http://exact.spin.internal/", "GET", &[], ""));
}

#[test]
fn chaining_with_disallowed_scheme_is_denied() {
    let app = start_conformance_app();
    assert_denied(&fetch(&app, "https://echo.spin.internal/", "GET", &[], ""));
}

#[test]
fn private_component_is_not_reachable_from_outside() {
    let app = start_conformance_app();
    for path in ["/", "/echo", "/deep/path"] {
        assert_eq!(app.get(path).status, 404, "{path}");
    }
}
