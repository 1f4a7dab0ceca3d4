//! End-to-end tests of the API gateway's edge rules (components/gateway): per-key rate limits in
//! fixed wall-clock windows (shortened with `rate_limit_window_seconds` where a test waits for
//! the next one), CORS, the body size limit, request ids, and the answers for unknown
//! or unreachable services. Each test starts its own app. In the composed topology the edge
//! adds its headers only to the answers it makes itself (refusals, preflights), so on the
//! service's answers the tests count statuses instead of reading `ratelimit-remaining`.
//!
//! Needs every component built (`cargo xtask build`).

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::{
    assert_error, eventually, eventually_contains, main_app_spec, now_millis, Credentials, TestApp,
    TestResponse, Topology, JSON, SERVICES, TEST_ADMIN_TOKEN,
};
use serde_json::{json, Value};

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// Rate limits

/// The rate-limit window the tests that wait for a new window start the app with
/// (`rate_limit_window_seconds`), so none waits for a real minute.
const SHORT_WINDOW_SECONDS: i64 = 3;
/// The gateway's default window: a wall-clock minute.
const MINUTE_SECONDS: i64 = 60;

/// Milliseconds until the next window of `seconds` starts: windows are counted from the epoch.
fn millis_to_next_window(seconds: i64) -> i64 {
    seconds * 1000 - now_millis().rem_euclid(seconds * 1000)
}

/// Runs `run` with a new key of `rate` per window until a run starts and ends in the same
/// window of `seconds` (so every request of it fell in one window); at most three times, since
/// a run that straddles a window's end leaves the next run a whole window. Returns the key and
/// the run's result.
fn in_one_window<T>(
    app: &TestApp,
    seconds: i64,
    rate: u32,
    run: impl Fn(&str) -> T,
) -> (String, T) {
    for attempt in 1..=3 {
        let (_, key) = app.create_key(
            &format!("limited-{attempt}"),
            &["support:read", "support:write"],
            rate,
        );
        let window = now_millis().div_euclid(seconds * 1000);
        let result = run(&key);
        if now_millis().div_euclid(seconds * 1000) == window {
            return (key, result);
        }
    }
    panic!("three runs each straddled a window's end");
}

fn remaining(response: &TestResponse) -> u32 {
    response
        .header("ratelimit-remaining")
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no numeric ratelimit-remaining: {:?}", response.headers))
}

#[test]
fn a_key_over_its_rate_gets_429_until_the_next_window() {
    let window = format!("rate_limit_window_seconds={SHORT_WINDOW_SECONDS}");
    let app = TestApp::start_main_app_with(&["--variable", &window]);
    let customer = json!({"name": "Ada", "email": "ada@example.com", "tier": "pro"}).to_string();
    let (key, (passed, refused, refused_at, millis_left)) =
        in_one_window(&app, SHORT_WINDOW_SECONDS, 3, |key| {
            let passed: Vec<TestResponse> = (0..3)
                .map(|_| app.get_as(Credentials::Key(key), "/support/tickets"))
                .collect();
            // The 4th is a write, so that the service not seeing it can be checked.
            let refused = app.request_as(
                Credentials::Key(key),
                "PUT",
                "/support/customers/c-1",
                &[("content-type", JSON)],
                customer.clone(),
            );
            let millis_left = millis_to_next_window(SHORT_WINDOW_SECONDS);
            (passed, refused, Instant::now(), millis_left)
        });
    for (i, response) in passed.iter().enumerate() {
        assert_eq!(
            response.status,
            200,
            "request {}: {}",
            i + 1,
            response.text()
        );
        if Topology::current().decorates_answers() {
            assert_eq!(response.header("ratelimit-limit"), Some("3"));
            assert_eq!(remaining(response), 2 - i as u32);
        }
    }
    assert_error(&refused, 429, &[]);
    assert!(
        refused.header("x-request-id").is_some(),
        "{:?}",
        refused.headers
    );
    assert_eq!(refused.header("ratelimit-limit"), Some("3"));
    assert_eq!(remaining(&refused), 0);
    let retry_after: i64 = refused
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no numeric retry-after: {:?}", refused.headers));
    assert!(
        (1..=SHORT_WINDOW_SECONDS).contains(&retry_after),
        "retry-after {retry_after}"
    );
    // Seconds to the window's end, rounded up, give or take the clock ticking meanwhile.
    let expected = (millis_left + 999) / 1000;
    assert!(
        (retry_after - expected).abs() <= 1,
        "retry-after {retry_after}, but the window ends in {millis_left} ms"
    );
    assert_eq!(
        app.get("/support/customers/c-1").status,
        404,
        "the refused write was not made"
    );

    // Retry-After is the truth: by the time it has passed, a new window has started.
    let promised = refused_at + Duration::from_millis(retry_after as u64 * 1000 + 100);
    let next = eventually(
        promised.saturating_duration_since(Instant::now()),
        "a request of the next window passes",
        || {
            let response = app.get_as(Credentials::Key(&key), "/support/tickets");
            match response.status {
                200 => Ok(response),
                status => Err(format!("{status} {}", response.text())),
            }
        },
    );
    if Topology::current().decorates_answers() {
        assert_eq!(remaining(&next), 2);
    }
}

