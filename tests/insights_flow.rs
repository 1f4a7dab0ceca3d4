//! End-to-end tests of the `insights` read side through the host: pushed events and their
//! dedupe, every view and error path, rebuilds from the `events` log, and the flows from
//! `support` and `telemetry` through `events` into the views.

use std::thread;
use std::time::Duration;

use integration_tests::{
    assert_error, assert_methods_not_allowed, eventually, now_millis, rfc3339, TestApp,
    TestResponse, CE_BATCH, CE_JSON, JSON,
};
use serde_json::{json, Value};

/// How long an event may take to flow producer -> events -> insights.
const FLOW_DEADLINE: Duration = Duration::from_secs(5);

fn cloud_event(id: &str, event_type: &str, subject: &str, data: Value) -> Value {
    let source = if event_type.starts_with("telemetry.") {
        "/telemetry"
    } else {
        "/support"
    };
    json!({
        "specversion": "1.0", "id": id, "source": source, "type": event_type,
        "time": "2026-01-01T09:00:00Z", "datacontenttype": "application/json",
        "subject": subject, "data": data,
    })
}

fn customer_event(id: &str, customer: &str, name: &str, tier: &str, version: i64) -> Value {
    cloud_event(
        id,
        "support.customer.upserted",
        &format!("customers/{customer}"),
        json!({"customer": {
            "id": customer, "name": name, "email": format!("{customer}@example.com"), "tier": tier,
            "phone": null, "version": version,
            "created_at": "2026-01-01T08:00:00Z", "updated_at": "2026-01-01T08:00:00Z",
        }}),
    )
}

/// A ticket snapshot event; `resolved_at` in seconds after the ticket's creation (10:00 UTC).
struct T<'a> {
    id: i64,
    customer: &'a str,
    priority: &'a str,
    status: &'a str,
    version: i64,
    resolved_after_secs: Option<i64>,
}

fn ticket_event(event_id: &str, t: T<'_>) -> Value {
    let created = 1_767_261_600; // 2026-01-01T10:00:00Z
    let event_type = if t.version == 1 {
        "support.ticket.opened"
    } else {
        "support.ticket.updated"
    };
    cloud_event(
        event_id,
        event_type,
        &format!("tickets/{}", t.id),
        json!({"ticket": {
            "id": t.id, "customer_id": t.customer, "subject": "It is broken", "priority": t.priority,
            "status": t.status, "version": t.version, "created_at": utc(created),
            "updated_at": utc(created + t.resolved_after_secs.unwrap_or(0)),
            "resolved_at": t.resolved_after_secs.map(|secs| utc(created + secs)),
        }, "previous_status": null}),
    )
}

fn alert_event(
    event_id: &str,
    alert_id: Value,
    sensor: &str,
    recovered: bool,
    raised_minute: i64,
) -> Value {
    let raised = 1_767_261_600 + raised_minute * 60;
    let (event_type, state) = if recovered {
        ("telemetry.temperature.recovered", "resolved")
    } else {
        ("telemetry.temperature.warning", "active")
    };
    cloud_event(
        event_id,
        event_type,
        &format!("sensors/{sensor}"),
        json!({"alert": {
            "id": alert_id, "sensor_id": sensor, "state": state, "reason": "above_max",
            "celsius": 41.5, "threshold": 35.0, "raised_at": utc(raised),
            "resolved_at": if recovered { Value::from(utc(raised + 60)) } else { Value::Null },
            "last_celsius": if recovered { 30.0 } else { 41.5 },
        }}),
    )
}

/// Unix seconds as RFC 3339 UTC.
fn utc(secs: i64) -> String {
    rfc3339(secs * 1000)
}

fn now_secs() -> i64 {
    now_millis() / 1000
}

fn push(app: &TestApp, event: &Value) -> TestResponse {
    app.post("/insights/events", CE_JSON, event.to_string())
}

fn push_applied(app: &TestApp, event: &Value) {
    let response = push(app, event);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["status"], "applied", "{}", response.text());
}

