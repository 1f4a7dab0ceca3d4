//! Host conformance: the behaviours of Spin that our components rely on
//! (see /work/shared/spin-compat.md), checked against a running server with
//! the probe component (tests/components/probe). Runs unchanged against the
//! real Spin (`SPIN_BIN=...`) or our host (default); tests of host-only flags
//! skip themselves on the real Spin.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.
//! The Redis test needs `redis-server` installed.

use std::time::{Duration, Instant};

use integration_tests::{
    is_real_spin, probe_wasm, repo_root, write_file, AppSpec, RedisServer, StartFailure, TestApp,
    TestResponse, UpstreamServer,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Starting the conformance app

const CONFORMANCE_RUNTIME_CONFIG: &str = r#"
[key_value_store.other]
type = "spin"
path = "{tmp}/other_kv.db"

[sqlite_database.probe_db]
type = "spin"
path = "{tmp}/probe_db.db"
"#;

const SECRET_THING: &str = "s3cret";

fn conformance_spec() -> AppSpec {
    probe_wasm();
    AppSpec {
        manifest: repo_root().join("tests/apps/conformance/spin.toml"),
        runtime_config: CONFORMANCE_RUNTIME_CONFIG.to_owned(),
        env: vec![(
            "SPIN_VARIABLE_SECRET_THING".to_owned(),
            SECRET_THING.to_owned(),
        )],
        ..AppSpec::default()
    }
}

fn start_conformance_app() -> TestApp {
    TestApp::start(conformance_spec())
}

/// The conformance app with some change to its spec.
fn start_conformance_app_with(change: impl FnOnce(&mut AppSpec)) -> TestApp {
    let mut spec = conformance_spec();
    change(&mut spec);
    TestApp::start(spec)
}

/// An app from manifest text written into a fresh temp dir; `{probe}` in the
/// text is replaced by the probe's wasm path. The dir lives as long as the
/// returned guard.
fn manifest_in_temp_dir(manifest: &str) -> (tempfile::TempDir, AppSpec) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("spin.toml");
    let probe = probe_wasm();
    write_file(
        &path,
        &manifest.replace("{probe}", probe.to_str().expect("utf-8 path")),
    );
    let spec = AppSpec {
        manifest: path,
        ..AppSpec::default()
    };
    (dir, spec)
}

fn start_manifest(manifest: &str) -> (tempfile::TempDir, TestApp) {
    let (dir, spec) = manifest_in_temp_dir(manifest);
    (dir, TestApp::start(spec))
}

/// Starts an app named "broken" whose manifest is the header plus `body`,
/// expecting startup to fail with a non-zero exit.
fn expect_startup_failure(body: &str) -> StartFailure {
    let manifest = format!("spin_manifest_version = 2\n[application]\nname = \"broken\"\n{body}");
    let (_dir, spec) = manifest_in_temp_dir(&manifest);
    match TestApp::try_start(spec) {
        Ok(app) => panic!(
            "expected startup to fail, but the app became healthy; output:\n{}",
            app.stderr()
        ),
        Err(failure) => {
            let status = failure
                .status
                .unwrap_or_else(|| panic!("server neither exited nor became healthy: {failure}"));
            assert!(
                !status.success(),
                "expected a non-zero exit, got {status}; output:\n{}",
                failure.stderr
            );
            failure
        }
    }
}

fn assert_mentions(failure: &StartFailure, needle: &str) {
    assert!(
        failure.stderr.contains(needle),
        "expected the startup error to mention {needle:?}; output:\n{}",
        failure.stderr
    );
}

// ---------------------------------------------------------------------------
// Talking to the probe

/// The probe's echo of a request: what the component saw.
struct Echo(Value);

impl Echo {
    fn of(response: &TestResponse) -> Echo {
        assert_eq!(response.status, 200, "echo failed: {}", response.text());
        Echo(response.json())
    }

    fn from_json(value: &Value) -> Echo {
        Echo(value.clone())
    }

