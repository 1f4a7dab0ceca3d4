//! End-to-end tests of the gateway's read cache: repeated reads of a `cached_reads` service are
//! answered by the gateway, and a write through the gateway is never followed by an answer from
//! before it. Each test starts its own app. In the composed topology there is no read cache:
//! the same reads and writes must then show every answer fresh, with no cache state.
//!
//! Needs every component built (`cargo xtask build`).

use integration_tests::{skipped_in, Credentials, TestApp, TestResponse, Topology};

fn cache_state(response: &TestResponse) -> Option<&str> {
    response.header("x-gateway-cache")
}

/// Asserts the answer came from the cache (`hit`) or the service (`miss`). The composed
/// topology has no read cache: there every read is the service's own, with no cache state.
fn assert_cache_state(response: &TestResponse, state: &str) {
    let expected = Topology::current().caches_reads().then_some(state);
    assert_eq!(cache_state(response), expected, "{}", response.text());
}

#[test]
fn a_repeated_read_is_a_hit_until_a_write_changes_it() {
    let app = TestApp::start_main_app();
    let first = app.get_as(Credentials::None, "/visits/777");
    assert_eq!(first.status, 200, "{}", first.text());
    assert_cache_state(&first, "miss");
    let second = app.get_as(Credentials::None, "/visits/777");
    assert_cache_state(&second, "hit");
    assert_eq!(second.text(), first.text());
    assert_eq!(second.header("content-type"), first.header("content-type"));
    // A client may insist on the service's own answer.
    let fresh = app.request_as(
        Credentials::None,
        "GET",
        "/visits/777",
        &[("cache-control", "no-cache")],
        Vec::new(),
    );
    assert_cache_state(&fresh, "miss");

    // The write is acknowledged, so the next read must show it: a miss with the new row.
    let posted = app.post(
        "/visits/777",
        "application/json",
        r#"{"EventDay": 20171012, "EventCount": 5}"#,
    );
    assert_eq!(posted.status, 200, "{}", posted.text());
    let after = app.get_as(Credentials::None, "/visits/777");
    assert_cache_state(&after, "miss");
    assert!(
        after.text().contains(r#""EventCount":5"#),
        "{}",
        after.text()
    );
    assert_cache_state(&app.get_as(Credentials::None, "/visits/777"), "hit");

    // A bulk write invalidates every cached read of the service, other ids included.
    let bulk = app.put(
        "/visits",
        "application/json",
        r#"[{"EventId": "777", "EventDay": 20171012, "EventCount": 9}]"#,
    );
    assert_eq!(bulk.status, 200, "{}", bulk.text());
    let reread = app.get_as(Credentials::None, "/visits/777");
    assert_cache_state(&reread, "miss");
    assert!(
        reread.text().contains(r#""EventCount":9"#),
        "{}",
        reread.text()
    );
}

#[test]
fn queries_are_cached_apart_and_health_is_never_cached() {
    let app = TestApp::start_main_app();
    app.post(
        "/visits/778",
        "application/json",
        r#"{"EventDay": 20171012}"#,
    );
    app.post(
        "/visits/778",
        "application/json",
        r#"{"EventDay": 20171020}"#,
    );
    let all = app.get_as(Credentials::None, "/visits/778");
    let late = app.get_as(Credentials::None, "/visits/778?startDate=20171015");
    assert_cache_state(&late, "miss");
    assert_ne!(all.text(), late.text());
    assert_eq!(
        app.get_as(Credentials::None, "/visits/778?startDate=20171015")
            .text(),
        late.text()
    );
    for _ in 0..2 {
        let health = app.get_as(Credentials::None, "/visits/health");
        assert_eq!(health.status, 200);
        assert_eq!(cache_state(&health), None);
    }
    // Other services are not cached unless named in `cached_reads`.
    assert_eq!(cache_state(&app.get("/support/tickets")), None);
}

#[test]
fn a_zero_ttl_turns_the_cache_off() {
    if skipped_in(Topology::Composed, "there is no read cache to turn off") {
        return;
    }
    let app = TestApp::start_main_app_with(&["--variable", "cache_ttl_seconds=0"]);
    for _ in 0..2 {
        let read = app.get_as(Credentials::None, "/visits/779");
        assert_eq!(read.status, 200);
        assert_eq!(cache_state(&read), None);
    }
}