/// Every view a test compares across a rebuild.
fn views(app: &TestApp, customers: &[&str]) -> Value {
    let mut all = json!({
        "summary": app.get_json("/insights/support/summary"),
        "alerts": app.get_json("/insights/telemetry/alerts"),
    });
    for customer in customers {
        let response = app.get(&format!("/insights/support/customers/{customer}"));
        all[*customer] = json!({"status": response.status, "body": response.json()});
    }
    all
}

#[test]
fn pushed_events_are_applied_once_and_unknown_types_are_ignored() {
    let app = TestApp::start_main_app();
    let customer = customer_event("ev-c1", "c-1", "Ada", "pro", 1);
    push_applied(&app, &customer);
    let expected = json!({"customer_id": "c-1", "name": "Ada", "tier": "pro", "open": 0, "resolved": 0,
        "total": 0, "mean_time_to_resolve_seconds": null});
    assert_eq!(app.get_json("/insights/support/customers/c-1"), expected);

    // The same event id again, even with other content, is recognised and changes nothing.
    let again = customer_event("ev-c1", "c-1", "Mallory", "enterprise", 2);
    let response = push(&app, &again);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["status"], "duplicate");
    assert_eq!(app.get_json("/insights/support/customers/c-1"), expected);

    // Types the views do not use are acknowledged (never dead-lettered), in either content type.
    let unknown = cloud_event(
        "ev-x",
        "billing.invoice.paid",
        "invoices/1",
        json!({"amount": 3}),
    );
    let response = app.post(
        "/insights/events",
        "application/json; charset=utf-8",
        unknown.to_string(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["status"], "ignored");

    let ticket = T {
        id: 1,
        customer: "c-1",
        priority: "high",
        status: "open",
        version: 1,
        resolved_after_secs: None,
    };
    push_applied(&app, &ticket_event("ev-t1", ticket));
    let view = app.get_json("/insights/support/customers/c-1");
    assert_eq!(
        (view["open"].as_i64(), view["total"].as_i64()),
        (Some(1), Some(1)),
        "{view}"
    );
    assert_eq!(
        push(
            &app,
            &ticket_event(
                "ev-t1",
                T {
                    id: 1,
                    customer: "c-1",
                    priority: "high",
                    status: "resolved",
                    version: 2,
                    resolved_after_secs: Some(5)
                }
            )
        )
        .json()["status"],
        "duplicate"
    );
    assert_eq!(app.get_json("/insights/support/customers/c-1")["open"], 1);
}

