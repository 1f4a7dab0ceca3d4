//! End-to-end tests of the events the support service (components/support) publishes: each
//! change once with its snapshot, in commit order under concurrent writers, and nothing lost when
//! the forward to the log fails (transactional outbox). They read the `events` service's log
//! (`GET /events/{topic}`), so they need that service too. Our host by default, the real Spin with
//! `SPIN_BIN=...`; each test starts its own app with fresh databases.
//!
//! Needs every component built (`cargo xtask build`).

#[path = "support_requests.rs"]
mod support_requests;

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::{TestApp, JSON};
use serde_json::{json, Value};
use support_requests::{
    customer, given_customer, given_ticket, patch_ticket, pending, post_ticket, put_customer,
};

/// Events of a topic in the log, or 0 if the events service cannot say.
fn event_count_or_zero(app: &TestApp, topic: &str) -> usize {
    app.try_event_log(topic).map_or(0, |events| events.len())
}

// ---------------------------------------------------------------------------
// Events

#[test]
fn every_change_is_published_once_with_its_snapshot() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    let same = put_customer(&app, "c1", &customer("Ada Lovelace", "pro"), &[]);
    assert_eq!(same.status, 200, "an unchanged PUT publishes nothing");
    assert_eq!(
        put_customer(&app, "c1", &customer("Ada King", "pro"), &[]).status,
        200
    );
    let ticket = given_ticket(&app, "c1", "Broken");
    let id = ticket["id"].clone();
    assert_eq!(
        patch_ticket(&app, &id, &json!({ "status": "resolved" }), &[]).status,
        200
    );
    assert_eq!(
        patch_ticket(&app, &id, &json!({ "status": "resolved" }), &[]).status,
        200,
        "no-op"
    );
    assert_eq!(
        patch_ticket(&app, &id, &json!({ "priority": "low" }), &[]).status,
        200
    );
    let retried = post_ticket(
        &app,
        "c1",
        &json!({ "subject": "Again" }),
        &[("idempotency-key", "k")],
    );
    post_ticket(
        &app,
        "c1",
        &json!({ "subject": "Again" }),
        &[("idempotency-key", "k")],
    );

    let customers = app.wait_for_events("support.customers", 2, |_| true);
    assert_eq!(customers.len(), 2, "{customers:?}");
    for (event, version, name) in [
        (&customers[0], 1, "Ada Lovelace"),
        (&customers[1], 2, "Ada King"),
    ] {
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["type"], "support.customer.upserted");
        assert_eq!(event["source"], "/support");
        assert_eq!(event["subject"], "customers/c1");
        let snapshot = &event["data"]["customer"];
        assert_eq!(snapshot["version"], version);
        assert_eq!(snapshot["name"], name);
        for field in [
            "id",
            "name",
            "email",
            "tier",
            "phone",
            "version",
            "created_at",
            "updated_at",
        ] {
            assert!(
                snapshot.get(field).is_some(),
                "{field} missing in {snapshot}"
            );
        }
    }

    let tickets = app.wait_for_events("support.tickets", 4, |_| true);
    assert_eq!(tickets.len(), 4, "{tickets:?}");
    let types: Vec<&str> = tickets
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "support.ticket.opened",
            "support.ticket.updated",
            "support.ticket.updated",
            "support.ticket.opened"
        ]
    );
    let opened = &tickets[0]["data"];
    assert_eq!(tickets[0]["subject"], format!("tickets/{id}"));
    assert_eq!(opened["previous_status"], Value::Null);
    assert_eq!(opened["ticket"]["version"], 1);
    assert_eq!(opened["ticket"]["status"], "open");
    assert_eq!(opened["ticket"]["customer_id"], "c1");
    for field in [
        "id",
        "customer_id",
        "subject",
        "priority",
        "status",
        "version",
        "created_at",
        "updated_at",
        "resolved_at",
    ] {
        assert!(
            opened["ticket"].get(field).is_some(),
            "{field} missing in {opened}"
        );
    }
    let resolved = &tickets[1]["data"];
    assert_eq!(
        (
            resolved["previous_status"].clone(),
            resolved["ticket"]["status"].clone()
        ),
        (json!("open"), json!("resolved"))
    );
    assert_eq!(resolved["ticket"]["version"], 2);
    assert!(resolved["ticket"]["resolved_at"].is_string());
    let reprioritised = &tickets[2]["data"];
    assert_eq!(reprioritised["previous_status"], "resolved");
    assert_eq!(reprioritised["ticket"]["priority"], "low");
    assert_eq!(reprioritised["ticket"]["version"], 3);
    assert_eq!(tickets[3]["data"]["ticket"]["id"], retried.json()["id"]);
    let ids: HashSet<&str> = tickets.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4, "event ids are unique");
    app.wait_for_empty_outbox("support");
}

