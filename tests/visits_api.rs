//! End-to-end tests of the visits service (components/visits) on a running server: our host by
//! default, the real Spin with `SPIN_BIN=...`. Each test starts its own app with a fresh database.
//!
//! Needs the component built: `cargo build --target wasm32-wasip2 --release -p visits`.

use integration_tests::{
    assert_error, now_millis, utc_date_yyyymmdd, Credentials, TestApp, Topology,
};
use serde_json::{json, Value};

const SAMPLE_JSON: &str = include_str!("../components/visits/fixtures/sample.json");
const SAMPLE_CSV: &str = include_str!("../components/visits/fixtures/sample.csv");
const SAMPLE_ROWS: u64 = 9;

/// The main app with the sample fixture loaded (as JSON).
fn start_with_sample() -> TestApp {
    let app = TestApp::start_main_app();
    let loaded = app.put("/visits", "application/json", SAMPLE_JSON);
    assert_eq!(loaded.status, 200, "loading the sample: {}", loaded.text());
    assert_eq!(loaded.json(), json!({ "loaded": SAMPLE_ROWS }));
    app
}

fn row(event_id: &str, day: u32, count: u64) -> Value {
    json!({ "EventId": event_id, "EventDay": day, "EventCount": count })
}

/// The rows a GET returns, asserting it succeeded.
fn rows(app: &TestApp, path: &str) -> Value {
    app.get_json(path)
}

fn event_324_rows() -> Value {
    json!([
        row("324", 20171010, 2),
        row("324", 20171012, 10),
        row("324", 20171013, 10),
        row("324", 20171014, 6),
        row("324", 20171016, 6),
        row("324", 20171017, 2),
    ])
}

fn event_300_rows() -> Value {
    json!([
        row("300", 20171011, 1),
        row("300", 20171013, 3),
        row("300", 20171014, 30)
    ])
}

/// Today's date in UTC as YYYYMMDD.
fn today_utc() -> u32 {
    utc_date_yyyymmdd(now_millis())
}

// ---------------------------------------------------------------------------
// Reading

#[test]
fn a_json_load_then_get_returns_each_events_rows_by_day() {
    let app = start_with_sample();
    assert_eq!(rows(&app, "/visits/324"), event_324_rows());
    assert_eq!(rows(&app, "/visits/300"), event_300_rows());
}

#[test]
fn a_csv_load_then_get_returns_each_events_rows_by_day() {
    let app = TestApp::start_main_app();
    let loaded = app.put("/visits", "text/csv", SAMPLE_CSV);
    assert_eq!(loaded.status, 200, "{}", loaded.text());
    assert_eq!(loaded.json(), json!({ "loaded": SAMPLE_ROWS }));
    assert_eq!(rows(&app, "/visits/324"), event_324_rows());
    assert_eq!(rows(&app, "/visits/300"), event_300_rows());
}

#[test]
fn start_date_keeps_days_on_or_after_it() {
    let app = start_with_sample();
    let expected = json!([
        row("324", 20171013, 10),
        row("324", 20171014, 6),
        row("324", 20171016, 6),
        row("324", 20171017, 2),
    ]);
    assert_eq!(rows(&app, "/visits/324?startDate=20171013"), expected);
}

#[test]
fn end_date_keeps_days_on_or_before_it() {
    let app = start_with_sample();
    let expected = json!([
        row("324", 20171010, 2),
        row("324", 20171012, 10),
        row("324", 20171013, 10)
    ]);
    assert_eq!(rows(&app, "/visits/324?endDate=20171013"), expected);
}

#[test]
fn start_and_end_dates_together_keep_the_days_between() {
    let app = start_with_sample();
    let expected = json!([
        row("324", 20171012, 10),
        row("324", 20171013, 10),
        row("324", 20171014, 6)
    ]);
    assert_eq!(
        rows(&app, "/visits/324?startDate=20171011&endDate=20171014"),
        expected
    );
}

#[test]
fn unknown_query_parameters_are_ignored() {
    let app = start_with_sample();
    assert_eq!(
        rows(&app, "/visits/300?foo=bar&startDate=20171013&x"),
        json!([row("300", 20171013, 3), row("300", 20171014, 30)])
    );
}

#[test]
fn an_unknown_event_id_has_no_rows() {
    let app = start_with_sample();
    assert_eq!(rows(&app, "/visits/999"), json!([]));
    assert_eq!(
        rows(&app, &format!("/visits/{}", "9".repeat(20))),
        json!([])
    );
}

#[test]
fn a_non_digit_event_id_is_not_found() {
    let app = TestApp::start_main_app();
    assert_error(&app.get("/visits/abc"), 404, &["event id", "abc"]);
    assert_error(&app.get("/visits/12a"), 404, &["event id"]);
}

#[test]
fn a_21_digit_event_id_is_not_found() {
    let app = TestApp::start_main_app();
    assert_error(
        &app.get(&format!("/visits/{}", "1".repeat(21))),
        404,
        &["event id"],
    );
}