#[test]
fn invalid_events_are_refused_and_change_nothing() {
    let app = TestApp::start_main_app();
    assert_error(&app.post("/insights/events", CE_JSON, "{"), 400, &["JSON"]);
    assert_error(&app.post("/insights/events", CE_JSON, ""), 400, &["JSON"]);
    assert_error(
        &app.post("/insights/events", CE_JSON, "[]"),
        400,
        &["array"],
    );
    assert_error(
        &app.post("/insights/events", CE_JSON, r#"{"id": "1", "type": "x"}"#),
        400,
        &["CloudEvent"],
    );
    let mut old = customer_event("ev-1", "c-1", "Ada", "pro", 1);
    old["specversion"] = json!("0.3");
    assert_error(&push(&app, &old), 400, &["specversion"]);

    // A known type with data the views cannot use is a poison message: 400, not recorded.
    let bad = ticket_event(
        "ev-t",
        T {
            id: 9,
            customer: "c-1",
            priority: "whenever",
            status: "open",
            version: 1,
            resolved_after_secs: None,
        },
    );
    assert_error(&push(&app, &bad), 400, &["priority"]);
    let mut no_data = customer_event("ev-c", "c-1", "Ada", "pro", 1);
    no_data.as_object_mut().unwrap().remove("data");
    assert_error(&push(&app, &no_data), 400, &["data.customer"]);
    let mut bad_time = alert_event("ev-a", json!("a-1"), "s-1", false, 0);
    bad_time["data"]["alert"]["raised_at"] = json!("noonish");
    assert_error(&push(&app, &bad_time), 400, &["raised_at"]);
    // ... so the same ids with good data are applied later.
    push_applied(
        &app,
        &ticket_event(
            "ev-t",
            T {
                id: 9,
                customer: "c-1",
                priority: "low",
                status: "open",
                version: 1,
                resolved_after_secs: None,
            },
        ),
    );

    let good = customer_event("ev-c", "c-1", "Ada", "pro", 1).to_string();
    assert_error(
        &app.post("/insights/events", "text/plain", good.clone()),
        415,
        &["content-type"],
    );
    assert_error(
        &app.post("/insights/events", CE_BATCH, format!("[{good}]")),
        415,
        &["structured"],
    );
    let huge = format!(r#"{{"pad": "{}"}}"#, "x".repeat(1024 * 1024 + 1));
    assert_error(
        &app.post("/insights/events", CE_JSON, huge),
        413,
        &["too large"],
    );

    let summary = app.get_json("/insights/support/summary");
    assert_eq!(summary["tickets_total"], 1, "{summary}");
    assert_eq!(summary["open_by_priority"]["low"], 1, "{summary}");
    assert_eq!(
        app.get("/insights/support/customers/c-1").json()["name"],
        Value::Null
    );
}

#[test]
fn out_of_order_ticket_versions_end_in_the_newest_state() {
    let app = TestApp::start_main_app();
    let v = |version: i64, status: &'static str, resolved: Option<i64>| T {
        id: 7,
        customer: "c-7",
        priority: "urgent",
        status,
        version,
        resolved_after_secs: resolved,
    };
    push_applied(&app, &ticket_event("t7-v3", v(3, "resolved", Some(600))));
    push_applied(&app, &ticket_event("t7-v1", v(1, "open", None)));
    push_applied(&app, &ticket_event("t7-v2", v(2, "pending", None)));
    let view = app.get_json("/insights/support/customers/c-7");
    assert_eq!(
        view,
        json!({"customer_id": "c-7", "name": null, "tier": null, "open": 0, "resolved": 1,
        "total": 1, "mean_time_to_resolve_seconds": 600.0})
    );

    // A second ticket whose newest version is still open work.
    let w = |version: i64, status: &'static str| T {
        id: 8,
        customer: "c-7",
        priority: "high",
        status,
        version,
        resolved_after_secs: None,
    };
    push_applied(&app, &ticket_event("t8-v2", w(2, "pending")));
    push_applied(&app, &ticket_event("t8-v1", w(1, "open")));
    let summary = app.get_json("/insights/support/summary");
    assert_eq!(
        summary,
        json!({"open_by_priority": {"low": 0, "normal": 0, "high": 1, "urgent": 0},
        "open_total": 1, "tickets_total": 2, "customers": 1, "mean_time_to_resolve_seconds": 600.0})
    );
}

#[test]
fn views_count_tickets_per_customer_and_priority() {
    let app = TestApp::start_main_app();
    push_applied(&app, &customer_event("ca-1", "c-a", "Ada", "enterprise", 1));
    push_applied(
        &app,
        &customer_event("ca-2", "c-a", "Ada Lovelace", "enterprise", 2),
    );
    let tickets = [
        T {
            id: 1,
            customer: "c-a",
            priority: "high",
            status: "open",
            version: 1,
            resolved_after_secs: None,
        },
        T {
            id: 2,
            customer: "c-a",
            priority: "low",
            status: "pending",
            version: 2,
            resolved_after_secs: None,
        },
        T {
            id: 3,
            customer: "c-a",
            priority: "normal",
            status: "resolved",
            version: 2,
            resolved_after_secs: Some(600),
        },
        T {
            id: 4,
            customer: "c-a",
            priority: "urgent",
            status: "closed",
            version: 3,
            resolved_after_secs: Some(1200),
        },
        T {
            id: 5,
            customer: "c-b",
            priority: "high",
            status: "open",
            version: 1,
            resolved_after_secs: None,
        },
    ];
    for (i, ticket) in tickets.into_iter().enumerate() {
        push_applied(&app, &ticket_event(&format!("tk-{i}"), ticket));
    }
    assert_eq!(
        app.get_json("/insights/support/customers/c-a"),
        json!({"customer_id": "c-a", "name": "Ada Lovelace", "tier": "enterprise", "open": 2, "resolved": 2,
            "total": 4, "mean_time_to_resolve_seconds": 900.0})
    );
    assert_eq!(
        app.get_json("/insights/support/customers/c-b"),
        json!({"customer_id": "c-b", "name": null, "tier": null, "open": 1, "resolved": 0,
            "total": 1, "mean_time_to_resolve_seconds": null})
    );
    assert_eq!(
        app.get_json("/insights/support/summary"),
        json!({"open_by_priority": {"low": 1, "normal": 0, "high": 2, "urgent": 0}, "open_total": 3,
            "tickets_total": 5, "customers": 2, "mean_time_to_resolve_seconds": 900.0})
    );
    assert_error(
        &app.get("/insights/support/customers/c-nobody"),
        404,
        &["c-nobody"],
    );
    assert_error(
        &app.get("/insights/support/customers/bad%20id"),
        404,
        &["customer"],
    );
}

