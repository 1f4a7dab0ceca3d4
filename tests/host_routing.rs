//! Host conformance: Routing: which route serves a request, the `spin-*` headers the guest sees, and the
//! endpoints the runtime answers itself (`/.well-known/spin/*`).
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{
    echo, port_of, route_serving, start_conformance_app, start_manifest, Echo, TestApp,
};

// ---------------------------------------------------------------------------
// Routing and the spin-* request headers

#[test]
fn wildcard_route_gets_spin_headers() {
    let app = start_conformance_app();
    let echo = echo(&app, "/probe/a/b?x=1");
    assert_eq!(echo.header("spin-path-info"), "/a/b");
    assert_eq!(echo.header("spin-component-route"), "/probe");
    assert_eq!(echo.header("spin-matched-route"), "/probe/...");
    assert_eq!(echo.header("spin-raw-component-route"), "/probe/...");
    assert_eq!(echo.header("spin-base-path"), "/");
    assert_eq!(
        echo.header("spin-full-url"),
        format!("{}/probe/a/b?x=1", app.base_url)
    );
    let client_addr = echo.header("spin-client-addr");
    let (ip, port) = client_addr.rsplit_once(':').expect("ip:port");
    assert_eq!(ip, "127.0.0.1");
    assert!(
        port.parse::<u16>().is_ok_and(|p| p != 0),
        "client port in {client_addr:?}"
    );
}

#[test]
fn exact_route_gets_spin_headers() {
    let app = start_conformance_app();
    let echo = echo(&app, "/probe/target-exact");
    assert_eq!(echo.header("spin-path-info"), "");
    assert_eq!(echo.header("spin-matched-route"), "/probe/target-exact");
    assert_eq!(echo.header("spin-component-route"), "/probe/target-exact");
    assert_eq!(
        echo.header("spin-raw-component-route"),
        "/probe/target-exact"
    );
    assert_eq!(echo.header("spin-base-path"), "/");
}

#[test]
fn param_route_gets_path_match_header() {
    let app = start_conformance_app();
    let echo = echo(&app, "/items/42/detail");
    assert_eq!(echo.header("spin-path-match-id"), "42");
    assert_eq!(echo.header("spin-path-info"), "");
    assert_eq!(echo.header("spin-matched-route"), "/items/:id/detail");
}

#[test]
fn param_name_with_underscore_becomes_dashed_header() {
    let app = start_conformance_app();
    let echo = echo(&app, "/users/7");
    assert_eq!(echo.header("spin-path-match-user-id"), "7");
}

#[test]
fn param_and_wildcard_route_matches_documented_example() {
    let app = start_conformance_app();
    let echo = echo(&app, "/api/users/42/posts/7?sort=asc");
    assert_eq!(echo.header("spin-path-info"), "/posts/7");
    assert_eq!(
        echo.header("spin-full-url"),
        format!("{}/api/users/42/posts/7?sort=asc", app.base_url)
    );
    assert_eq!(echo.header("spin-matched-route"), "/api/users/:id/...");
    assert_eq!(
        echo.header("spin-raw-component-route"),
        "/api/users/:id/..."
    );
    assert_eq!(echo.header("spin-component-route"), "/api/users/:id");
    assert_eq!(echo.header("spin-base-path"), "/");
    assert_eq!(echo.header("spin-path-match-id"), "42");
    assert!(echo.header("spin-client-addr").starts_with("127.0.0.1:"));
}

#[test]
fn wildcard_path_info_keeps_trailing_slash() {
    let app = start_conformance_app();
    assert_eq!(echo(&app, "/probe").header("spin-path-info"), "");
    assert_eq!(echo(&app, "/probe/").header("spin-path-info"), "/");
    assert_eq!(echo(&app, "/probe/x").header("spin-path-info"), "/x");
    assert_eq!(echo(&app, "/probe/x/").header("spin-path-info"), "/x/");
}

#[test]
fn guest_sees_original_method_path_scheme_and_authority() {
    let app = start_conformance_app();
    let echo = Echo::of(&app.request(
        "PUT",
        "/probe/some/where?q=1&r=2",
        &[("x-custom", "yes")],
        "the body",
    ));
    assert_eq!(echo.str("method"), "PUT");
    assert_eq!(echo.str("path_with_query"), "/probe/some/where?q=1&r=2");
    assert_eq!(echo.str("scheme"), "http");
    assert_eq!(
        echo.str("authority"),
        format!("127.0.0.1:{}", port_of(&app))
    );
    assert_eq!(echo.str("body"), "the body");
    assert_eq!(echo.header("x-custom"), "yes");
    assert_eq!(echo.component(), "probe");
}