#[test]
fn an_impossible_date_is_unprocessable_and_a_malformed_one_a_bad_request() {
    let app = TestApp::start_main_app();
    // Well-formed but no calendar day: 422 (the contract's schema cannot say so); not YYYYMMDD: 400.
    assert_error(
        &app.get("/visits/324?startDate=20170230"),
        422,
        &["startDate", "20170230"],
    );
    assert_error(
        &app.get("/visits/324?endDate=2017-10-12"),
        400,
        &["endDate"],
    );
}

#[test]
fn a_start_date_after_the_end_date_is_unprocessable() {
    let app = TestApp::start_main_app();
    assert_error(
        &app.get("/visits/324?startDate=20171014&endDate=20171012"),
        422,
        &["startDate", "endDate"],
    );
}

// ---------------------------------------------------------------------------
// Recording visits

#[test]
fn posting_without_a_body_adds_one_visit_today() {
    let app = TestApp::start_main_app();
    let before = today_utc();
    let posted = app.post("/visits/77", "application/json", "");
    let after = today_utc();
    assert_eq!(posted.status, 200, "{}", posted.text());
    let day = posted.json()["EventDay"].as_u64().expect("EventDay") as u32;
    assert!(
        day == before || day == after,
        "EventDay {day} is not today ({before})"
    );
    assert_eq!(posted.json(), row("77", day, 1));
    assert_eq!(
        app.post("/visits/77", "application/json", "").json(),
        row("77", day, 2)
    );
    assert_eq!(rows(&app, "/visits/77"), json!([row("77", day, 2)]));
}

#[test]
fn posting_a_day_and_count_adds_to_that_day_and_returns_the_row() {
    let app = start_with_sample();
    let posted = app.post(
        "/visits/324",
        "application/json",
        r#"{"EventDay": 20171012, "EventCount": 5}"#,
    );
    assert_eq!(posted.status, 200, "{}", posted.text());
    assert_eq!(posted.json(), row("324", 20171012, 15));
    let posted = app.post(
        "/visits/324",
        "application/json",
        r#"{"EventDay": 20171011, "EventCount": 4}"#,
    );
    assert_eq!(posted.json(), row("324", 20171011, 4));
    let days = rows(&app, "/visits/324?startDate=20171011&endDate=20171012");
    assert_eq!(
        days,
        json!([row("324", 20171011, 4), row("324", 20171012, 15)])
    );
}

#[test]
fn posting_a_count_outside_one_to_a_million_is_a_bad_request() {
    let app = start_with_sample();
    for count in ["0", "1000001", "-1"] {
        let body = format!(r#"{{"EventDay": 20171012, "EventCount": {count}}}"#);
        assert_error(
            &app.post("/visits/324", "application/json", body),
            400,
            &["EventCount"],
        );
    }
    assert_eq!(
        rows(&app, "/visits/324?startDate=20171012&endDate=20171012"),
        json!([row("324", 20171012, 10)])
    );
}

#[test]
fn posting_bad_json_is_a_bad_request() {
    let app = TestApp::start_main_app();
    assert_error(
        &app.post("/visits/324", "application/json", "{not json"),
        400,
        &["JSON"],
    );
    assert_error(
        &app.post(
            "/visits/324",
            "application/json",
            r#"{"EventDay": 20170230}"#,
        ),
        422,
        &["EventDay"],
    );
    assert_eq!(rows(&app, "/visits/324"), json!([]));
}

#[test]
fn concurrent_posts_are_all_counted() {
    const THREADS: usize = 16;
    const POSTS_PER_THREAD: usize = 25;
    let app = TestApp::start_main_app();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..POSTS_PER_THREAD {
                    let posted =
                        app.post("/visits/5", "application/json", r#"{"EventDay": 20240229}"#);
                    assert_eq!(posted.status, 200, "{}", posted.text());
                }
            });
        }
    });
    let total = (THREADS * POSTS_PER_THREAD) as u64;
    assert_eq!(rows(&app, "/visits/5"), json!([row("5", 20240229, total)]));
    assert!(
        !app.stderr().contains("database is locked"),
        "{}",
        app.stderr()
    );
}

#[test]
fn an_acknowledged_post_survives_a_hard_kill() {
    let mut app = TestApp::start_main_app();
    let posted = app.post(
        "/visits/42",
        "application/json",
        r#"{"EventDay": 20171012, "EventCount": 3}"#,
    );
    assert_eq!(posted.status, 200, "{}", posted.text());
    app.kill_hard();
    app.restart();
    assert_eq!(rows(&app, "/visits/42"), json!([row("42", 20171012, 3)]));
}

// ---------------------------------------------------------------------------
// Bulk loads

#[test]
fn a_bulk_load_replaces_the_counts_it_names() {
    let app = start_with_sample();
    let body = json!([{ "EventId": 324, "EventDay": 20171012, "EventCount": 1 }]).to_string();
    let loaded = app.put("/visits", "application/json", body);
    assert_eq!(loaded.json(), json!({ "loaded": 1 }));
    let days = rows(&app, "/visits/324?startDate=20171012&endDate=20171013");
    assert_eq!(
        days,
        json!([row("324", 20171012, 1), row("324", 20171013, 10)])
    );
}