#[test]
fn an_empty_service_answers_empty_views() {
    let app = TestApp::start_main_app();
    assert_eq!(
        app.get_json("/insights/support/summary"),
        json!({"open_by_priority": {"low": 0, "normal": 0, "high": 0, "urgent": 0}, "open_total": 0,
            "tickets_total": 0, "customers": 0, "mean_time_to_resolve_seconds": null})
    );
    assert_eq!(
        app.get_json("/insights/telemetry/alerts"),
        json!({"alerts": []})
    );
    assert_error(&app.get("/insights/support/customers/c-1"), 404, &["c-1"]);
}

#[test]
fn active_alerts_are_newest_first_and_a_recovery_wins_in_any_order() {
    let app = TestApp::start_main_app();
    push_applied(&app, &alert_event("w1", json!("a-1"), "s-1", false, 0));
    push_applied(&app, &alert_event("w2", json!(42), "s-2", false, 5));
    let alerts = app.get_json("/insights/telemetry/alerts");
    assert_eq!(
        alerts["alerts"][0],
        json!({"id": 42, "sensor_id": "s-2", "state": "active",
        "reason": "above_max", "celsius": 41.5, "threshold": 35.0, "last_celsius": 41.5,
        "raised_at": "2026-01-01T10:05:00Z", "resolved_at": null})
    );
    assert_eq!(alerts["alerts"][1]["id"], "a-1");
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 2);
    let first = app.get_json("/insights/telemetry/alerts?limit=1");
    assert_eq!(first["alerts"].as_array().unwrap().len(), 1);

    // Recovery of a-1 after its warning; a-3's recovery arrives before its warning.
    push_applied(&app, &alert_event("r1", json!("a-1"), "s-1", true, 0));
    push_applied(&app, &alert_event("r3", json!("a-3"), "s-3", true, 9));
    push_applied(&app, &alert_event("w3", json!("a-3"), "s-3", false, 9));
    let alerts = app.get_json("/insights/telemetry/alerts");
    let ids: Vec<&Value> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, [&json!(42)], "{alerts}");

    assert_error(
        &app.get("/insights/telemetry/alerts?limit=0"),
        400,
        &["limit"],
    );
    assert_error(
        &app.get("/insights/telemetry/alerts?state=active"),
        400,
        &["state"],
    );
}

#[test]
fn unknown_paths_and_wrong_methods_are_refused() {
    let app = TestApp::start_main_app();
    for path in [
        "/insights",
        "/insights/nothing",
        "/insights/support",
        "/insights/support/customers/a/b",
    ] {
        assert_error(&app.get(path), 404, &["no such"]);
    }
    assert_methods_not_allowed(
        &app,
        &[
            ("GET", "/insights/events", "POST"),
            ("PUT", "/insights/events", "POST"),
            ("GET", "/insights/rebuild", "POST"),
            ("POST", "/insights/support/summary", "GET"),
            ("DELETE", "/insights/support/customers/c-1", "GET"),
            ("PUT", "/insights/telemetry/alerts", "GET"),
        ],
    );
    assert_error(&app.get("/insights/support/summary?x=1"), 400, &["x"]);
}