/// Sends `GET /probe/x` with one extra raw header line and returns the status line
/// and body (raw bytes on the wire: the HTTP client would refuse non-UTF-8 values).
fn get_with_raw_header(app: &TestApp, header: &[u8]) -> (String, String) {
    use std::io::{Read, Write};
    let addr = app.base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the host");
    let mut request =
        format!("GET /probe/x HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    request.extend_from_slice(header);
    request.extend_from_slice(b"\r\n\r\n");
    stream.write_all(&request).expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw.lines().next().unwrap_or_default().to_owned();
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[test]
fn utf8_header_values_reach_the_guest_and_other_bytes_are_a_500() {
    let app = start_conformance_app();
    let (status, body) = get_with_raw_header(&app, "x-note: caf\u{e9} \u{2713}".as_bytes());
    assert!(status.contains(" 200 "), "{status}");
    assert!(
        body.contains("caf\u{e9} \u{2713}"),
        "the guest should see the value: {body}"
    );
    let (status, body) = get_with_raw_header(&app, b"x-note: caf\xe9");
    assert!(status.contains(" 500 "), "{status}");
    assert_eq!(body, "", "Spin's 500 has an empty body");
}

/// What the guest sees of a request's authority: (authority, `spin-full-url`).
type Seen<'a> = (&'a str, &'a str);

/// Spin's answers to each request target and `Host` (spin-compat s.11, observed on Spin 4.0.2):
/// an inbound `*.spin.internal` Host is dropped, then the target's authority and the Host must
/// agree and one must be left; routing goes by the path alone.
#[test]
fn request_targets_and_hosts_follow_spins_authority_rules() {
    let app = start_conformance_app();
    let own = format!("127.0.0.1:{}", port_of(&app));
    let internal = "probe.spin.internal";
    let internal_target = "http://probe.spin.internal/probe/x";
    let other_target = "http://example.com/probe/x";
    let own_url = format!("http://{own}/probe/x");
    // (target, Host, the authority and `spin-full-url` the guest sees; None = closed unanswered)
    let cases: [(&str, &str, Option<Seen>); 9] = [
        (
            internal_target,
            internal,
            Some((internal, "http://localhost/probe/x")),
        ),
        (internal_target, "example.com", None),
        (internal_target, &own, None),
        (
            other_target,
            internal,
            Some(("example.com", "http://localhost/probe/x")),
        ),
        (
            other_target,
            "example.com",
            Some(("example.com", "http://example.com/probe/x")),
        ),
        (other_target, &own, None),
        ("/probe/x", internal, None),
        (
            "/probe/x",
            "example.com",
            Some(("example.com", "http://example.com/probe/x")),
        ),
        ("/probe/x", &own, Some((&own, &own_url))),
    ];
    for (target, host, expected) in cases {
        let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let answer = app.raw_request(request.as_bytes());
        match expected {
            None => assert!(answer.is_err(), "{target} with Host {host}: {answer:?}"),
            Some((authority, full_url)) => {
                let answer =
                    answer.unwrap_or_else(|err| panic!("{target} with Host {host}: {err}"));
                let echo = Echo::of(&answer);
                assert_eq!(
                    echo.str("authority"),
                    authority,
                    "{target} with Host {host}"
                );
                assert_eq!(echo.str("path_with_query"), "/probe/x");
                assert_eq!(echo.component(), "probe", "routed by the path");
                assert_eq!(
                    echo.header("spin-full-url"),
                    full_url,
                    "{target} with Host {host}"
                );
                assert_eq!(echo.header_values("host"), Vec::<String>::new());
            }
        }
    }
}

#[test]
fn guest_does_not_see_host_header() {
    let app = start_conformance_app();
    let echo = echo(&app, "/probe/x");
    assert_eq!(echo.header_values("host"), Vec::<String>::new());
}

#[test]
fn client_spin_headers_pass_through_before_spins_own() {
    let app = start_conformance_app();
    let echo = Echo::of(&app.request("GET", "/probe/a", &[("spin-path-info", "/spoofed")], ""));
    assert_eq!(echo.header_values("spin-path-info"), ["/spoofed", "/a"]);
}

#[test]
fn exact_route_beats_wildcard_declared_before_it() {
    let app = start_conformance_app();
    assert_eq!(echo(&app, "/probe/target-exact").component(), "exact");
    assert_eq!(echo(&app, "/probe/target-exact/more").component(), "probe");
}

#[test]
fn exact_route_beats_wildcard_of_same_path() {
    let app = start_conformance_app();
    assert_eq!(route_serving(&app, "/routes/a"), "/routes/a");
}

#[test]
fn param_route_beats_wildcard() {
    let app = start_conformance_app();
    assert_eq!(route_serving(&app, "/routes/a/7"), "/routes/a/:id");
    assert_eq!(route_serving(&app, "/routes/foo"), "/routes/:x");
}

#[test]
fn literal_segment_beats_param_segment() {
    let app = start_conformance_app();
    assert_eq!(route_serving(&app, "/routes/a/b"), "/routes/a/b/...");
    assert_eq!(route_serving(&app, "/routes/one"), "/routes/one/...");
}

#[test]
fn longer_wildcard_beats_shorter_wildcard() {
    let app = start_conformance_app();
    assert_eq!(
        route_serving(&app, "/routes/one/two/three"),
        "/routes/one/two/..."
    );
    assert_eq!(route_serving(&app, "/routes/one/other"), "/routes/one/...");
}

#[test]
fn wildcard_catches_paths_params_cannot() {
    let app = start_conformance_app();
    assert_eq!(route_serving(&app, "/routes/a/x/y"), "/routes/a/...");
    assert_eq!(route_serving(&app, "/routes/zzz/y"), "/routes/...");
}

#[test]
fn matching_ignores_query_and_surrounding_slashes() {
    let app = start_conformance_app();
    assert_eq!(route_serving(&app, "/routes/a?q=/x/y"), "/routes/a");
    assert_eq!(route_serving(&app, "/routes/a/"), "/routes/a");
    assert_eq!(route_serving(&app, "/routes/a///"), "/routes/a");
    assert_eq!(route_serving(&app, "//routes/a"), "/routes/a");
}

#[test]
fn matching_is_case_sensitive() {
    let app = start_conformance_app();
    assert_eq!(app.get("/ROUTES/a").status, 404);
}

#[test]
fn wildcard_does_not_match_longer_segment() {
    let app = start_conformance_app();
    assert_eq!(app.get("/probex").status, 404);
}

#[test]
fn unrouted_path_is_404_with_empty_body() {
    let app = start_conformance_app();
    let response = app.get("/nowhere");
    assert_eq!(response.status, 404);
    assert!(response.body.is_empty(), "body: {:?}", response.text());
    assert_eq!(response.header("content-type"), None);
}

#[test]
fn catch_all_route_serves_root_and_unmatched_paths() {
    let (_dir, app) = start_manifest(
        r#"
spin_manifest_version = 2
[application]
name = "catch-all"
[[trigger.http]]
route = "/..."
component = "probe"
[[trigger.http]]
route = "/exact"
component = "probe"
[component.probe]
source = "{probe}"
"#,
    );
    let root = echo(&app, "/");
    assert_eq!(root.header("spin-path-info"), "/");
    assert_eq!(root.header("spin-matched-route"), "/...");
    assert_eq!(root.header("spin-component-route"), "");
    let more = echo(&app, "/exact/more");
    assert_eq!(more.header("spin-raw-component-route"), "/...");
    assert_eq!(more.header("spin-path-info"), "/exact/more");
    assert_eq!(route_serving(&app, "/exact"), "/exact");
}

#[test]
fn duplicate_route_logs_warning_and_last_declaration_wins() {
    let (_dir, app) = start_manifest(
        r#"
spin_manifest_version = 2
[application]
name = "duplicates"
[[trigger.http]]
route = "/dup"
component = "first"
[[trigger.http]]
route = "/dup"
component = "second"
[component.first]
source = "{probe}"
environment = { PROBE_COMPONENT = "first" }
[component.second]
source = "{probe}"
environment = { PROBE_COMPONENT = "second" }
"#,
    );
    assert_eq!(echo(&app, "/dup").component(), "second");
    let output = app.stderr();
    assert!(
        output.contains("duplicate"),
        "no duplicate warning; output:\n{output}"
    );
    assert!(
        output.contains("first: /dup (duplicate of second)"),
        "warning should name the duplicate; output:\n{output}"
    );
}

// ---------------------------------------------------------------------------
// Runtime-handled endpoints

#[test]
fn health_endpoint_answers_ok() {
    let app = start_conformance_app();
    let response = app.get("/.well-known/spin/health");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "OK");
}

#[test]
fn info_endpoint_reports_app_name_and_version() {
    let app = start_conformance_app();
    let response = app.get("/.well-known/spin/info");
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json")));
    let info = response.json();
    assert_eq!(info["name"], "conformance");
    assert_eq!(info["version"], "1.2.3");
}

#[test]
fn other_well_known_spin_paths_are_404() {
    let app = start_conformance_app();
    let response = app.get("/.well-known/spin/nope");
    assert_eq!(response.status, 404);
    assert!(response.body.is_empty(), "body: {:?}", response.text());
}
