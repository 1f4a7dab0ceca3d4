//! End-to-end tests of the events service (components/events) on a running server: the durable
//! log, subscriptions, push delivery with retries, dead letters and replay. Each test starts its
//! own app with fresh databases; waits poll with a deadline, never a fixed sleep.
//!
//! Needs the components built (`cargo xtask build`).

use std::time::Duration;

use integration_tests::{
    assert_error, assert_methods_not_allowed, eventually, TestApp, TestResponse, UpstreamServer,
    CE_BATCH, CE_JSON, JSON,
};
use serde_json::{json, Value};

/// How long a push to a healthy subscriber may take.
const PUSH_DEADLINE: Duration = Duration::from_secs(2);
/// How long a run of retries and dispatches may take.
const RETRY_DEADLINE: Duration = Duration::from_secs(10);

fn start() -> TestApp {
    TestApp::start_main_app_for_delivery()
}

fn event(id: &str) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/test", "type": "test.thing.happened",
        "time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json",
        "subject": format!("things/{id}"), "data": {"id": id}
    })
}

fn events(ids: &[&str]) -> Vec<Value> {
    ids.iter().map(|id| event(id)).collect()
}

/// `event` as the log keeps it after a publish request with `x-request-id: request_id`: the log
/// stamps the request's id (which the gateway always sets) on events without a `requestid`.
fn stamped(event: Value, request_id: &str) -> Value {
    let mut event = event;
    event["requestid"] = json!(request_id);
    event
}

/// Publishes `events` to `topic` as one batch with `x-request-id: request_id`, asserting `201`.
fn publish_traced(app: &TestApp, topic: &str, events: &[Value], request_id: &str) {
    let headers = [("content-type", CE_BATCH), ("x-request-id", request_id)];
    let body = Value::from(events.to_vec()).to_string();
    let response = app.request("POST", &format!("/events/{topic}"), &headers, body);
    assert_eq!(response.status, 201, "{}", response.text());
}

fn subscribe(app: &TestApp, name: &str, body: &Value) -> TestResponse {
    app.put_json(&format!("/events/subscriptions/{name}"), body)
}

fn dispatch(app: &TestApp) -> Value {
    let response = app.post("/events/dispatch", JSON, "");
    assert_eq!(response.status, 200, "dispatch: {}", response.text());
    response.json()
}

/// Polls a subscription's view until `done` holds for it; returns that view.
fn subscription_where(
    app: &TestApp,
    name: &str,
    limit: Duration,
    what: &str,
    dispatching: bool,
    done: impl Fn(&Value) -> bool,
) -> Value {
    eventually(limit, &format!("subscription {name}: {what}"), || {
        if dispatching {
            dispatch(app);
        }
        let view = app.get_json(&format!("/events/subscriptions/{name}"));
        if done(&view) {
            Ok(view)
        } else {
            Err(view.to_string())
        }
    })
}

/// Polls the subscriber until it has received `count` requests; returns the ids received.
fn received_at_least(upstream: &UpstreamServer, count: usize) -> Vec<String> {
    eventually(PUSH_DEADLINE, &format!("{count} deliveries"), || {
        let ids = received_ids(upstream);
        if ids.len() >= count {
            Ok(ids)
        } else {
            Err(format!("{ids:?}"))
        }
    })
}

/// The ids the subscriber received, in arrival order.
fn received_ids(upstream: &UpstreamServer) -> Vec<String> {
    upstream
        .requests()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("delivered body is JSON");
            body["id"].as_str().expect("event id").to_owned()
        })
        .collect()
}