    /// All values of a header, in the order the component saw them.
    fn header_values(&self, name: &str) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .expect("headers list")
            .iter()
            .filter(|pair| {
                pair[0]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(|pair| pair[1].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The single value of a header; fails if it is absent or repeated.
    fn header(&self, name: &str) -> String {
        let values = self.header_values(name);
        assert_eq!(
            values.len(),
            1,
            "expected exactly one {name:?} header, got {values:?}; echo: {}",
            self.0
        );
        values[0].clone()
    }

    fn str(&self, field: &str) -> &str {
        self.0[field]
            .as_str()
            .unwrap_or_else(|| panic!("echo has no string {field:?}: {}", self.0))
    }

    fn component(&self) -> &str {
        self.str("component")
    }
}

fn echo(app: &TestApp, path: &str) -> Echo {
    Echo::of(&app.get(path))
}

/// The raw route (as written in the manifest) that served `path`.
fn route_serving(app: &TestApp, path: &str) -> String {
    echo(app, path).header("spin-raw-component-route")
}

fn probe_json(response: TestResponse) -> Value {
    assert_eq!(response.status, 200, "probe failed: {}", response.text());
    response.json()
}

fn kv_get(app: &TestApp, label: &str, key: &str) -> Value {
    probe_json(app.get(&format!("/probe/kv/{label}/get/{key}")))
}

fn kv_set(app: &TestApp, label: &str, key: &str, value: &str) -> Value {
    probe_json(app.post(&format!("/probe/kv/{label}/set/{key}"), "text/plain", value))
}

fn kv_delete(app: &TestApp, label: &str, key: &str) -> Value {
    probe_json(app.post(&format!("/probe/kv/{label}/delete/{key}"), "text/plain", ""))
}

fn kv_exists(app: &TestApp, label: &str, key: &str) -> Value {
    probe_json(app.get(&format!("/probe/kv/{label}/exists/{key}")))
}

fn kv_keys(app: &TestApp, label: &str) -> Vec<String> {
    let result = probe_json(app.get(&format!("/probe/kv/{label}/keys")));
    let mut keys: Vec<String> = result["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("keys failed: {result}"))
        .iter()
        .map(|k| k.as_str().expect("string key").to_owned())
        .collect();
    keys.sort();
    keys
}

fn sql(app: &TestApp, label: &str, statement: &str, params: Value) -> Value {
    let body = json!({ "sql": statement, "params": params }).to_string();
    probe_json(app.post(&format!("/probe/sqlite/{label}"), "application/json", body))
}

/// Runs a statement that must succeed; returns its rows.
fn sql_ok(app: &TestApp, label: &str, statement: &str, params: Value) -> Value {
    let result = sql(app, label, statement, params);
    assert!(
        result.get("error").is_none(),
        "{statement:?} failed: {result}"
    );
    result["rows"].clone()
}

fn var(app: &TestApp, name: &str) -> Value {
    probe_json(app.get(&format!("/probe/var/{name}")))
}

/// Makes the probe send an outbound request.
fn fetch(app: &TestApp, url: &str, method: &str, headers: &[&str], body: &str) -> Value {
    let mut path = format!("/probe/fetch?url={}&method={method}", encode(url));
    for header in headers {
        path.push_str(&format!("&header={}", encode(header)));
    }
    probe_json(app.request("POST", &path, &[], body))
}

fn assert_denied(result: &Value) {
    let code = result["code"].as_str().unwrap_or_default();
    assert!(
        code.contains("HttpRequestDenied"),
        "expected HttpRequestDenied, got {result}"
    );
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `read` for up to 10 s until its text contains `needle` (output may
/// reach its file a moment after the response); returns the last text read.
fn eventually_contains(read: impl Fn() -> String, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = read();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn port_of(app: &TestApp) -> &str {
    app.base_url.rsplit(':').next().expect("port in base url")
}

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
    let cases: [(&str, &str, Option<(&str, &str)>); 9] = [
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

// ---------------------------------------------------------------------------
// Instance lifecycle: traps, hangs, memory

#[test]
fn trap_gives_500_with_empty_body_and_next_request_is_served() {
    let app = start_conformance_app();
    let response = app.get("/probe/trap");
    assert_eq!(response.status, 500);
    assert!(response.body.is_empty(), "body: {:?}", response.text());
    assert_eq!(echo(&app, "/probe/after-trap").component(), "probe");
}

#[test]
fn hang_is_cut_off_at_request_timeout_while_host_keeps_serving() {
    if is_real_spin() {
        eprintln!("skipped: --request-timeout is a flag of our host only");
        return;
    }
    let app = start_conformance_app_with(|spec| {
        spec.extra_args
            .extend(["--request-timeout".into(), "2".into()])
    });
    std::thread::scope(|scope| {
        let started = Instant::now();
        let hanging = scope.spawn(|| app.try_request("GET", "/probe/hang", &[], ""));
        let log = eventually_contains(|| app.stderr(), "probe: hang started");
        assert!(
            log.contains("probe: hang started"),
            "the guest never started hanging: {log}"
        );
        assert_eq!(
            echo(&app, "/probe/during-hang").component(),
            "probe",
            "host must serve while a request hangs"
        );
        let response = hanging.join().expect("hang thread");
        let elapsed = started.elapsed();
        let response = response
            .unwrap_or_else(|e| panic!("hung request got no response after {elapsed:?}: {e}"));
        assert!(
            response.status >= 500,
            "hung request: status {}",
            response.status
        );
        assert!(
            elapsed < Duration::from_secs(15),
            "hung request took {elapsed:?}"
        );
    });
    assert_eq!(echo(&app, "/probe/after-hang").component(), "probe");
}

#[test]
fn memory_beyond_instance_limit_gives_500_and_host_survives() {
    let limit = 64 * 1024 * 1024;
    let app = start_conformance_app_with(|spec| {
        spec.extra_args
            .extend(["--max-instance-memory".into(), limit.to_string()])
    });
    let response = app.get("/probe/memory?mb=128");
    assert_eq!(
        response.status,
        500,
        "allocating 128 MiB under a 64 MiB cap: {}",
        response.text()
    );
    let small = probe_json(app.get("/probe/memory?mb=8"));
    assert_eq!(small["ok"], 8);
}

// ---------------------------------------------------------------------------
// Key-value

#[test]
fn kv_get_of_missing_key_is_none() {
    let app = start_conformance_app();
    assert_eq!(kv_get(&app, "default", "missing"), json!({ "ok": null }));
}

#[test]
fn kv_set_then_get_round_trips() {
    let app = start_conformance_app();
    assert_eq!(
        kv_set(&app, "default", "greeting", "hello"),
        json!({ "ok": null })
    );
    assert_eq!(
        kv_get(&app, "default", "greeting"),
        json!({ "ok": "hello" })
    );
}

#[test]
fn kv_set_overwrites_existing_value() {
    let app = start_conformance_app();
    kv_set(&app, "default", "k", "first");
    kv_set(&app, "default", "k", "second");
    assert_eq!(kv_get(&app, "default", "k"), json!({ "ok": "second" }));
}

#[test]
fn kv_delete_removes_key_and_deleting_missing_key_is_ok() {
    let app = start_conformance_app();
    kv_set(&app, "default", "doomed", "x");
    assert_eq!(kv_delete(&app, "default", "doomed"), json!({ "ok": null }));
    assert_eq!(kv_get(&app, "default", "doomed"), json!({ "ok": null }));
    assert_eq!(
        kv_delete(&app, "default", "never-existed"),
        json!({ "ok": null })
    );
}

#[test]
fn kv_exists_reports_presence() {
    let app = start_conformance_app();
    assert_eq!(kv_exists(&app, "default", "k"), json!({ "ok": false }));
    kv_set(&app, "default", "k", "");
    assert_eq!(kv_exists(&app, "default", "k"), json!({ "ok": true }));
}

#[test]
fn kv_get_keys_lists_only_the_labels_keys() {
    let app = start_conformance_app();
    kv_set(&app, "default", "a", "1");
    kv_set(&app, "default", "b", "2");
    kv_set(&app, "other", "c", "3");
    assert_eq!(kv_keys(&app, "default"), ["a", "b"]);
    assert_eq!(kv_keys(&app, "other"), ["c"]);
}

#[test]
fn kv_labels_are_separate_stores() {
    let app = start_conformance_app();
    kv_set(&app, "default", "k", "in default");
    kv_set(&app, "other", "k", "in other");
    assert_eq!(kv_get(&app, "default", "k"), json!({ "ok": "in default" }));
    assert_eq!(kv_get(&app, "other", "k"), json!({ "ok": "in other" }));
}

#[test]
fn kv_undeclared_label_is_access_denied() {
    let app = start_conformance_app();
    let result = kv_get(&app, "not-declared", "k");
    assert_eq!(result["error"], "access-denied", "{result}");
}

#[test]
fn kv_existing_label_not_declared_by_component_is_access_denied() {
    let app = start_conformance_app();
    // The echo component declares no stores; `other` exists for the probe.
    let result = fetch(
        &app,
        "http://echo.spin.internal/probe/kv/other/get/k",
        "GET",
        &[],
        "",
    );
    assert_eq!(result["status"], 200, "{result}");
    let inner: Value =
        serde_json::from_str(result["body"].as_str().unwrap_or_default()).expect("json");
    assert_eq!(inner["error"], "access-denied", "{inner}");
}

#[test]
fn kv_data_persists_across_restart() {
    let mut app = start_conformance_app();
    kv_set(&app, "default", "durable", "yes");
    kv_set(&app, "other", "durable", "also");
    app.kill_hard();
    app.restart();
    assert_eq!(kv_get(&app, "default", "durable"), json!({ "ok": "yes" }));
    assert_eq!(kv_get(&app, "other", "durable"), json!({ "ok": "also" }));
}

#[test]
fn kv_redis_label_stores_in_redis() {
    let redis = RedisServer::start();
    probe_wasm();
    let app = TestApp::start(AppSpec {
        manifest: repo_root().join("tests/apps/redis-kv/spin.toml"),
        runtime_config: format!(
            "[key_value_store.cache]\ntype = \"redis\"\nurl = \"{}\"\n",
            redis.url()
        ),
        ..AppSpec::default()
    });
    assert_eq!(kv_get(&app, "cache", "k"), json!({ "ok": null }));
    assert_eq!(kv_set(&app, "cache", "k", "value"), json!({ "ok": null }));
    assert_eq!(kv_get(&app, "cache", "k"), json!({ "ok": "value" }));
    assert_eq!(kv_exists(&app, "cache", "k"), json!({ "ok": true }));
    assert_eq!(kv_keys(&app, "cache"), ["k"]);
    assert_eq!(
        redis.command("GET k"),
        "$5\r\nvalue\r\n",
        "the value must really be in Redis"
    );
    assert_eq!(kv_delete(&app, "cache", "k"), json!({ "ok": null }));
    assert_eq!(kv_exists(&app, "cache", "k"), json!({ "ok": false }));
    assert_eq!(redis.command("EXISTS k"), ":0\r\n");
}

// ---------------------------------------------------------------------------
// SQLite

#[test]
fn sqlite_values_round_trip_by_storage_class() {
    let app = start_conformance_app();
    sql_ok(
        &app,
        "default",
        "CREATE TABLE t (i INTEGER, r REAL, s TEXT, n, b BLOB)",
        json!([]),
    );
    sql_ok(
        &app,
        "default",
        "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
        json!([-42, 1.5, "text ✓", null, { "blob": [0, 1, 255] }]),
    );
    let result = sql(&app, "default", "SELECT i, r, s, n, b FROM t", json!([]));
    assert_eq!(result["columns"], json!(["i", "r", "s", "n", "b"]));
    assert_eq!(
        result["rows"],
        json!([[-42, 1.5, "text ✓", null, { "blob": [0, 1, 255] }]])
    );
    assert!(
        result["rows"][0][0].is_i64() && result["rows"][0][1].is_f64(),
        "{result}"
    );
}

#[test]
fn sqlite_cell_type_follows_stored_value_not_declared_type() {
    let app = start_conformance_app();
    sql_ok(&app, "default", "CREATE TABLE t (x TEXT)", json!([]));
    sql_ok(&app, "default", "INSERT INTO t VALUES (?)", json!([2.0]));
    let rows = sql_ok(&app, "default", "SELECT x, typeof(x) FROM t", json!([]));
    // TEXT affinity turns the real into text; the value comes back as text.
    assert_eq!(rows, json!([["2.0", "text"]]));
    let rows = sql_ok(&app, "default", "SELECT 2.0, 3", json!([]));
    assert!(rows[0][0].is_f64() && rows[0][1].is_i64(), "{rows}");
}

#[test]
fn sqlite_result_columns_follow_aliases() {
    let app = start_conformance_app();
    let result = sql(&app, "default", "SELECT 1 AS one, 'x' AS letter", json!([]));
    assert_eq!(result["columns"], json!(["one", "letter"]));
    let result = sql(&app, "default", "CREATE TABLE t (x)", json!([]));
    assert_eq!(result, json!({ "columns": [], "rows": [] }));
}

#[test]
fn sqlite_bad_statement_is_io_error() {
    let app = start_conformance_app();
    let result = sql(&app, "default", "SELEC 1", json!([]));
    assert_eq!(result["error"], "io", "{result}");
    assert!(
        result["message"]
            .as_str()
            .unwrap_or_default()
            .contains("syntax error"),
        "{result}"
    );
}

#[test]
fn sqlite_wrong_parameter_count_is_io_error() {
    let app = start_conformance_app();
    let result = sql(&app, "default", "SELECT ?, ?", json!([1]));
    assert_eq!(result["error"], "io", "{result}");
}

#[test]
fn sqlite_runs_only_the_first_statement() {
    let app = start_conformance_app();
    assert_eq!(
        sql_ok(&app, "default", "SELECT 1; SELECT 2", json!([])),
        json!([[1]])
    );
    sql_ok(
        &app,
        "default",
        "CREATE TABLE t (x); INSERT INTO t VALUES (1)",
        json!([]),
    );
    assert_eq!(
        sql_ok(&app, "default", "SELECT count(*) FROM t", json!([])),
        json!([[0]])
    );
}

#[test]
fn sqlite_attach_of_file_is_not_authorized() {
    let app = start_conformance_app();
    let file = app.temp_dir().join("attached.db");
    let statement = format!("ATTACH DATABASE '{}' AS other", file.display());
    let result = sql(&app, "default", &statement, json!([]));
    assert_eq!(result["error"], "io", "{result}");
    assert!(
        result["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not authorized"),
        "{result}"
    );
    assert!(!file.exists(), "the attached file must not be created");
}

#[test]
fn sqlite_undeclared_label_is_access_denied() {
    let app = start_conformance_app();
    let result = sql(&app, "not_declared", "SELECT 1", json!([]));
    assert_eq!(result["error"], "access-denied", "{result}");
}

#[test]
fn sqlite_default_not_declared_by_component_is_access_denied() {
    let app = start_conformance_app();
    let body = json!({ "sql": "SELECT 1", "params": [] }).to_string();
    let result = fetch(
        &app,
        "http://echo.spin.internal/probe/sqlite/default",
        "POST",
        &[],
        &body,
    );
    assert_eq!(result["status"], 200, "{result}");
    let inner: Value =
        serde_json::from_str(result["body"].as_str().unwrap_or_default()).expect("json");
    assert_eq!(inner["error"], "access-denied", "{inner}");
}

#[test]
fn sqlite_labels_are_separate_databases() {
    let app = start_conformance_app();
    sql_ok(
        &app,
        "default",
        "CREATE TABLE only_in_default (x)",
        json!([]),
    );
    let result = sql(&app, "probe_db", "SELECT * FROM only_in_default", json!([]));
    assert_eq!(result["error"], "io", "{result}");
}

#[test]
fn sqlite_data_persists_across_restart() {
    let mut app = start_conformance_app();
    for label in ["default", "probe_db"] {
        sql_ok(&app, label, "CREATE TABLE t (x TEXT)", json!([]));
        sql_ok(
            &app,
            label,
            "INSERT INTO t VALUES (?)",
            json!([format!("kept in {label}")]),
        );
    }
    app.kill_hard();
    app.restart();
    for label in ["default", "probe_db"] {
        assert_eq!(
            sql_ok(&app, label, "SELECT x FROM t", json!([])),
            json!([[format!("kept in {label}")]])
        );
    }
}

#[test]
fn sqlite_concurrent_writers_never_see_database_is_locked() {
    const WRITERS: usize = 16;
    const WRITES_EACH: usize = 10;
    let app = start_conformance_app();
    sql_ok(
        &app,
        "default",
        "CREATE TABLE hits (writer INTEGER, n INTEGER)",
        json!([]),
    );
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let app = &app;
            scope.spawn(move || {
                for n in 0..WRITES_EACH {
                    // A transaction spanning two statements holds the write
                    // lock across calls, which is where `database is locked`
                    // shows up without a busy timeout.
                    let batch = json!({ "batch": [
                        { "sql": "BEGIN IMMEDIATE" },
                        { "sql": "INSERT INTO hits VALUES (?, ?)", "params": [writer, n] },
                        { "sql": "SELECT count(*) FROM hits" },
                        { "sql": "COMMIT" },
                    ]});
                    let result = probe_json(app.post(
                        "/probe/sqlite/default",
                        "application/json",
                        batch.to_string(),
                    ));
                    let results = result["results"].as_array().expect("batch results");
                    assert!(
                        results.len() == 4 && results.iter().all(|r| r.get("error").is_none()),
                        "writer {writer} write {n}: {result}"
                    );
                }
            });
        }
    });
    let rows = sql_ok(&app, "default", "SELECT count(*) FROM hits", json!([]));
    assert_eq!(rows, json!([[WRITERS * WRITES_EACH]]));
}

// ---------------------------------------------------------------------------
// Variables

#[test]
fn variable_without_override_uses_manifest_default() {
    let app = start_conformance_app();
    assert_eq!(var(&app, "plain"), json!({ "ok": "plain" }));
}

#[test]
fn variable_template_is_rendered() {
    let app = start_conformance_app();
    assert_eq!(var(&app, "greeting_line"), json!({ "ok": "hello, world" }));
}

#[test]
fn required_variable_comes_from_spin_variable_env() {
    let app = start_conformance_app();
    assert_eq!(var(&app, "secret"), json!({ "ok": SECRET_THING }));
}

#[test]
fn spin_variable_env_overrides_default() {
    let app = start_conformance_app_with(|spec| {
        spec.env
            .push(("SPIN_VARIABLE_GREETING".into(), "hi".into()))
    });
    assert_eq!(var(&app, "greeting_line"), json!({ "ok": "hi, world" }));
}

#[test]
fn runtime_config_provider_overrides_env() {
    let app = start_conformance_app_with(|spec| {
        spec.env
            .push(("SPIN_VARIABLE_GREETING".into(), "hi".into()));
        spec.runtime_config.push_str(
            "\n[[variables_provider]]\ntype = \"static\"\nvalues = { greeting = \"bonjour\" }\n",
        );
    });
    assert_eq!(
        var(&app, "greeting_line"),
        json!({ "ok": "bonjour, world" })
    );
}

#[test]
fn variable_not_declared_by_component_is_undefined() {
    let app = start_conformance_app();
    let result = var(&app, "not_declared");
    assert_eq!(result["error"], "undefined", "{result}");
}

#[test]
fn app_variable_without_component_entry_is_undefined() {
    let app = start_conformance_app();
    // `greeting` is an app variable, but guests only see component variables.
    let result = var(&app, "greeting");
    assert_eq!(result["error"], "undefined", "{result}");
}

#[test]
fn malformed_variable_name_is_invalid_name() {
    let app = start_conformance_app();
    let result = var(&app, "Bad-Name");
    assert_eq!(result["error"], "invalid-name", "{result}");
}

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

// ---------------------------------------------------------------------------
// Environment and guest output

#[test]
fn manifest_environment_reaches_guest() {
    let app = start_conformance_app();
    let result = probe_json(app.get("/probe/env?name=PROBE_ENV"));
    assert_eq!(result, json!({ "ok": "from the manifest" }));
}

#[test]
fn server_process_environment_does_not_leak_into_guest() {
    let app = start_conformance_app_with(|spec| {
        spec.env.push(("PROBE_LEAK_CHECK".into(), "leaked".into()))
    });
    let result = probe_json(app.get("/probe/env?name=PROBE_LEAK_CHECK"));
    assert_eq!(result, json!({ "ok": null }));
}

#[test]
fn guest_output_is_printed_by_the_server() {
    let app = start_conformance_app();
    probe_json(app.get("/probe/log?text=marker-7f3a"));
    let output = eventually_contains(|| app.stderr(), "marker-7f3a");
    assert!(output.contains("marker-7f3a"), "output:\n{output}");
}

#[test]
fn guest_output_is_logged_per_component_in_state_dir() {
    let app = start_conformance_app();
    probe_json(app.get("/probe/log?text=logged-9b2c"));
    let logs = app.state_dir().join("logs");
    for file in ["probe_stdout.txt", "probe_stderr.txt"] {
        let text = eventually_contains(
            || std::fs::read_to_string(logs.join(file)).unwrap_or_default(),
            "logged-9b2c",
        );
        assert!(text.contains("logged-9b2c"), "{file}: {text:?}");
    }
}

// ---------------------------------------------------------------------------
// Startup failures (each manifest is an otherwise valid app with one defect)

#[test]
fn trigger_naming_unknown_component_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "ghost"
[component.probe]
source = "{probe}"
"#,
    );
    assert_mentions(&failure, "ghost");
}

#[test]
fn missing_component_source_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "lost-source"
[component.lost-source]
source = "does-not-exist.wasm"
"#,
    );
    assert_mentions(&failure, "lost-source");
}

#[test]
fn unnamed_route_param_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/:"
component = "probe"
[component.probe]
source = "{probe}"
"#,
    );
    assert_mentions(&failure, "params must be named");
}

