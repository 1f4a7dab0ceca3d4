//! End-to-end tests of the support service (components/support) on a running server: our host by
//! default, the real Spin with `SPIN_BIN=...`. Each test starts its own app with fresh databases.
//! Customers, tickets and listings here; the events the service publishes in `support_events.rs`.
//!
//! Needs every component built (`cargo xtask build`).

#[path = "support_requests.rs"]
mod support_requests;

use std::collections::HashSet;
use std::thread;

use integration_tests::{assert_error, assert_methods_not_allowed, TestApp, TestResponse, JSON};
use serde_json::{json, Value};
use support_requests::{
    customer, given_customer, given_ticket, patch_ticket, pending, post_ticket, put_customer,
};

/// Every ticket id of a listing, walking it page by page with `limit`.
fn walk_pages(app: &TestApp, filter: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("/support/tickets?limit={limit}{filter}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get_json(&path);
        let tickets = page["tickets"].as_array().expect("tickets array");
        assert!(tickets.len() <= limit, "{page}");
        ids.extend(tickets.iter().map(|t| t["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(
                    tickets.len(),
                    limit,
                    "only full pages have a next page: {page}"
                );
                cursor = Some(next.to_owned());
            }
            None => return ids,
        }
    }
    panic!("pagination did not end");
}

// ---------------------------------------------------------------------------
// Customers

#[test]
fn customers_are_created_then_updated_with_versions_and_etags() {
    let app = TestApp::start_main_app();
    let created = put_customer(&app, "cust-1", &customer("Ada Lovelace", "pro"), &[]);
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(
        created.header("location"),
        Some("/support/customers/cust-1")
    );
    let body = created.json();
    assert_eq!(body["id"], "cust-1");
    assert_eq!(body["name"], "Ada Lovelace");
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["tier"], "pro");
    assert_eq!(body["phone"], "+41791234567");
    assert_eq!(body["version"], 1);
    assert_eq!(body["created_at"], body["updated_at"]);

    let read = app.get("/support/customers/cust-1");
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag"), Some("\"1\""));
    let read = read.json();
    assert_eq!(read["open_tickets"], 0);
    assert_eq!(read["recent_tickets"], json!([]));
    assert_eq!(read["name"], "Ada Lovelace");

    // A change is a new version; phone omitted = no phone.
    let changed = json!({ "name": "Ada King", "email": "ada@example.com", "tier": "enterprise" });
    let updated = put_customer(&app, "cust-1", &changed, &[]);
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.header("etag"), Some("\"2\""));
    assert_eq!(updated.header("location"), None);
    let updated = updated.json();
    assert_eq!(
        (updated["version"].clone(), updated["tier"].clone()),
        (json!(2), json!("enterprise"))
    );
    assert_eq!(updated["phone"], Value::Null);
    assert_eq!(updated["created_at"], body["created_at"]);

    // The same details again change nothing.
    let same = put_customer(&app, "cust-1", &changed, &[]);
    assert_eq!(same.status, 200);
    assert_eq!(same.header("etag"), Some("\"2\""));
    assert_eq!(same.json(), updated);
    assert_eq!(app.get_json("/support/customers/cust-1")["version"], 2);
}

#[test]
fn invalid_customers_are_refused_naming_the_problem() {
    let app = TestApp::start_main_app();
    let cases = [
        (
            json!({ "name": "", "email": "a@b.io", "tier": "free" }),
            "name",
        ),
        (
            json!({ "name": "x".repeat(201), "email": "a@b.io", "tier": "free" }),
            "name",
        ),
        (
            json!({ "name": "n", "email": "not-an-email", "tier": "free" }),
            "email",
        ),
        (
            json!({ "name": "n", "email": "a@b", "tier": "free" }),
            "email",
        ),
        (
            json!({ "name": "n", "email": "a@b.io", "tier": "gold" }),
            "tier",
        ),
        (
            json!({ "name": "n", "email": "a@b.io", "tier": "free", "phone": "0791234567" }),
            "phone",
        ),
        (
            json!({ "name": "n", "email": "a@b.io", "tier": "free", "phone": "+123" }),
            "phone",
        ),
        (
            json!({ "name": "n", "email": "a@b.io", "tier": "free", "vip": true }),
            "vip",
        ),
        (json!({ "name": "n", "tier": "free" }), "email"),
        (json!(["n"]), "invalid customer"),
    ];
    for (body, word) in cases {
        assert_error(&put_customer(&app, "c1", &body, &[]), 400, &[word]);
    }
    assert_error(
        &app.put("/support/customers/c1", JSON, "{\"name\": "),
        400,
        &["invalid JSON"],
    );
    assert_error(
        &app.put("/support/customers/c1", "text/plain", "name=n"),
        415,
        &["content-type"],
    );
    assert_error(
        &put_customer(&app, "bad.id", &customer("n", "free"), &[]),
        400,
        &["customer id", "bad.id"],
    );
    let huge =
        json!({ "name": "n", "email": "a@b.io", "tier": "free", "x": "y".repeat(1_100_000) });
    assert_error(&put_customer(&app, "c1", &huge, &[]), 413, &["too large"]);
    // Nothing was created by any of them.
    assert_error(&app.get("/support/customers/c1"), 404, &["c1"]);
}