#[test]
fn a_rebuild_without_the_events_service_is_502_and_keeps_the_views() {
    // Outbound requests to a host insights may not reach fail like an unreachable service.
    let app = TestApp::start_main_app_with(&["--variable", "events_url=http://127.0.0.1:9"]);
    push_applied(&app, &customer_event("c1", "c-1", "Ada", "pro", 1));
    push_applied(&app, &alert_event("w1", json!("a-1"), "s-1", false, 0));
    let before = views(&app, &["c-1"]);
    let response = app.post("/insights/rebuild", JSON, "");
    assert_error(&response, 502, &["views are unchanged"]);
    assert_eq!(views(&app, &["c-1"]), before);
    // And a push still works afterwards.
    push_applied(&app, &customer_event("c2", "c-2", "Bo", "free", 1));
}

/// A log with customers, out-of-order ticket versions, a recovery logged before its warning,
/// an unknown type and a foreign topic.
fn logged_events() -> Vec<(&'static str, Vec<Value>)> {
    let t = |id: i64,
             customer: &'static str,
             priority: &'static str,
             status: &'static str,
             version: i64,
             resolved: Option<i64>| T {
        id,
        customer,
        priority,
        status,
        version,
        resolved_after_secs: resolved,
    };
    vec![
        (
            "support.customers",
            vec![
                customer_event("l-c1", "c-a", "Ada", "pro", 1),
                customer_event("l-c2", "c-b", "Bo", "free", 1),
                customer_event("l-c3", "c-a", "Ada L.", "enterprise", 2),
            ],
        ),
        (
            "support.tickets",
            vec![
                ticket_event("l-t1", t(1, "c-a", "high", "open", 1, None)),
                ticket_event("l-t3", t(1, "c-a", "high", "resolved", 3, Some(300))),
                ticket_event("l-t2", t(1, "c-a", "high", "pending", 2, None)),
                ticket_event("l-t4", t(2, "c-b", "urgent", "open", 1, None)),
                ticket_event("l-t5", t(3, "c-c", "low", "open", 1, None)),
                ticket_event("l-t6", t(3, "c-c", "low", "closed", 2, Some(900))),
                cloud_event(
                    "l-x1",
                    "support.ticket.commented",
                    "tickets/1",
                    json!({"text": "hi"}),
                ),
            ],
        ),
        (
            "telemetry.alerts",
            vec![
                alert_event("l-a1", json!("a-1"), "s-1", false, 0),
                alert_event("l-r2", json!("a-2"), "s-2", true, 3),
                alert_event("l-a2", json!("a-2"), "s-2", false, 3),
                alert_event("l-a3", json!(3), "s-3", false, 7),
            ],
        ),
        (
            "billing.invoices",
            vec![customer_event(
                "l-b1",
                "c-billing",
                "Not a customer",
                "pro",
                1,
            )],
        ),
    ]
}