#[test]
fn concurrent_requests_over_the_limit_get_exactly_the_limit() {
    const LIMIT: usize = 5;
    const REQUESTS: usize = 24;
    let app = TestApp::start_main_app();
    let (_, responses) = in_one_window(&app, MINUTE_SECONDS, LIMIT as u32, |key| {
        // All requests in flight at once, so the window's count is raced for.
        let start = Barrier::new(REQUESTS);
        thread::scope(|scope| {
            let handles: Vec<_> = (0..REQUESTS)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        app.get_as(Credentials::Key(key), "/support/tickets")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("request thread"))
                .collect::<Vec<TestResponse>>()
        })
    });
    let ok: Vec<&TestResponse> = responses.iter().filter(|r| r.status == 200).collect();
    let limited = responses.iter().filter(|r| r.status == 429).count();
    assert_eq!(
        (ok.len(), limited),
        (LIMIT, REQUESTS - LIMIT),
        "statuses: {:?}",
        responses
            .iter()
            .map(|r| match r.status {
                200 | 429 => r.status.to_string(),
                _ => format!("{} {}", r.status, r.text()),
            })
            .collect::<Vec<_>>()
    );
    for refused in responses.iter().filter(|r| r.status == 429) {
        assert_eq!(remaining(refused), 0);
    }
    if !Topology::current().decorates_answers() {
        return;
    }
    // Each admitted request took its own place in the window.
    let mut left: Vec<u32> = ok.iter().map(|r| remaining(r)).collect();
    left.sort_unstable();
    assert_eq!(left, (0..LIMIT as u32).collect::<Vec<_>>());
}

#[test]
fn each_key_has_its_own_window() {
    let app = TestApp::start_main_app();
    let (_, other) = app.create_key("other", &["support:read"], 1);
    let (_, refused) = in_one_window(&app, MINUTE_SECONDS, 1, |key| {
        let first = app.get_as(Credentials::Key(key), "/support/tickets");
        assert_eq!(first.status, 200, "{}", first.text());
        app.get_as(Credentials::Key(key), "/support/tickets")
    });
    assert_eq!(refused.status, 429, "{}", refused.text());
    // Another key's window is its own: its first request passes.
    let response = app.get_as(Credentials::Key(&other), "/support/tickets");
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn a_rate_window_out_of_range_is_a_misconfigured_gateway() {
    let mut spec = main_app_spec(&["--variable", "rate_limit_window_seconds=0"]);
    // No harness key: making one needs the gateway's settings, which this app cannot load.
    spec.admin_token = None;
    spec.env.push((
        "SPIN_VARIABLE_ADMIN_TOKEN".to_owned(),
        TEST_ADMIN_TOKEN.to_owned(),
    ));
    let app = TestApp::start(spec);
    let response = app.get_as(Credentials::None, "/visits/324");
    assert_error(&response, 500, &["gateway misconfigured"]);
    // The detail is the operator's: logged, not sent.
    assert!(!response.text().contains("rate_limit_window_seconds"));
    eventually_contains(
        || app.stderr(),
        "rate_limit_window_seconds: \"0\" is not 1 to 3600",
    );
}

// ---------------------------------------------------------------------------
// CORS

fn preflight(app: &TestApp, origin: &str, method: &str) -> TestResponse {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", method),
        ("access-control-request-headers", "content-type, if-match"),
    ];
    app.request_as(
        Credentials::None,
        "OPTIONS",
        "/support/customers/c-1",
        &headers,
        Vec::new(),
    )
}