#[test]
fn undefined_sqlite_label_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
sqlite_databases = ["ghost_db"]
"#,
    );
    assert_mentions(&failure, "ghost_db");
}

#[test]
fn undefined_kv_label_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
key_value_stores = ["ghost-store"]
"#,
    );
    assert_mentions(&failure, "ghost-store");
}

#[test]
fn required_variable_without_value_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[variables]
api_token = { required = true }
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
[component.probe.variables]
token = "{{ api_token }}"
"#,
    );
    assert_mentions(&failure, "api_token");
}

#[test]
fn component_variable_naming_undeclared_app_variable_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
[component.probe.variables]
token = "{{ nowhere_declared }}"
"#,
    );
    assert_mentions(&failure, "nowhere_declared");
}

#[test]
fn unknown_manifest_key_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
colour = "blue"
"#,
    );
    assert_mentions(&failure, "colour");
}

// ---------------------------------------------------------------------------
// Stopping (host-only: Spin gives no drain guarantee)

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    if is_real_spin() {
        eprintln!(
            "skipped: the drain on SIGTERM (in-flight requests finish, exit 0) is our host's \
             own promise; spin-compat records no such behaviour of Spin's"
        );
        return;
    }
    use std::io::{Read, Write};
    use std::sync::mpsc;

    // An upstream that answers only when released, so the test knows the
    // request is inside the host when the signal arrives.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let port = listener.local_addr().expect("upstream addr").port();
    let (arrived_tx, arrived_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let upstream = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("upstream accept");
        let mut head = [0u8; 8192];
        let _ = stream.read(&mut head);
        arrived_tx.send(()).expect("test is waiting");
        release_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("released");
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nfinished",
        );
    });

    let mut app = start_conformance_app();
    let url = app.url(&format!("/probe/fetch?url=http://127.0.0.1:{port}/slow"));
    let client = std::thread::spawn(move || {
        let mut response = ureq::get(&url)
            .call()
            .expect("in-flight request is answered");
        response.body_mut().read_to_string().expect("body")
    });
    arrived_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("request reached the upstream");
    app.terminate();
    // Release the upstream only once the host has stopped accepting, so the
    // request is still in flight while the host is shutting down.
    let addr = app.base_url.trim_start_matches("http://").to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "host still accepting 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    release_tx.send(()).expect("upstream is waiting");

    let body = client.join().expect("client thread");
    assert!(body.contains("finished"), "in-flight response: {body}");
    let status = app
        .wait_exit(Duration::from_secs(20))
        .expect("host exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(app.stderr().contains("Shutting down"), "{}", app.stderr());
    upstream.join().expect("upstream thread");
}