#[test]
fn a_rebuild_replays_the_logs_to_the_same_views() {
    let app = TestApp::start_main_app();
    let logged = logged_events();
    for (topic, events) in &logged {
        app.publish_events(topic, events);
    }
    // Push everything directly too, so the views do not depend on when the subscription
    // delivers (its deliveries are then duplicates, which change nothing).
    for (_, events) in logged
        .iter()
        .filter(|(topic, _)| *topic != "billing.invoices")
    {
        for event in events {
            assert_eq!(push(&app, event).status, 200);
        }
    }
    let customers = ["c-a", "c-b", "c-c", "c-ghost", "c-billing"];
    let before = views(&app, &customers);
    assert_eq!(
        before["c-a"]["body"]["mean_time_to_resolve_seconds"], 300.0,
        "{before}"
    );
    assert_eq!(before["summary"]["open_total"], 1, "{before}");
    assert_eq!(
        before["alerts"]["alerts"].as_array().unwrap().len(),
        2,
        "{before}"
    );

    // An event that reached insights but is not in any log: a rebuild must drop it.
    push_applied(
        &app,
        &customer_event("not-logged", "c-ghost", "Ghost", "pro", 1),
    );
    assert_eq!(app.get("/insights/support/customers/c-ghost").status, 200);

    let response = app.post("/insights/rebuild", JSON, "");
    assert_eq!(response.status, 200, "{}", response.text());
    let report = response.json();
    assert_eq!(report["replayed"], 14, "{report}");
    assert_eq!(
        report["topics"],
        json!(["support.customers", "support.tickets", "telemetry.alerts"])
    );
    assert_eq!(views(&app, &customers), before);
    assert_eq!(app.get("/insights/support/customers/c-ghost").status, 404);

    // Again: the same result, and live pushes are still deduplicated after it.
    let response = app.post("/insights/rebuild", JSON, "");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(views(&app, &customers), before);
    assert_eq!(push(&app, &logged[0].1[0]).json()["status"], "duplicate");
}

#[test]
fn a_rebuild_of_empty_logs_empties_the_views() {
    let app = TestApp::start_main_app();
    push_applied(&app, &customer_event("c1", "c-1", "Ada", "pro", 1));
    let response = app.post("/insights/rebuild", JSON, "");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["replayed"], 0);
    assert_eq!(response.json()["topics"], json!([]));
    assert_eq!(app.get("/insights/support/customers/c-1").status, 404);
    assert_eq!(app.get_json("/insights/support/summary")["customers"], 0);
}

// --- Flows through the other services (support, telemetry -> events -> insights) -------------

fn put_customer(app: &TestApp, id: &str) {
    let body = json!({"name": "Grace Hopper", "email": "grace@example.com", "tier": "enterprise"});
    let response = app.put_json(&format!("/support/customers/{id}"), &body);
    assert!(
        matches!(response.status, 200 | 201),
        "PUT customer: {} {}",
        response.status,
        response.text()
    );
}

/// Opens a ticket through support; its id from the `Location` header.
fn open_ticket(app: &TestApp, customer: &str, priority: &str) -> String {
    let body = json!({"subject": "Cannot log in", "description": "Since this morning", "priority": priority});
    let response = app.post_json(&format!("/support/customers/{customer}/tickets"), &body);
    assert_eq!(response.status, 201, "POST ticket: {}", response.text());
    let location = response.header("location").expect("a Location header");
    location.rsplit('/').next().unwrap().to_owned()
}

/// Resolves a ticket through support.
fn resolve_ticket(app: &TestApp, ticket: &str) {
    let body = json!({"status": "resolved"});
    let response = app.send_json("PATCH", &format!("/support/tickets/{ticket}"), &[], &body);
    assert_eq!(response.status, 200, "PATCH ticket: {}", response.text());
}

/// Polls the active alerts until `sensor` has one (`present`) or has none; returns its alert.
fn active_alert_of(app: &TestApp, sensor: &str, present: bool) -> Option<Value> {
    let what = format!(
        "{} active alert for {sensor}",
        if present { "an" } else { "no" }
    );
    eventually(FLOW_DEADLINE, &what, || {
        let alerts = app.get_json("/insights/telemetry/alerts");
        let alert = alerts["alerts"]
            .as_array()
            .and_then(|all| all.iter().find(|a| a["sensor_id"] == sensor).cloned());
        if alert.is_some() == present {
            Ok(alert)
        } else {
            Err(alerts.to_string())
        }
    })
}

fn customer_view_where(app: &TestApp, customer: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    eventually(
        FLOW_DEADLINE,
        &format!("the insights view of {customer}"),
        || {
            let response = app.get(&format!("/insights/support/customers/{customer}"));
            let body = response.text();
            match response.status {
                200 if wanted(&response.json()) => Ok(response.json()),
                status => Err(format!("{status} {body}")),
            }
        },
    )
}