/// Distinct ids in the order of their last delivery (at-least-once allows repeats).
fn last_seen_order(ids: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for id in ids {
        order.retain(|seen| seen != id);
        order.push(id.clone());
    }
    order
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// The log

#[test]
fn one_event_is_appended_and_read_back() {
    let app = start();
    let headers = [("content-type", CE_JSON), ("x-request-id", "pub-a")];
    let response = app.request("POST", "/events/orders", &headers, event("a").to_string());
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(response.json(), json!({"topic": "orders", "offsets": [1]}));
    let log = app.get_json("/events/orders");
    let stored = stamped(event("a"), "pub-a");
    assert_eq!(
        log,
        json!({"topic": "orders", "head": 1, "events": [{"offset": 1, "event": stored}]})
    );
    // application/json is accepted too, and offsets continue.
    let response = app.post("/events/orders", JSON, event("b").to_string());
    assert_eq!(response.json()["offsets"], json!([2]));
}

#[test]
fn an_array_is_appended_in_order_and_read_with_after_and_limit() {
    let app = start();
    let headers = [("content-type", CE_BATCH), ("x-request-id", "pub-1")];
    let body = Value::from(events(&["a", "b", "c", "d"])).to_string();
    let response = app.request("POST", "/events/shop.orders", &headers, body);
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(response.json()["offsets"], json!([1, 2, 3, 4]));
    let stored = |id| stamped(event(id), "pub-1");
    let page = app.get_json("/events/shop.orders?after=1&limit=2");
    assert_eq!(page["head"], 4);
    assert_eq!(
        page["events"],
        json!([{"offset": 2, "event": stored("b")}, {"offset": 3, "event": stored("c")}])
    );
    let rest = app.get_json("/events/shop.orders?after=3");
    assert_eq!(rest["events"], json!([{"offset": 4, "event": stored("d")}]));
    assert_eq!(
        app.get_json("/events/shop.orders?after=4")["events"],
        json!([])
    );
    // An unknown topic is an empty log.
    assert_eq!(
        app.get_json("/events/never.used"),
        json!({"topic": "never.used", "head": 0, "events": []})
    );
}

#[test]
fn a_known_id_keeps_its_original_offset_and_is_not_appended_again() {
    let app = start();
    assert_eq!(app.publish_events("orders", &events(&["a", "b"])), [1, 2]);
    // A retried publish (e.g. an outbox forward whose answer was lost) and new ids mixed in.
    assert_eq!(
        app.publish_events("orders", &events(&["b", "c", "a"])),
        [2, 3, 1]
    );
    // A repeated id inside one batch.
    assert_eq!(app.publish_events("orders", &events(&["d", "d"])), [4, 4]);
    let log = app.get_json("/events/orders?limit=1000");
    assert_eq!(log["head"], 4);
    let ids: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    // The same id in another topic is another event.
    assert_eq!(app.publish_events("other", &events(&["a"])), [1]);
}

#[test]
fn an_invalid_event_refuses_the_whole_request_naming_its_index() {
    let app = start();
    let mut bad = event("b");
    bad["specversion"] = json!("0.3");
    let body = json!([event("a"), bad]).to_string();
    assert_error(
        &app.post("/events/orders", CE_BATCH, body),
        400,
        &["index 1", "specversion"],
    );
    let body = json!([event("a"), event("b"), {"specversion": "1.0", "id": "c"}]).to_string();
    assert_error(
        &app.post("/events/orders", CE_BATCH, body),
        400,
        &["index 2"],
    );
    let mut bad = event("a");
    bad["time"] = json!("yesterday");
    assert_error(
        &app.post("/events/orders", CE_JSON, bad.to_string()),
        400,
        &["time"],
    );
    let mut bad = event("a");
    bad["id"] = json!("");
    assert_error(
        &app.post("/events/orders", CE_JSON, bad.to_string()),
        400,
        &["id"],
    );
    assert_error(
        &app.post("/events/orders", CE_BATCH, "[]"),
        400,
        &["no events"],
    );
    assert_error(&app.post("/events/orders", CE_BATCH, "{"), 400, &["JSON"]);
    assert_error(&app.post("/events/orders", CE_BATCH, ""), 400, &["empty"]);
    assert_error(
        &app.post("/events/orders", "text/plain", event("a").to_string()),
        415,
        &["content-type"],
    );
    // Nothing was appended.
    assert_eq!(app.get_json("/events/orders")["head"], 0);
    assert_eq!(app.get_json("/events/topics"), json!({"topics": []}));
}

#[test]
fn more_than_500_events_are_refused_and_500_accepted() {
    let app = start();
    let ids: Vec<String> = (0..501).map(|i| format!("e{i}")).collect();
    let too_many = Value::from(ids.iter().map(|id| event(id)).collect::<Vec<_>>());
    assert_error(
        &app.post("/events/bulk", CE_BATCH, too_many.to_string()),
        413,
        &["500"],
    );
    assert_eq!(app.get_json("/events/bulk")["head"], 0);
    let just_enough: Vec<Value> = ids[..500].iter().map(|id| event(id)).collect();
    let offsets = app.publish_events("bulk", &just_enough);
    assert_eq!(offsets, (1..=500).collect::<Vec<u64>>());
}

#[test]
fn bad_and_reserved_topic_names_are_refused() {
    let app = start();
    for path in [
        "/events/Orders",
        "/events/a_b",
        "/events/-a",
        &format!("/events/{}", "a".repeat(65)),
    ] {
        assert_error(
            &app.post(path, CE_JSON, event("a").to_string()),
            400,
            &["invalid topic name"],
        );
        assert_error(&app.get(path), 400, &["invalid topic name"]);
    }
    // The reserved names are resources of the service: a topic's methods they do not answer are
    // 405 (with `allow`), and the message says why the topic is refused.
    for (path, allow) in [
        ("/events/topics", "GET"),
        ("/events/subscriptions", "GET"),
        ("/events/health", "GET"),
        ("/events/openapi.json", "GET"),
    ] {
        let response = app.post(path, CE_JSON, event("a").to_string());
        assert_error(&response, 405, &["reserved", "POST"]);
        assert_eq!(response.header("allow"), Some(allow), "{path}");
    }
    let response = app.get("/events/dispatch");
    assert_error(&response, 405, &["reserved", "GET"]);
    assert_eq!(response.header("allow"), Some("POST"));
    assert_eq!(app.get_json("/events/topics"), json!({"topics": []}));
}

#[test]
fn read_parameters_are_checked() {
    let app = start();
    app.publish_events("orders", &events(&["a"]));
    for query in [
        "after=-1",
        "after=x",
        "limit=0",
        "limit=1001",
        "limit=",
        "from=1",
    ] {
        let response = app.get(&format!("/events/orders?{query}"));
        assert_eq!(response.status, 400, "{query}: {}", response.text());
    }
    assert_error(&app.get("/events/orders?limit=1001"), 400, &["limit"]);
    assert_error(&app.get("/events/orders?afterr=1"), 400, &["afterr"]);
    assert_eq!(
        app.get_json("/events/orders?limit=1000&after=0")["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn topics_are_listed_with_their_heads() {
    let app = start();
    app.publish_events("b.topic", &events(&["1", "2"]));
    app.publish_events("a.topic", &events(&["1"]));
    assert_eq!(
        app.get_json("/events/topics"),
        json!({"topics": [{"name": "a.topic", "head": 1}, {"name": "b.topic", "head": 2}]})
    );
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    let app = start();
    for path in [
        "/events",
        "/events/a/b",
        "/events/subscriptions/a/b",
        "/events/subscriptions/a/dead-letters/x",
    ] {
        assert_error(&app.get(path), 404, &["no such resource"]);
    }
    assert_methods_not_allowed(
        &app,
        &[
            ("DELETE", "/events/orders", "GET, POST"),
            ("PUT", "/events/orders", "GET, POST"),
            ("DELETE", "/events/topics", "GET"),
            ("PUT", "/events/dispatch", "POST"),
            ("DELETE", "/events/subscriptions", "GET"),
            ("POST", "/events/subscriptions/a", "GET, PUT, DELETE"),
            ("POST", "/events/subscriptions/a/dead-letters", "GET"),
            ("GET", "/events/subscriptions/a/dead-letters/replay", "POST"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

#[test]
fn subscriptions_are_created_shown_listed_updated_and_deleted() {
    let app = start();
    app.publish_events("shop.orders", &events(&["a", "b"]));
    app.publish_events("shop.refunds", &events(&["r"]));
    app.publish_events("billing", &events(&["x"]));
    // An endpoint nobody listens on: deliveries fail, which is not this test's subject.
    let body =
        json!({"topics": ["shop.*"], "endpoint": "http://127.0.0.1:9/hook", "max_attempts": 3});
    let created = subscribe(&app, "audit", &body);
    assert_eq!(created.status, 201, "{}", created.text());
    let view = created.json();
    assert_eq!(view["name"], "audit");
    assert_eq!(view["topics"], json!(["shop.*"]));
    assert_eq!(view["endpoint"], "http://127.0.0.1:9/hook");
    assert_eq!(view["max_attempts"], 3);
    assert_eq!(view["from"], "earliest");
    assert!(view["created_at"].as_str().unwrap().ends_with('Z'));
    let cursors = view["cursors"].as_array().unwrap();
    let topics: Vec<&str> = cursors
        .iter()
        .map(|c| c["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["shop.orders", "shop.refunds"]);
    assert_eq!(cursors[0]["head"], 2);
    assert_eq!(cursors[0]["delivered"], 0);
    assert_eq!(view["lag"], 3);
    assert_eq!(view["dead_letters"], 0);

    let shown = app.get_json("/events/subscriptions/audit");
    assert_eq!(shown["name"], "audit");
    assert_eq!(shown["topics"], json!(["shop.*"]));

    // Update: 200; the new pattern set adds billing from its head ("latest") and drops refunds.
    let body = json!({"topics": ["shop.orders", "billing"], "endpoint": "http://127.0.0.1:9/v2", "from": "latest"});
    let updated = subscribe(&app, "audit", &body);
    assert_eq!(updated.status, 200, "{}", updated.text());
    let view = updated.json();
    assert_eq!(view["endpoint"], "http://127.0.0.1:9/v2");
    assert_eq!(view["max_attempts"], 8);
    let cursors = view["cursors"].as_array().unwrap();
    let topics: Vec<&str> = cursors
        .iter()
        .map(|c| c["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["billing", "shop.orders"]);
    assert_eq!(cursors[0]["delivered"], 1, "billing starts at its head");
    assert_eq!(cursors[0]["lag"], 0);

    let other = json!({"topics": ["*"], "endpoint": "http://127.0.0.1:9/x"});
    assert_eq!(subscribe(&app, "all-topics", &other).status, 201);
    let list = app.get_json("/events/subscriptions");
    let names: Vec<&str> = list["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"audit") && names.contains(&"all-topics"),
        "{names:?}"
    );
    let all = list["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "all-topics")
        .unwrap();
    assert_eq!(all["cursors"].as_array().unwrap().len(), 3);

    let deleted = app.request("DELETE", "/events/subscriptions/audit", &[], Vec::new());
    assert_eq!(deleted.status, 204);
    assert_error(&app.get("/events/subscriptions/audit"), 404, &["audit"]);
    assert_error(
        &app.request("DELETE", "/events/subscriptions/audit", &[], Vec::new()),
        404,
        &["audit"],
    );
    assert_error(
        &app.get("/events/subscriptions/audit/dead-letters"),
        404,
        &["audit"],
    );
    assert_error(
        &app.post("/events/subscriptions/audit/dead-letters/replay", JSON, ""),
        404,
        &["audit"],
    );
}

#[test]
fn a_topic_created_after_a_subscription_gets_a_cursor_from_its_start() {
    let app = start();
    let body =
        json!({"topics": ["late.*"], "endpoint": "http://127.0.0.1:9/hook", "from": "latest"});
    assert_eq!(subscribe(&app, "late", &body).status, 201);
    assert_eq!(
        app.get_json("/events/subscriptions/late")["cursors"],
        json!([])
    );
    app.publish_events("late.topic", &events(&["a", "b"]));
    let view = app.get_json("/events/subscriptions/late");
    assert_eq!(view["cursors"][0]["topic"], "late.topic");
    assert_eq!(view["cursors"][0]["head"], 2);
    // Every event of a topic younger than the subscription is due, whatever "from" says.
    assert!(
        view["cursors"][0]["delivered"].as_u64().unwrap() < 2,
        "{view}"
    );
}

#[test]
fn subscription_requests_are_validated() {
    let app = start();
    let good = json!({"topics": ["a"], "endpoint": "http://127.0.0.1:9/hook"});
    assert_error(
        &subscribe(&app, "Bad_Name", &good),
        400,
        &["invalid subscription name"],
    );
    assert_error(
        &app.get("/events/subscriptions/Bad_Name"),
        400,
        &["invalid subscription name"],
    );
    let cases = [
        (json!({"topics": [], "endpoint": "http://a"}), "topics"),
        (
            json!({"topics": ["Bad"], "endpoint": "http://a"}),
            "pattern",
        ),
        (
            json!({"topics": ["a.*.*"], "endpoint": "http://a"}),
            "pattern",
        ),
        (json!({"topics": ["a"], "endpoint": "ftp://a"}), "endpoint"),
        (
            json!({"topics": ["a"], "endpoint": "/relative"}),
            "endpoint",
        ),
        (
            json!({"topics": ["a"], "endpoint": "http://a", "max_attempts": 0}),
            "max_attempts",
        ),
        (
            json!({"topics": ["a"], "endpoint": "http://a", "max_attempts": 101}),
            "max_attempts",
        ),
        (
            json!({"topics": ["a"], "endpoint": "http://a", "from": "now"}),
            "from",
        ),
        (
            json!({"topics": ["a"], "endpoint": "http://a", "filter": "x"}),
            "filter",
        ),
        (json!({"endpoint": "http://a"}), "topics"),
        (json!(["a"]), "object"),
    ];
    for (body, word) in cases {
        assert_error(&subscribe(&app, "s", &body), 400, &[word]);
    }
    assert_error(
        &app.put("/events/subscriptions/s", JSON, "{"),
        400,
        &["JSON"],
    );
    assert_error(
        &app.put("/events/subscriptions/s", "text/plain", good.to_string()),
        415,
        &["content-type"],
    );
    assert_error(&app.get("/events/subscriptions/s"), 404, &["s"]);
    assert_error(
        &app.get("/events/subscriptions/s/dead-letters?limit=0"),
        400,
        &["limit"],
    );
}

// ---------------------------------------------------------------------------------------------
// Delivery

#[test]
fn delivery_after_publish_needs_no_dispatch() {
    let app = start();
    let upstream = UpstreamServer::start();
    // A backlog published before the subscription is delivered right after the PUT.
    app.publish_events("push", &events(&["old"]));
    let body = json!({"topics": ["push"], "endpoint": format!("{}/hooks/events", upstream.url())});
    assert_eq!(subscribe(&app, "pusher", &body).status, 201);
    assert_eq!(received_at_least(&upstream, 1), ["old"]);
    // A new event is pushed right after its publish.
    publish_traced(&app, "push", &events(&["new"]), "pub-new");
    received_at_least(&upstream, 2);
    let requests = upstream.requests();
    let delivery = &requests[1];
    assert_eq!(delivery.method, "POST");
    assert_eq!(delivery.target, "/hooks/events");
    assert_eq!(
        delivery.header("content-type"),
        Some("application/cloudevents+json")
    );
    assert_eq!(delivery.header("ce-id"), Some("new"));
    assert_eq!(delivery.header("ce-type"), Some("test.thing.happened"));
    assert_eq!(delivery.header("x-request-id"), Some("pub-new"));
    assert_eq!(
        serde_json::from_slice::<Value>(&delivery.body).unwrap(),
        stamped(event("new"), "pub-new")
    );
    let view = subscription_where(&app, "pusher", PUSH_DEADLINE, "no lag", false, |v| {
        v["lag"] == 0
    });
    assert_eq!(view["cursors"][0]["delivered"], 2);
}

#[test]
fn concurrent_publishers_leave_nothing_undelivered() {
    let app = start();
    let upstream = UpstreamServer::start();
    let body = json!({"topics": ["busy"], "endpoint": upstream.url()});
    assert_eq!(subscribe(&app, "busy", &body).status, 201);
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let app = &app;
            scope.spawn(move || {
                for i in 0..15 {
                    app.publish_events("busy", &events(&[&format!("w{writer}-{i}")]));
                }
            });
        }
    });
    // No dispatch: whoever held a lease re-checked the head after releasing it.
    let deadline = Duration::from_secs(5);
    subscription_where(&app, "busy", deadline, "every event", false, |v| {
        v["lag"] == 0
    });
    let order: Vec<String> = app
        .event_log("busy")
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order.len(), 60);
    assert_eq!(last_seen_order(&received_ids(&upstream)), order);
}

#[test]
fn a_subscriber_failing_three_times_then_recovering_gets_every_event_in_order() {
    let app = start();
    let upstream = UpstreamServer::with_statuses(&[500, 500, 500]);
    let body = json!({"topics": ["flaky.*"], "endpoint": upstream.url()});
    assert_eq!(subscribe(&app, "flaky", &body).status, 201);
    app.publish_events("flaky.orders", &events(&["a", "b", "c"]));
    app.publish_events("flaky.orders", &events(&["d"]));
    app.publish_events("flaky.orders", &events(&["e"]));
    let view = subscription_where(&app, "flaky", RETRY_DEADLINE, "no lag", true, |v| {
        v["lag"] == 0
    });
    let ids = received_ids(&upstream);
    assert_eq!(
        &ids[..3],
        ["a", "a", "a"],
        "the first event is retried: {ids:?}"
    );
    assert_eq!(
        last_seen_order(&ids),
        strings(&["a", "b", "c", "d", "e"]),
        "{ids:?}"
    );
    let cursor = &view["cursors"][0];
    assert_eq!(cursor["delivered"], 5);
    assert_eq!(cursor["head"], 5);
    assert_eq!(cursor["lag"], 0);
    assert_eq!(cursor["attempts"], 0);
    assert_eq!(cursor["last_error"], Value::Null);
    assert_eq!(view["dead_letters"], 0);
}

#[test]
fn a_failing_subscriber_shows_its_retry_state() {
    // Only failures for a while; a long backoff keeps the state visible.
    let upstream = UpstreamServer::with_statuses(&[503; 10]);
    let app_slow = TestApp::start_main_app_with(&[
        "--variable",
        "subscriber_hosts=http://127.0.0.1:*",
        "--variable",
        "retry_base_ms=60000",
    ]);
    let body = json!({"topics": ["slow"], "endpoint": upstream.url()});
    assert_eq!(subscribe(&app_slow, "slow", &body).status, 201);
    app_slow.publish_events("slow", &events(&["a"]));
    let view = subscription_where(&app_slow, "slow", PUSH_DEADLINE, "a failure", false, |v| {
        v["cursors"][0]["attempts"] == 1
    });
    let cursor = &view["cursors"][0];
    assert!(
        cursor["last_error"].as_str().unwrap().contains("503"),
        "{cursor}"
    );
    assert!(
        cursor["next_attempt_at"].as_str().unwrap().ends_with('Z'),
        "{cursor}"
    );
    assert_eq!(view["last_error"], cursor["last_error"]);
    assert_eq!(view["lag"], 1);
    // Not due yet: a dispatch does not retry before the backoff.
    assert_eq!(
        dispatch(&app_slow),
        json!({"delivered": 0, "retrying": 0, "dead_lettered": 0, "pending": 1})
    );
    assert_eq!(upstream.requests().len(), 1);
}

#[test]
fn a_dead_subscriber_fills_its_dead_letters_and_replay_delivers_them() {
    let app = start();
    // Two failed attempts for each of three events, then the subscriber is back.
    let upstream = UpstreamServer::with_statuses(&[500; 6]);
    let body = json!({"topics": ["dead"], "endpoint": upstream.url(), "max_attempts": 2});
    assert_eq!(subscribe(&app, "dead", &body).status, 201);
    publish_traced(&app, "dead", &events(&["a", "b", "c"]), "pub-dead");
    let view = subscription_where(&app, "dead", RETRY_DEADLINE, "3 dead letters", true, |v| {
        v["dead_letters"] == 3 && v["lag"] == 0
    });
    assert_eq!(view["cursors"][0]["delivered"], 3);
    assert!(
        view["last_error"].as_str().unwrap().contains("500"),
        "{view}"
    );
    assert_eq!(received_ids(&upstream), ["a", "a", "b", "b", "c", "c"]);

    let letters = app.get_json("/events/subscriptions/dead/dead-letters");
    assert_eq!(letters["subscription"], "dead");
    assert_eq!(letters["total"], 3);
    let list = letters["dead_letters"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["topic"], "dead");
    assert_eq!(list[0]["offset"], 1);
    assert_eq!(list[0]["event"], stamped(event("a"), "pub-dead"));
    assert_eq!(list[0]["attempts"], 2);
    assert!(list[0]["error"].as_str().unwrap().contains("500"));
    assert!(list[0]["failed_at"].as_str().unwrap().ends_with('Z'));
    let limited = app.get_json("/events/subscriptions/dead/dead-letters?limit=1");
    assert_eq!(limited["dead_letters"].as_array().unwrap().len(), 1);
    assert_eq!(limited["total"], 3);

    let replay = app.post("/events/subscriptions/dead/dead-letters/replay", JSON, "");
    assert_eq!(replay.status, 200, "{}", replay.text());
    assert_eq!(replay.json(), json!({"replayed": 3, "remaining": 0}));
    assert_eq!(&received_ids(&upstream)[6..], ["a", "b", "c"]);
    let letters = app.get_json("/events/subscriptions/dead/dead-letters");
    assert_eq!(letters["dead_letters"], json!([]));
    assert_eq!(
        app.get_json("/events/subscriptions/dead")["dead_letters"],
        0
    );
}

#[test]
fn a_failed_replay_keeps_the_dead_letters() {
    let app = start();
    let upstream = UpstreamServer::with_statuses(&[500; 10]);
    let body = json!({"topics": ["gone"], "endpoint": upstream.url(), "max_attempts": 1});
    assert_eq!(subscribe(&app, "gone", &body).status, 201);
    app.publish_events("gone", &events(&["a", "b"]));
    subscription_where(&app, "gone", RETRY_DEADLINE, "2 dead letters", true, |v| {
        v["dead_letters"] == 2
    });
    let replay = app.post("/events/subscriptions/gone/dead-letters/replay", JSON, "");
    assert_eq!(replay.json(), json!({"replayed": 0, "remaining": 2}));
    let letters = app.get_json("/events/subscriptions/gone/dead-letters");
    assert_eq!(
        letters["dead_letters"][0]["attempts"], 2,
        "the replay counts as an attempt"
    );
}

#[test]
fn an_endpoint_the_host_does_not_allow_is_reported() {
    // Without `subscriber_hosts`, only components of the app may be called.
    let app = TestApp::start_main_app();
    let body =
        json!({"topics": ["denied"], "endpoint": "http://127.0.0.1:9/hook", "max_attempts": 1});
    assert_eq!(subscribe(&app, "denied", &body).status, 201);
    app.publish_events("denied", &events(&["a"]));
    let view = subscription_where(&app, "denied", PUSH_DEADLINE, "a dead letter", false, |v| {
        v["dead_letters"] == 1
    });
    let error = view["last_error"]
        .as_str()
        .unwrap_or_else(|| panic!("{view}"));
    assert!(error.contains("allowed_outbound_hosts"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Bootstrap subscriptions

#[test]
fn the_bootstrap_subscription_exists_after_the_first_publish_and_a_delete_sticks() {
    let app = start();
    app.publish_events("support.tickets", &events(&["t1"]));
    let view = app.get_json("/events/subscriptions/insights");
    assert_eq!(view["topics"], json!(["support.*", "telemetry.*"]));
    assert_eq!(
        view["endpoint"],
        "http://insights.spin.internal/insights/events"
    );
    assert_eq!(view["cursors"][0]["topic"], "support.tickets");
    let deleted = app.request("DELETE", "/events/subscriptions/insights", &[], Vec::new());
    assert_eq!(deleted.status, 204);
    app.publish_events("support.tickets", &events(&["t2"]));
    dispatch(&app);
    assert_error(
        &app.get("/events/subscriptions/insights"),
        404,
        &["insights"],
    );
}

#[test]
fn an_invalid_bootstrap_variable_is_ignored() {
    let app = TestApp::start_main_app_with(&["--variable", "bootstrap_subscriptions=[{not json"]);
    assert_eq!(app.publish_events("support.tickets", &events(&["t1"])), [1]);
    assert_eq!(
        app.get_json("/events/subscriptions"),
        json!({"subscriptions": []})
    );
    assert_eq!(dispatch(&app)["delivered"], 0);
    // The guest's stderr reaches the server's output shortly after (the host writes it in batches).
    eventually(Duration::from_secs(5), "the problem is logged", || {
        let output = app.stderr();
        if output.contains("bootstrap_subscriptions") {
            Ok(())
        } else {
            Err(output)
        }
    });
}