// ---------------------------------------------------------------------------
// Metrics (host-only: `--metrics-listen`)

/// A sample line of `/metrics`: (name, labels, value).
type Sample = (String, Vec<(String, String)>, f64);

/// One scrape of `/metrics`: its sample lines.
struct Scrape(Vec<Sample>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("sample has a value");
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, labels.trim_end_matches('}')),
                    None => (series, ""),
                };
                let labels = labels
                    .split(',')
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').expect("label is k=\"v\"");
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                let value = value
                    .parse()
                    .unwrap_or_else(|_| panic!("value in {line:?}"));
                (name.to_owned(), labels, value)
            })
            .collect();
        Scrape(samples)
    }

    /// The value of the one sample `name` whose labels are exactly `labels`
    /// (any order); 0 if there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<f64> = self
            .0
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && l.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, value)| *value)
            .collect();
        assert!(matching.len() <= 1, "{name} {labels:?} is ambiguous");
        matching.first().copied().unwrap_or(0.0)
    }
}

/// `GET url` of a metrics listener: an OpenMetrics text, parsed.
fn scrape(url: &str) -> Scrape {
    let response = integration_tests::http_get(url);
    assert_eq!(response.status, 200, "{}", response.text());
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "content-type {content_type:?}"
    );
    let text = response.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(&text)
}