#[test]
fn a_bulk_load_with_a_bad_row_names_it_and_writes_nothing() {
    let app = TestApp::start_main_app();
    let body = json!([
        row("11", 20171012, 1),
        row("12", 20171012, 1),
        row("13", 20170230, 1),
        row("14", 20171012, 1),
    ])
    .to_string();
    assert_error(
        &app.put("/visits", "application/json", body),
        422,
        &["row 3", "EventDay"],
    );
    let csv = "EventId,EventDay,EventCount\n11,20171012,1\n12,20171012,x\n";
    assert_error(
        &app.put("/visits", "text/csv", csv),
        400,
        &["row 2", "EventCount"],
    );
    for id in ["11", "12", "13", "14"] {
        assert_eq!(
            rows(&app, &format!("/visits/{id}")),
            json!([]),
            "event {id}"
        );
    }
}

#[test]
fn more_than_10000_rows_are_too_large_and_write_nothing() {
    let app = TestApp::start_main_app();
    let body: Vec<Value> = (0..10_001)
        .map(|i| row(&format!("{}", 1000 + i), 20171012, 1))
        .collect();
    let response = app.put("/visits", "application/json", Value::from(body).to_string());
    assert_error(&response, 413, &["10000"]);
    assert_eq!(rows(&app, "/visits/1000"), json!([]));
}

#[test]
fn exactly_10000_rows_load_in_one_request() {
    let app = TestApp::start_main_app();
    let body: Vec<Value> = (0..10_000)
        .map(|i| row(&format!("{}", 1000 + i), 20171012, i))
        .collect();
    let loaded = app.put("/visits", "application/json", Value::from(body).to_string());
    assert_eq!(loaded.status, 200, "{}", loaded.text());
    assert_eq!(loaded.json(), json!({ "loaded": 10_000 }));
    assert_eq!(
        rows(&app, "/visits/10999"),
        json!([row("10999", 20171012, 9_999)])
    );
}

#[test]
fn a_body_over_4_mib_is_too_large() {
    // The gateway's own limit (1 MiB by default) raised, so that the service's is the one met.
    let app = TestApp::start_main_app_with(&["--variable", "max_body_bytes=8388608"]);
    let body = vec![b' '; 4 * 1024 * 1024 + 1];
    assert_error(
        &app.put("/visits", "application/json", body),
        413,
        &["too large"],
    );
}

// ---------------------------------------------------------------------------
// HTTP conventions

#[test]
fn responses_are_json_and_readable_cross_origin() {
    let app = start_with_sample();
    // As a browser calls cross-origin: with an `Origin` (CORS is the gateway's, per origin).
    let origin = ("origin", "https://example.com");
    let json = ("content-type", "application/json");
    // The composed edge adds CORS headers only to the answers it makes itself (a refusal).
    let service_answers_readable = Topology::current().decorates_answers();
    let refused = app.request_as(
        Credentials::None,
        "POST",
        "/visits/1",
        &[origin, json],
        "{}",
    );
    assert_error(&refused, 401, &[]);
    for (response, readable) in [
        (
            app.request("GET", "/visits/324", &[origin], Vec::new()),
            service_answers_readable,
        ),
        (
            app.request("GET", "/visits/abc", &[origin], Vec::new()),
            service_answers_readable,
        ),
        (
            app.request("POST", "/visits/1", &[origin, json], Vec::new()),
            service_answers_readable,
        ),
        (refused, true),
    ] {
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{}",
            response.status
        );
        if readable {
            assert_eq!(
                response.header("access-control-allow-origin"),
                Some("*"),
                "{}",
                response.status
            );
        }
    }
}

#[test]
fn a_preflight_is_answered_with_cors_headers() {
    let app = TestApp::start_main_app();
    let headers = [
        ("origin", "https://example.com"),
        ("access-control-request-method", "POST"),
    ];
    let response = app.request("OPTIONS", "/visits/324", &headers, Vec::new());
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    let methods = response
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(
        methods.contains("GET") && methods.contains("POST"),
        "{methods}"
    );
}

#[test]
fn other_methods_are_not_allowed_and_say_which_are() {
    let app = TestApp::start_main_app();
    let response = app.request("DELETE", "/visits/324", &[], Vec::new());
    assert_error(&response, 405, &["DELETE"]);
    assert_eq!(response.header("allow"), Some("GET, POST, OPTIONS"));
    let response = app.get("/visits");
    assert_error(&response, 405, &["GET"]);
    assert_eq!(response.header("allow"), Some("PUT, OPTIONS"));
}

#[test]
fn unknown_paths_under_visits_are_not_found() {
    let app = TestApp::start_main_app();
    assert_error(&app.get("/visits/324/extra"), 404, &["/visits/324/extra"]);
}