#[test]
fn a_stale_if_match_changes_nothing() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    let v2 = put_customer(
        &app,
        "c1",
        &customer("Second", "pro"),
        &[("if-match", "\"1\"")],
    );
    assert_eq!(v2.status, 200, "{}", v2.text());
    assert_eq!(v2.header("etag"), Some("\"2\""));

    // A writer still holding version 1 loses.
    let stale = put_customer(
        &app,
        "c1",
        &customer("Stale", "free"),
        &[("if-match", "\"1\"")],
    );
    assert_error(&stale, 412, &["version 2"]);
    let read = app.get("/support/customers/c1");
    assert_eq!(read.header("etag"), Some("\"2\""));
    let read = read.json();
    assert_eq!(
        (
            read["name"].clone(),
            read["tier"].clone(),
            read["version"].clone()
        ),
        (json!("Second"), json!("pro"), json!(2))
    );
    // One event per change, none for the refused write (all forwarded once the outbox is empty).
    app.wait_for_empty_outbox("support");
    let versions: Vec<Value> = app
        .event_log("support.customers")
        .iter()
        .map(|e| e["data"]["customer"]["version"].clone())
        .collect();
    assert_eq!(versions, [json!(1), json!(2)]);

    // If-Match on a customer that does not exist: 412, and it is not created.
    assert_error(
        &put_customer(&app, "c2", &customer("n", "free"), &[("if-match", "\"1\"")]),
        412,
        &["does not exist"],
    );
    assert_error(&app.get("/support/customers/c2"), 404, &["c2"]);

    // If-None-Match: * creates only.
    assert_error(
        &put_customer(
            &app,
            "c1",
            &customer("n", "free"),
            &[("if-none-match", "*")],
        ),
        412,
        &["already exists"],
    );
    assert_eq!(app.get_json("/support/customers/c1")["version"], 2);
    let created = put_customer(
        &app,
        "c3",
        &customer("n", "free"),
        &[("if-none-match", "*")],
    );
    assert_eq!(created.status, 201, "{}", created.text());
}

#[test]
fn unknown_resources_are_404_and_wrong_methods_405() {
    let app = TestApp::start_main_app();
    assert_error(&app.get("/support/customers/nobody"), 404, &["nobody"]);
    assert_error(
        &app.get("/support/customers/not%20valid"),
        404,
        &["not%20valid"],
    );
    assert_error(
        &post_ticket(&app, "nobody", &json!({ "subject": "s" }), &[]),
        404,
        &["nobody"],
    );
    assert_error(&app.get("/support/tickets/999"), 404, &["999"]);
    assert_error(&app.get("/support/tickets/abc"), 404, &["abc"]);
    assert_error(
        &patch_ticket(&app, &json!(999), &json!({ "status": "pending" }), &[]),
        404,
        &["999"],
    );
    assert_error(&app.get("/support/nothing"), 404, &["/support/nothing"]);
    assert_methods_not_allowed(
        &app,
        &[
            ("DELETE", "/support/customers/c1", "GET, PUT"),
            ("GET", "/support/customers/c1/tickets", "POST"),
            ("POST", "/support/tickets", "GET"),
            ("PUT", "/support/tickets/1", "GET, PATCH"),
            ("GET", "/support/outbox/flush", "POST"),
        ],
    );
    // Nothing has been written, so nothing waits in the outbox.
    assert_eq!(pending(&app), 0);
}