fn assert_preflight_allows(response: &TestResponse, origins: &[&str]) {
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(response.body.is_empty());
    let origin = response.header("access-control-allow-origin");
    assert!(
        origins.iter().any(|o| origin == Some(*o)),
        "allow-origin {origin:?}, expected one of {origins:?}"
    );
    let methods = response
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("PUT"), "allow-methods {methods:?}");
    let headers = response
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers == "*" || (headers.contains("content-type") && headers.contains("if-match")),
        "allow-headers {headers:?}"
    );
    let max_age: u64 = response
        .header("access-control-max-age")
        .and_then(|m| m.parse().ok())
        .expect("a numeric access-control-max-age");
    assert!(max_age > 0);
}

#[test]
fn a_preflight_is_answered_by_the_gateway_without_a_key() {
    let app = TestApp::start_main_app();
    let response = preflight(&app, "https://a.example", "PUT");
    // `cors_origins` is `*` by default: any origin, named or as `*`.
    assert_preflight_allows(&response, &["*", "https://a.example"]);
    assert_eq!(
        app.get("/support/customers/c-1").status,
        404,
        "nothing was written"
    );
}

#[test]
fn with_cors_origins_set_only_those_origins_are_allowed() {
    let app = TestApp::start_main_app_with(&["--variable", "cors_origins=https://a.example"]);
    let allowed = preflight(&app, "https://a.example", "PUT");
    assert_preflight_allows(&allowed, &["https://a.example"]);
    assert_error(&preflight(&app, "https://b.example", "PUT"), 403, &[]);

    // Other answers to an allowed origin say so, and expose the gateway's headers: a refusal
    // in both topologies, the service's own answer where the front sees it (chained).
    let from_a = [("origin", "https://a.example")];
    let refused = app.request_as(Credentials::None, "GET", "/support/tickets", &from_a, "");
    assert_error(&refused, 401, &[]);
    assert_allows_origin(&refused, "https://a.example");
    let response = app.request("GET", "/support/tickets", &from_a, Vec::new());
    assert_eq!(response.status, 200, "{}", response.text());
    if Topology::current().decorates_answers() {
        assert_allows_origin(&response, "https://a.example");
    }
    // ... and never to another one.
    let response = app.request(
        "GET",
        "/support/tickets",
        &[("origin", "https://b.example")],
        Vec::new(),
    );
    let origin = response.header("access-control-allow-origin");
    assert!(
        origin.is_none() || origin == Some("https://a.example"),
        "allow-origin {origin:?} for https://b.example"
    );
}

fn assert_allows_origin(response: &TestResponse, origin: &str) {
    assert_eq!(response.header("access-control-allow-origin"), Some(origin));
    let exposed = response
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("x-request-id"),
        "expose-headers {exposed:?}"
    );
}

// ---------------------------------------------------------------------------
// Body limit

/// A visits bulk load of one row (event 9), padded with spaces to `size` bytes: valid for the
/// service (whose own limit is 4 MiB), so only the gateway can refuse it.
fn padded_load(size: usize) -> Vec<u8> {
    let mut body = json!([{"EventId": "9", "EventDay": 20171012, "EventCount": 1}])
        .to_string()
        .into_bytes();
    body.resize(size, b' ');
    body
}

#[test]
fn a_body_over_1_mib_is_413_and_never_reaches_the_service() {
    let app = TestApp::start_main_app();
    let headers = [("content-type", JSON), ("origin", "https://a.example")];
    let response = app.request("PUT", "/visits", &headers, padded_load(MIB + 1));
    assert_error(&response, 413, &[]);
    // The front's own answer: with its request id and readable cross-origin.
    assert!(
        response.header("x-request-id").is_some(),
        "{:?}",
        response.headers
    );
    let origin = response.header("access-control-allow-origin");
    assert!(
        origin == Some("*") || origin == Some("https://a.example"),
        "allow-origin {origin:?}"
    );
    assert_eq!(app.get_json("/visits/9"), json!([]));

    // Exactly the limit passes.
    let loaded = app.put("/visits", JSON, padded_load(MIB));
    assert_eq!(loaded.status, 200, "{}", loaded.text());
    assert_eq!(loaded.json(), json!({"loaded": 1}));
}

/// The visits service's own body limit, which bounds what the composed edge cannot count.
const VISITS_MAX_BODY: usize = 4 * MIB;