#[test]
fn a_write_is_answered_before_its_events_are_forwarded() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    app.wait_for_empty_outbox("support");
    // Another process holds the event log's write lock: a publish now waits for it, up to
    // SQLite's busy timeout (5 s).
    let log = rusqlite::Connection::open(app.temp_dir().join("events.db")).unwrap();
    log.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let ticket = given_ticket(&app, "c1", "While the log is locked");
    let answered_after = started.elapsed();
    assert!(
        answered_after < Duration::from_millis(2500),
        "the client waited {answered_after:?}, as if for the publish"
    );
    assert_eq!(pending(&app), 1, "its event still waits in the outbox");
    log.execute_batch("ROLLBACK").unwrap();
    // The forward that was waiting for the lock goes through once it is free.
    let events = app.wait_for_events("support.tickets", 1, |_| true);
    assert_eq!(events[0]["data"]["ticket"]["id"], ticket["id"]);
    app.wait_for_empty_outbox("support");
}

#[test]
fn concurrent_writers_publish_every_event_once_in_commit_order() {
    let app = TestApp::start_main_app();
    for n in 0..8 {
        given_customer(&app, &format!("c{n}"));
    }
    let created: Vec<i64> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let app = &app;
                scope.spawn(move || {
                    (0..8)
                        .map(|i| {
                            given_ticket(app, &format!("c{n}"), &format!("T{i}"))["id"]
                                .as_i64()
                                .unwrap()
                        })
                        .collect::<Vec<i64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("request thread"))
            .collect()
    });
    assert_eq!(created.len(), 64);
    // Forwarding is taken in turns, after each holder's response: soon after the last response,
    // everything is out.
    app.wait_for_empty_outbox("support");
    let published: Vec<i64> = app
        .event_log("support.tickets")
        .iter()
        .map(|e| e["data"]["ticket"]["id"].as_i64().unwrap())
        .collect();
    let mut in_commit_order = created.clone();
    in_commit_order.sort_unstable();
    assert_eq!(
        published, in_commit_order,
        "each ticket once, in the order they were committed"
    );
}

#[test]
fn a_crash_between_commit_and_forward_loses_nothing() {
    // events-down.spin.internal is not an allowed host: every forward fails after the commit.
    let mut app = TestApp::start_main_app_with(&[
        "--variable",
        "events_url=http://events-down.spin.internal",
    ]);
    assert_eq!(pending(&app), 0);
    given_customer(&app, "c1");
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(given_ticket(&app, "c1", &format!("While down {n}"))["id"].clone());
    }
    let patched = patch_ticket(&app, &ids[0], &json!({ "status": "pending" }), &[]);
    assert_eq!(
        patched.status, 200,
        "a failing forward never fails the request"
    );
    assert_eq!(pending(&app), 5);

    app.kill_hard();
    app.restart_with(&[]);
    assert_eq!(pending(&app), 5, "the outbox survived the crash");
    assert_eq!(
        event_count_or_zero(&app, "support.tickets"),
        0,
        "not forwarded yet"
    );
    assert_eq!(
        event_count_or_zero(&app, "support.customers"),
        0,
        "not forwarded yet"
    );

    let flushed = app.post("/support/outbox/flush", JSON, "");
    assert_eq!(flushed.status, 200, "{}", flushed.text());
    assert_eq!(flushed.json(), json!({ "forwarded": 5, "pending": 0 }));
    assert_eq!(pending(&app), 0);

    let customers = app.event_log("support.customers");
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["data"]["customer"]["id"], "c1");
    let tickets = app.event_log("support.tickets");
    let summary: Vec<(Value, Value, Value)> = tickets
        .iter()
        .map(|e| {
            (
                e["type"].clone(),
                e["data"]["ticket"]["id"].clone(),
                e["data"]["ticket"]["version"].clone(),
            )
        })
        .collect();
    let opened = json!("support.ticket.opened");
    assert_eq!(
        summary,
        vec![
            (opened.clone(), ids[0].clone(), json!(1)),
            (opened.clone(), ids[1].clone(), json!(1)),
            (opened, ids[2].clone(), json!(1)),
            (json!("support.ticket.updated"), ids[0].clone(), json!(2)),
        ]
    );
    // Flushing again publishes nothing twice.
    let again = app.post("/support/outbox/flush", JSON, "");
    assert_eq!(again.json(), json!({ "forwarded": 0, "pending": 0 }));
    assert_eq!(app.event_log("support.tickets").len(), 4);
}

#[test]
fn a_flush_while_events_is_unreachable_reports_what_is_left() {
    let app = TestApp::start_main_app_with(&[
        "--variable",
        "events_url=http://events-down.spin.internal",
    ]);
    let empty = app.post("/support/outbox/flush", JSON, "");
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_eq!(empty.json(), json!({ "forwarded": 0, "pending": 0 }));
    given_customer(&app, "c1");
    let report = app.post("/support/outbox/flush", JSON, "");
    assert_eq!(report.status, 200, "{}", report.text());
    let report = report.json();
    assert_eq!(
        (report["forwarded"].clone(), report["pending"].clone()),
        (json!(0), json!(1))
    );
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("support.customers")),
        "{report}"
    );
    assert_eq!(pending(&app), 1);
}