// ---------------------------------------------------------------------------
// Tickets

#[test]
fn tickets_are_opened_read_and_shown_on_their_customer() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    let body = json!({ "subject": "Printer on fire", "description": "Smoke everywhere", "priority": "urgent" });
    let created = post_ticket(&app, "c1", &body, &[]);
    assert_eq!(created.status, 201, "{}", created.text());
    let ticket = created.json();
    let location = created.header("location").expect("location").to_owned();
    assert_eq!(location, format!("/support/tickets/{}", ticket["id"]));
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.header("idempotent-replayed"), None);
    assert_eq!(ticket["customer_id"], "c1");
    assert_eq!(ticket["subject"], "Printer on fire");
    assert_eq!(ticket["description"], "Smoke everywhere");
    assert_eq!(ticket["priority"], "urgent");
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["version"], 1);
    assert_eq!(ticket["resolved_at"], Value::Null);

    let read = app.get(&location);
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(read.json(), ticket);
    let not_modified = app.request("GET", &location, &[("if-none-match", "\"1\"")], Vec::new());
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("etag"), Some("\"1\""));

    // Defaults: normal priority, empty description.
    let plain = given_ticket(&app, "c1", "Second");
    assert_eq!(
        (plain["priority"].clone(), plain["description"].clone()),
        (json!("normal"), json!(""))
    );

    // The customer shows its open tickets (open or pending) and the 5 newest.
    let mut ids = vec![
        ticket["id"].as_i64().unwrap(),
        plain["id"].as_i64().unwrap(),
    ];
    for n in 3..=6 {
        ids.push(
            given_ticket(&app, "c1", &format!("Ticket {n}"))["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let pending = patch_ticket(&app, &json!(ids[1]), &json!({ "status": "pending" }), &[]);
    assert_eq!(pending.status, 200, "{}", pending.text());
    let resolved = patch_ticket(&app, &json!(ids[2]), &json!({ "status": "resolved" }), &[]);
    assert_eq!(resolved.status, 200, "{}", resolved.text());
    let details = app.get_json("/support/customers/c1");
    assert_eq!(details["open_tickets"], 5);
    let recent: Vec<i64> = details["recent_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    let newest_five: Vec<i64> = ids.iter().rev().take(5).copied().collect();
    assert_eq!(recent, newest_five);
    let summary = &details["recent_tickets"][3];
    assert_eq!(summary["status"], "resolved");
    assert!(summary["resolved_at"].is_string(), "{summary}");
    assert!(
        summary.get("subject").is_some() && summary.get("priority").is_some(),
        "{summary}"
    );
}

#[test]
fn invalid_tickets_are_refused_naming_the_problem() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    let cases = [
        (json!({ "subject": "" }), "subject"),
        (json!({ "subject": "s".repeat(201) }), "subject"),
        (
            json!({ "subject": "s", "description": "d".repeat(10_001) }),
            "description",
        ),
        (json!({ "subject": "s", "priority": "asap" }), "priority"),
        (json!({ "subject": "s", "status": "closed" }), "status"),
        (json!({ "description": "no subject" }), "subject"),
    ];
    for (body, word) in cases {
        assert_error(&post_ticket(&app, "c1", &body, &[]), 400, &[word]);
    }
    let long_key = "k".repeat(256);
    assert_error(
        &post_ticket(
            &app,
            "c1",
            &json!({ "subject": "s" }),
            &[("idempotency-key", &long_key)],
        ),
        400,
        &["Idempotency-Key"],
    );
    assert_error(
        &app.post("/support/customers/c1/tickets", "text/csv", "s"),
        415,
        &["content-type"],
    );
    assert_eq!(app.get_json("/support/tickets")["tickets"], json!([]));
}

#[test]
fn an_idempotent_retry_returns_the_first_result_and_creates_one_ticket() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    given_customer(&app, "c2");
    let body = json!({ "subject": "Refund", "description": "Charged twice" });
    let key = [("idempotency-key", "refund-0001")];
    let first = post_ticket(&app, "c1", &body, &key);
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);

    // The ticket changes meanwhile; a retry still gets the first result.
    let id = first.json()["id"].clone();
    assert_eq!(
        patch_ticket(&app, &id, &json!({ "status": "pending" }), &[]).status,
        200
    );
    // Same request, other formatting: still the same request.
    let reformatted =
        r#"{ "description": "Charged twice",   "subject": "Refund", "priority": "normal" }"#;
    let retry = app.request(
        "POST",
        "/support/customers/c1/tickets",
        &[("content-type", JSON), key[0]],
        reformatted,
    );
    assert_eq!(retry.status, 201, "{}", retry.text());
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));

    // The same key with a different request is refused.
    let other = post_ticket(&app, "c1", &json!({ "subject": "Something else" }), &key);
    assert_error(&other, 422, &["refund-0001"]);

    let listed = app.get_json("/support/tickets?customer=c1");
    assert_eq!(listed["tickets"].as_array().unwrap().len(), 1, "{listed}");

    // Keys are scoped to the customer: another customer's ticket with the same key is new.
    let elsewhere = post_ticket(&app, "c2", &body, &key);
    assert_eq!(elsewhere.status, 201);
    assert_eq!(elsewhere.header("idempotent-replayed"), None);
    assert_ne!(elsewhere.json()["id"], id);
    // A different key is a different request.
    let fresh = post_ticket(&app, "c1", &body, &[("idempotency-key", "refund-0002")]);
    assert_eq!(fresh.status, 201);
    assert_ne!(fresh.json()["id"], id);
    // Unknown customer with a key: 404, and the key is not used up.
    assert_error(&post_ticket(&app, "c9", &body, &key), 404, &["c9"]);
}