#[test]
fn a_chunked_body_over_1_mib_is_413_too() {
    let app = TestApp::start_main_app();
    // The composed edge only sees a declared length: a streamed body is the service's to bound.
    let over = if Topology::current().counts_streamed_bodies() {
        MIB + 1
    } else {
        VISITS_MAX_BODY + 1
    };
    let response = put_chunked(&app, padded_load(over));
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(app.get_json("/visits/9"), json!([]));
}

/// `PUT /visits` with `body` sent in chunks, with no content-length to trust.
fn put_chunked(app: &TestApp, body: Vec<u8>) -> TestResponse {
    let (_, key) = app.default_key().unwrap();
    let mut request = format!(
        "PUT /visits HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(64 * 1024) {
        request.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    app.raw_request(&request).expect("an answer")
}

// ---------------------------------------------------------------------------
// Request ids

#[test]
fn a_client_request_id_is_echoed_on_every_answer() {
    let app = TestApp::start_main_app();
    let long = "a".repeat(128);
    for id in ["test-123", "A.b:c_9", long.as_str()] {
        let headers = [("x-request-id", id)];
        let mut answers = vec![
            app.request_as(
                Credentials::None,
                "GET",
                "/support/tickets",
                &headers,
                Vec::new(),
            ),
            app.request("GET", "/nowhere", &headers, Vec::new()),
            app.request_as(Credentials::None, "GET", "/services", &headers, Vec::new()),
        ];
        // The service's own answer, where the front sees it.
        if Topology::current().decorates_answers() {
            answers.push(app.request("GET", "/support/tickets", &headers, Vec::new()));
        }
        for response in answers {
            assert_eq!(
                response.header("x-request-id"),
                Some(id),
                "status {}",
                response.status
            );
        }
    }
}

fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn a_missing_or_invalid_request_id_is_replaced_by_a_new_uuid() {
    let app = TestApp::start_main_app();
    let too_long = "a".repeat(129);
    let mut seen = Vec::new();
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[("x-request-id", "")],
        &[("x-request-id", "has space")],
        &[("x-request-id", "<script>")],
        &[("x-request-id", too_long.as_str())],
    ];
    for headers in cases {
        // A refusal is the front's own answer in both topologies; the service's own answer
        // carries the front's id only where the front sees it (chained).
        let mut answers = vec![app.request_as(
            Credentials::None,
            "GET",
            "/support/tickets",
            headers,
            Vec::new(),
        )];
        if Topology::current().decorates_answers() {
            answers.push(app.request("GET", "/support/tickets", headers, Vec::new()));
        }
        for (response, status) in answers.iter().zip([401, 200]) {
            assert_eq!(response.status, status, "{}", response.text());
            let id = response
                .header("x-request-id")
                .unwrap_or_else(|| panic!("no x-request-id, status {}", response.status))
                .to_owned();
            assert!(is_uuid(&id), "{id:?} for {headers:?}");
            assert!(!seen.contains(&id), "{id} twice");
            seen.push(id);
        }
    }
}

// ---------------------------------------------------------------------------
// Unknown and unreachable services

#[test]
fn an_unknown_first_segment_is_404() {
    let app = TestApp::start_main_app();
    for path in ["/billing/invoices", "/nowhere", "/supportx/tickets"] {
        assert_error(&app.get(path), 404, &[]);
        assert_error(&app.get_as(Credentials::None, path), 404, &[]);
    }
}

#[test]
fn a_registered_service_that_cannot_be_reached_is_502() {
    // `ghost` is registered but no component of that id exists.
    // Every real service stays registered: the harness's key holds all their scopes.
    let services = format!("services={},ghost", SERVICES.join(","));
    let app = TestApp::start_main_app_with(&["--variable", &services]);
    let (_, key) = app.create_key("ghost", &["ghost:read"], 10);
    let response = app.get_as(Credentials::Key(&key), "/ghost/anything");
    assert_error(&response, 502, &[]);
    let health = app.get_as(Credentials::None, "/health");
    assert_eq!(health.status, 503, "{}", health.text());
    let report: Value = health.json();
    assert_eq!(report["failing"], json!(["ghost"]), "{report}");
    assert_eq!(report["services"]["ghost"]["status"], "failing", "{report}");
    assert!(report["services"]["ghost"]["error"].is_string(), "{report}");
}