#[test]
fn metrics_listener_counts_invocations_responses_traps_and_store_operations() {
    if is_real_spin() {
        eprintln!("skipped: --metrics-listen is a flag of our host only");
        return;
    }
    let metrics_port = integration_tests::free_port();
    let app = start_conformance_app_with(|spec| {
        spec.extra_args.extend([
            "--metrics-listen".into(),
            format!("127.0.0.1:{metrics_port}"),
        ])
    });
    let base = format!("http://127.0.0.1:{metrics_port}");
    assert!(
        app.stderr()
            .contains(&format!("Serving metrics on {base}/metrics")),
        "{}",
        app.stderr()
    );
    let url = format!("{base}/metrics");
    let before = scrape(&url);

    // probe: a 200 (echo), a trap (500), a chained call to echo, one KV
    // set and get, one SQLite statement: 6 invocations, 5 of them 2xx.
    assert_eq!(echo(&app, "/probe/metrics").component(), "probe");
    assert_eq!(app.get("/probe/trap").status, 500);
    let chained = fetch(&app, "http://echo.spin.internal/chained", "GET", &[], "");
    assert_eq!(chained["status"], 200, "{chained}");
    assert_eq!(
        kv_set(&app, "default", "metrics-key", "v"),
        json!({ "ok": null })
    );
    assert_eq!(kv_get(&app, "default", "metrics-key"), json!({ "ok": "v" }));
    sql_ok(&app, "probe_db", "SELECT 1", json!([]));
    // Not a component invocation: the router's own 404.
    assert_eq!(app.get("/nowhere").status, 404);

    let after = scrape(&url);
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    // Per component: (component, `spin_component_<metric>`, response class, change).
    for (component, metric, class, want) in [
        ("probe", "invocations_total", None, 6.0),
        ("probe", "responses_total", Some("2xx"), 5.0),
        ("probe", "responses_total", Some("5xx"), 1.0),
        ("probe", "responses_total", Some("4xx"), 0.0),
        ("probe", "traps_total", None, 1.0),
        ("probe", "duration_seconds_count", None, 6.0),
        ("probe", "instantiation_seconds_count", None, 6.0),
        ("echo", "invocations_total", None, 1.0),
        ("echo", "responses_total", Some("2xx"), 1.0),
        ("echo", "traps_total", None, 0.0),
    ] {
        let mut labels = vec![("component", component)];
        labels.extend(class.map(|class| ("class", class)));
        let name = format!("spin_component_{metric}");
        assert_eq!(delta(&name, &labels), want, "{name} {labels:?}");
    }
    // The probe's store operations: (store kind, label, operation, change).
    for (kind, label, operation, want) in [
        ("key_value", "default", "open", 2.0),
        ("key_value", "default", "set", 1.0),
        ("key_value", "default", "get", 1.0),
        ("key_value", "default", "delete", 0.0),
        ("sqlite", "probe_db", "open", 1.0),
        ("sqlite", "probe_db", "execute", 1.0),
    ] {
        let labels = [
            ("component", "probe"),
            ("store", kind),
            ("label", label),
            ("operation", operation),
        ];
        let got = delta("spin_store_operations_total", &labels);
        assert_eq!(got, want, "{kind} {label} {operation}");
    }
    let duration_sum = delta(
        "spin_component_duration_seconds_sum",
        &[("component", "probe")],
    );
    assert!(duration_sum > 0.0, "duration sum moved");
    // Series of declared but unused stores exist from the start.
    assert!(after
        .0
        .iter()
        .any(|(n, l, _)| n == "spin_store_operations_total"
            && l.iter().any(|(k, v)| k == "label" && v == "other")));

    let other = integration_tests::http_get(&format!("{base}/other"));
    assert_eq!(other.status, 404);
}

#[test]
fn metrics_listener_is_off_by_default() {
    if is_real_spin() {
        eprintln!("skipped: --metrics-listen is a flag of our host only");
        return;
    }
    let app = start_conformance_app();
    assert!(
        !app.stderr().contains("Serving metrics"),
        "{}",
        app.stderr()
    );
    let help = std::process::Command::new(integration_tests::server_binary())
        .args(["up", "--help"])
        .output()
        .expect("spin-host up --help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--metrics-listen"), "{help}");
}