#[test]
fn concurrent_retries_with_one_key_create_exactly_one_ticket() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    let body = json!({ "subject": "Outage", "priority": "high" });
    let responses: Vec<TestResponse> = thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                scope.spawn(|| post_ticket(&app, "c1", &body, &[("idempotency-key", "outage-42")]))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("request thread"))
            .collect()
    });
    let first = &responses[0];
    for response in &responses {
        assert_eq!(response.status, 201, "{}", response.text());
        assert_eq!(response.body, first.body);
        assert_eq!(response.header("location"), first.header("location"));
    }
    let replayed = responses
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, responses.len() - 1, "exactly one created it");
    let listed = app.get_json("/support/tickets?customer=c1");
    assert_eq!(listed["tickets"].as_array().unwrap().len(), 1, "{listed}");
}

#[test]
fn ticket_statuses_follow_the_help_desk_rules() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    let ticket = given_ticket(&app, "c1", "Cannot log in");
    let id = ticket["id"].clone();
    let step = |body: Value, version: i64| -> Value {
        let response = patch_ticket(&app, &id, &body, &[]);
        assert_eq!(response.status, 200, "{body}: {}", response.text());
        assert_eq!(
            response.header("etag"),
            Some(format!("\"{version}\"").as_str())
        );
        let ticket = response.json();
        assert_eq!(ticket["version"], version, "{ticket}");
        ticket
    };
    assert_eq!(step(json!({ "status": "pending" }), 2)["status"], "pending");
    assert_eq!(
        step(json!({ "status": "open", "priority": "high" }), 3)["priority"],
        "high"
    );
    let resolved = step(json!({ "status": "resolved" }), 4);
    assert!(resolved["resolved_at"].is_string(), "{resolved}");
    let reopened = step(json!({ "status": "open" }), 5);
    assert_eq!(reopened["resolved_at"], Value::Null);

    // Not allowed from open: closed. The 409 names where it may go.
    let skip = patch_ticket(&app, &id, &json!({ "status": "closed" }), &[]);
    assert_error(&skip, 409, &["open", "closed", "pending, resolved"]);

    // A patch that changes nothing: 200, same version.
    let same = step(json!({ "status": "open", "priority": "high" }), 5);
    assert_eq!(same, reopened);
    assert_eq!(step(json!({}), 5), reopened);

    // A stale If-Match: 412 and nothing changes; the current one works.
    let stale = patch_ticket(
        &app,
        &id,
        &json!({ "status": "pending" }),
        &[("if-match", "\"4\"")],
    );
    assert_error(&stale, 412, &["version 5"]);
    assert_eq!(
        app.get_json(&format!("/support/tickets/{id}"))["status"],
        "open"
    );
    let matched = patch_ticket(
        &app,
        &id,
        &json!({ "status": "resolved" }),
        &[("if-match", "\"5\"")],
    );
    assert_eq!(matched.status, 200, "{}", matched.text());
    let resolved_again = matched.json();
    assert!(
        resolved_again["resolved_at"].is_string(),
        "{resolved_again}"
    );

    // Closing keeps the time it was resolved.
    let closed = step(json!({ "status": "closed" }), 7);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["resolved_at"], resolved_again["resolved_at"]);
    // Closed is final.
    for change in [
        json!({ "status": "open" }),
        json!({ "priority": "low" }),
        json!({ "status": "resolved" }),
    ] {
        assert_error(&patch_ticket(&app, &id, &change, &[]), 409, &["closed"]);
    }
    assert_eq!(step(json!({ "status": "closed" }), 7), closed);

    // Bad patches.
    assert_error(
        &patch_ticket(&app, &id, &json!({ "status": "done" }), &[]),
        400,
        &["status", "done"],
    );
    assert_error(
        &patch_ticket(&app, &id, &json!({ "subject": "x" }), &[]),
        400,
        &["subject"],
    );
    assert_error(
        &patch_ticket(&app, &id, &json!({ "status": null }), &[]),
        400,
        &["status"],
    );
    let text = app.request(
        "PATCH",
        &format!("/support/tickets/{id}"),
        &[("content-type", "text/plain")],
        "x",
    );
    assert_error(&text, 415, &["merge-patch"]);
    let plain_json = app.request(
        "PATCH",
        &format!("/support/tickets/{id}"),
        &[("content-type", JSON)],
        r#"{"status": "closed"}"#,
    );
    assert_eq!(plain_json.status, 200, "{}", plain_json.text());
}