#[test]
fn a_ticket_opened_in_support_reaches_the_customer_view() {
    let app = TestApp::start_main_app();
    put_customer(&app, "flow-1");
    open_ticket(&app, "flow-1", "urgent");
    // The customer and the ticket travel on different topics, so either may arrive first.
    let view = customer_view_where(&app, "flow-1", |v| {
        v["total"] == 1 && v["name"] == "Grace Hopper"
    });
    assert_eq!(view["tier"], "enterprise");
    assert_eq!(
        (view["open"].as_i64(), view["resolved"].as_i64()),
        (Some(1), Some(0))
    );
    let summary = app.get_json("/insights/support/summary");
    assert_eq!(summary["open_by_priority"]["urgent"], 1, "{summary}");
}

#[test]
fn resolving_a_ticket_in_support_updates_mean_time_to_resolve() {
    let app = TestApp::start_main_app();
    put_customer(&app, "flow-2");
    let ticket = open_ticket(&app, "flow-2", "normal");
    customer_view_where(&app, "flow-2", |v| v["open"] == 1);
    resolve_ticket(&app, &ticket);
    let view = customer_view_where(&app, "flow-2", |v| v["resolved"] == 1);
    assert_eq!(view["open"], 0);
    let mttr = view["mean_time_to_resolve_seconds"]
        .as_f64()
        .expect("a mean time to resolve");
    assert!((0.0..60.0).contains(&mttr), "{view}");
    let summary = app.get_json("/insights/support/summary");
    assert_eq!(
        summary["mean_time_to_resolve_seconds"].as_f64(),
        Some(mttr),
        "{summary}"
    );
}

#[test]
fn hot_telemetry_readings_raise_an_alert_and_a_recovery_clears_it() {
    let app = TestApp::start_main_app();
    let now = now_secs();
    let hot = json!([
        {"sensor_id": "freezer-9", "celsius": 36.5, "at": utc(now - 600)},
        {"sensor_id": "freezer-9", "celsius": 37.0, "at": utc(now - 540)},
    ]);
    let response = app.post_json("/telemetry/readings", &hot);
    assert_eq!(response.status, 202, "POST readings: {}", response.text());
    let alert = active_alert_of(&app, "freezer-9", true).expect("an alert");
    assert_eq!(alert["state"], "active");
    assert_eq!(alert["reason"], "above_max");

    let cool = json!([{"sensor_id": "freezer-9", "celsius": 30.0, "at": utc(now - 60)}]);
    let response = app.post_json("/telemetry/readings", &cool);
    assert_eq!(response.status, 202, "POST readings: {}", response.text());
    active_alert_of(&app, "freezer-9", false);
}

#[test]
fn a_rebuild_during_live_traffic_loses_nothing_and_matches_the_live_views() {
    let app = TestApp::start_main_app();
    put_customer(&app, "live-1");
    let first = open_ticket(&app, "live-1", "high");
    resolve_ticket(&app, &first);
    let hot = json!([{"sensor_id": "live-s", "celsius": 39.0, "at": utc(now_secs() - 120)}]);
    assert_eq!(app.post_json("/telemetry/readings", &hot).status, 202);

    // Tickets opened while rebuilds run: each reaches the views by push or by the catch-up pass.
    const DURING: i64 = 15;
    thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..DURING {
                open_ticket(&app, "live-1", "low");
            }
        });
        for _ in 0..3 {
            let response = app.post("/insights/rebuild", JSON, "");
            assert_eq!(response.status, 200, "{}", response.text());
        }
    });
    let view = customer_view_where(&app, "live-1", |v| v["total"] == DURING + 1);
    assert_eq!(
        (view["open"].as_i64(), view["resolved"].as_i64()),
        (Some(DURING), Some(1)),
        "{view}"
    );
    active_alert_of(&app, "live-s", true);

    // Once quiet, a rebuild gives exactly the views the live pushes built.
    let before = views(&app, &["live-1"]);
    let response = app.post("/insights/rebuild", JSON, "");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json()["replayed"],
        DURING + 4,
        "customer, 1+15 opened, 1 updated, 1 warning"
    );
    assert_eq!(views(&app, &["live-1"]), before);
}