// ---------------------------------------------------------------------------
// Listing

#[test]
fn ticket_pages_walk_every_ticket_exactly_once_newest_first() {
    let app = TestApp::start_main_app();
    given_customer(&app, "c1");
    given_customer(&app, "c2");
    let mut all = Vec::new();
    let mut of_c1 = Vec::new();
    for n in 0..25 {
        let owner = if n % 3 == 0 { "c2" } else { "c1" };
        let id = given_ticket(&app, owner, &format!("T{n}"))["id"]
            .as_i64()
            .unwrap();
        all.push(id);
        if owner == "c1" {
            of_c1.push(id);
        }
    }
    let pending: Vec<i64> = of_c1.iter().step_by(4).copied().collect();
    for id in &pending {
        assert_eq!(
            patch_ticket(&app, &json!(id), &json!({ "status": "pending" }), &[]).status,
            200
        );
    }
    let newest_first = |ids: &[i64]| ids.iter().rev().copied().collect::<Vec<i64>>();

    assert_eq!(walk_pages(&app, "", 7), newest_first(&all));
    assert_eq!(walk_pages(&app, "", 100), newest_first(&all));
    assert_eq!(walk_pages(&app, "", 1), newest_first(&all));
    assert_eq!(walk_pages(&app, "", 25), newest_first(&all));
    assert_eq!(walk_pages(&app, "&customer=c1", 4), newest_first(&of_c1));
    assert_eq!(
        walk_pages(&app, "&customer=c1&status=pending", 2),
        newest_first(&pending)
    );
    assert_eq!(walk_pages(&app, "&customer=nobody", 5), Vec::<i64>::new());
    let open_of_c1: Vec<i64> = of_c1
        .iter()
        .filter(|id| !pending.contains(id))
        .copied()
        .collect();
    assert_eq!(
        walk_pages(&app, "&status=open&customer=c1", 3),
        newest_first(&open_of_c1)
    );

    // A ticket added while walking does not disturb the pages after the cursor.
    let first = app.get_json("/support/tickets?limit=10");
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    given_ticket(&app, "c1", "Late");
    let second = app.get_json(&format!("/support/tickets?limit=10&cursor={cursor}"));
    let seen: Vec<i64> = [first, second]
        .iter()
        .flat_map(|page| page["tickets"].as_array().unwrap().clone())
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, newest_first(&all)[..20].to_vec());
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 20);

    // Default page size is 20.
    let default_page = app.get_json("/support/tickets");
    assert_eq!(default_page["tickets"].as_array().unwrap().len(), 20);
    assert!(default_page["next_cursor"].is_string());

    for (query, word) in [
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("customer=a.b", "customer"),
        ("sort=asc", "sort"),
    ] {
        assert_error(&app.get(&format!("/support/tickets?{query}")), 400, &[word]);
    }
}
