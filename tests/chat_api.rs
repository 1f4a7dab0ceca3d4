//! End-to-end tests of the chat service (components/chat) through the gateway, on a running
//! server: our host by default, the real Spin with `SPIN_BIN=...`. Each test starts its own app
//! with fresh databases.
//!
//! The test of published events reads the `events` service's log (`GET /events/{topic}`), so it
//! needs that service too. Needs every component built (`cargo xtask build`).

use std::collections::HashSet;
use std::thread;

use integration_tests::{assert_error, assert_methods_not_allowed, TestApp, TestResponse, JSON};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Helpers

fn post_conversation(app: &TestApp, body: &Value) -> TestResponse {
    app.post_json("/chat/conversations", body)
}

/// Starts a conversation of `members`, asserting it worked; returns its id.
fn given_conversation(app: &TestApp, members: &[&str]) -> i64 {
    let created = post_conversation(app, &json!({ "members": members }));
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["id"].as_i64().expect("an id")
}

fn send(
    app: &TestApp,
    id: i64,
    sender: &str,
    text: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let path = format!("/chat/conversations/{id}/messages");
    app.send_json(
        "POST",
        &path,
        headers,
        &json!({ "sender": sender, "text": text }),
    )
}

/// Sends a message, asserting it worked; returns its seq.
fn given_message(app: &TestApp, id: i64, sender: &str, text: &str) -> i64 {
    let sent = send(app, id, sender, text, &[]);
    assert_eq!(sent.status, 201, "{}", sent.text());
    sent.json()["seq"].as_i64().expect("a seq")
}

/// Every message of a conversation, following `next_after` in pages of `limit`.
fn all_messages(app: &TestApp, id: i64, limit: usize) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let page = app.get_json(&format!(
            "/chat/conversations/{id}/messages?after={after}&limit={limit}"
        ));
        let batch = page["messages"].as_array().expect("messages").clone();
        assert!(batch.len() <= limit, "{page}");
        messages.extend(batch);
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => return messages,
        }
    }
}

/// The ids on one page of `member`'s conversations, and its next cursor.
fn conversation_page(
    app: &TestApp,
    member: &str,
    limit: usize,
    cursor: Option<&str>,
) -> (Vec<i64>, Option<String>) {
    let mut path = format!("/chat/conversations?member={member}&limit={limit}");
    if let Some(cursor) = cursor {
        path.push_str(&format!("&cursor={cursor}"));
    }
    let page = app.get_json(&path);
    let ids = page["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .map(|c| c["id"].as_i64().expect("an id"))
        .collect();
    (ids, page["next_cursor"].as_str().map(str::to_owned))
}

fn seqs(messages: &[Value]) -> Vec<i64> {
    messages
        .iter()
        .map(|m| m["seq"].as_i64().expect("a seq"))
        .collect()
}

// ---------------------------------------------------------------------------
// Conversations

#[test]
fn conversations_are_started_and_read() {
    let app = TestApp::start_main_app();
    let created = post_conversation(
        &app,
        &json!({ "members": ["ada", "bob", "cy_3"], "title": "Lunch" }),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.header("content-type"), Some(JSON));
    let body = created.json();
    let id = body["id"].as_i64().expect("an id");
    assert_eq!(
        created.header("location"),
        Some(format!("/chat/conversations/{id}").as_str())
    );
    assert_eq!(body["members"], json!(["ada", "bob", "cy_3"]));
    assert_eq!(body["title"], "Lunch");
    assert_eq!(body["message_count"], 0);
    assert_eq!(body["created_at"], body["last_activity_at"]);

    let read = app.get_json(&format!("/chat/conversations/{id}"));
    assert_eq!(read, body);

    // Without a title, it is null; ids are new each time.
    let other = post_conversation(&app, &json!({ "members": ["ada", "bob"] })).json();
    assert_eq!(other["title"], Value::Null);
    assert_ne!(other["id"], body["id"]);

    for path in [
        "/chat/conversations/999",
        "/chat/conversations/abc",
        "/chat/conversations/0",
    ] {
        assert_error(&app.get(path), 404, &["no conversation"]);
    }
}

#[test]
fn invalid_conversations_are_refused_naming_the_problem() {
    let app = TestApp::start_main_app();
    let fifty_one: Vec<String> = (0..51).map(|i| format!("u{i}")).collect();
    let cases = [
        (json!({ "members": ["ada"] }), "2 to 50 members"),
        (json!({ "members": [] }), "2 to 50 members"),
        (json!({ "members": fifty_one }), "got 51"),
        (json!({ "members": ["ada", "bob", "ada"] }), "listed twice"),
        (json!({ "members": ["ada", "Bob"] }), "members[1]"),
        (
            json!({ "members": ["ada", "a".repeat(33)] }),
            "not a user id",
        ),
        (json!({ "members": ["ada", 5] }), "invalid conversation"),
        (json!({ "members": ["ada", "bob"], "title": "  " }), "title"),
        (
            json!({ "members": ["ada", "bob"], "title": "a\nb" }),
            "title",
        ),
        (
            json!({ "members": ["ada", "bob"], "topic": "x" }),
            "unknown field",
        ),
        (json!({ "title": "x" }), "members"),
        (json!(["ada", "bob"]), "invalid conversation"),
    ];
    for (body, word) in cases {
        assert_error(&post_conversation(&app, &body), 400, &[word]);
    }
    assert_error(
        &app.post("/chat/conversations", JSON, "{\"members\": "),
        400,
        &["invalid JSON"],
    );
    assert_error(&app.post("/chat/conversations", JSON, ""), 400, &["empty"]);
    assert_error(
        &app.post("/chat/conversations", "text/plain", "ada,bob"),
        415,
        &["content-type"],
    );
    let huge = json!({ "members": ["ada", "bob"], "title": "t".repeat(70_000) });
    assert_error(&post_conversation(&app, &huge), 413, &["too large"]);
    // Nothing was created by any of them.
    let (ids, _) = conversation_page(&app, "ada", 100, None);
    assert!(ids.is_empty(), "{ids:?}");
}

#[test]
fn unknown_resources_are_404_and_wrong_methods_405() {
    let app = TestApp::start_main_app();
    let id = given_conversation(&app, &["ada", "bob"]);
    for path in [
        "/chat".to_owned(),
        format!("/chat/conversations/{id}/members"),
        format!("/chat/conversations/{id}/messages/1"),
    ] {
        assert_error(&app.get(&path), 404, &["no such resource"]);
    }
    let conversation = format!("/chat/conversations/{id}");
    let messages = format!("/chat/conversations/{id}/messages");
    assert_methods_not_allowed(
        &app,
        &[
            ("DELETE", "/chat/conversations", "GET, POST"),
            ("PUT", &conversation, "GET"),
            ("DELETE", &conversation, "GET"),
            ("PATCH", &messages, "GET, POST"),
            ("POST", "/chat/outbox", "GET"),
            ("GET", "/chat/outbox/flush", "POST"),
            ("POST", "/chat/health", "GET"),
        ],
    );
}

// ---------------------------------------------------------------------------
// Messages

#[test]
fn messages_are_numbered_from_one_and_read_in_order() {
    let app = TestApp::start_main_app();
    let id = given_conversation(&app, &["ada", "bob"]);
    let first = send(&app, id, "ada", "hello", &[]);
    assert_eq!(first.status, 201, "{}", first.text());
    let body = first.json();
    assert_eq!(body["conversation_id"], id);
    assert_eq!(body["seq"], 1);
    assert_eq!(body["sender"], "ada");
    assert_eq!(body["text"], "hello");
    assert!(body["sent_at"].is_string(), "{body}");
    for (n, text) in ["hi ada", "lunch?", "sure", "noon"].iter().enumerate() {
        let sender = if n % 2 == 0 { "bob" } else { "ada" };
        assert_eq!(given_message(&app, id, sender, text), n as i64 + 2);
    }
    let longest = "é".repeat(4000);
    assert_eq!(given_message(&app, id, "bob", &longest), 6);

    let page = app.get_json(&format!(
        "/chat/conversations/{id}/messages?after=2&limit=2"
    ));
    assert_eq!(seqs(page["messages"].as_array().unwrap()), [3, 4]);
    assert_eq!(page["messages"][0]["text"], "lunch?");
    assert_eq!(page["next_after"], 4);
    let rest = app.get_json(&format!("/chat/conversations/{id}/messages?after=4"));
    assert_eq!(seqs(rest["messages"].as_array().unwrap()), [5, 6]);
    assert_eq!(rest["next_after"], Value::Null);
    assert_eq!(rest["messages"][1]["text"], longest);
    let none = app.get_json(&format!("/chat/conversations/{id}/messages?after=6"));
    assert_eq!(none, json!({ "messages": [], "next_after": null }));

    let conversation = app.get_json(&format!("/chat/conversations/{id}"));
    assert_eq!(conversation["message_count"], 6);
    assert_ne!(conversation["last_activity_at"], conversation["created_at"]);

    let messages = format!("/chat/conversations/{id}/messages");
    for (query, word) in [
        ("limit=201", "limit"),
        ("limit=0", "limit"),
        ("after=-1", "after"),
        ("before=2", "before"),
    ] {
        assert_error(&app.get(&format!("{messages}?{query}")), 400, &[word]);
    }
    assert_error(
        &app.get("/chat/conversations/999/messages"),
        404,
        &["no conversation"],
    );
    assert_error(
        &send(&app, 999, "ada", "hi", &[]),
        404,
        &["no conversation"],
    );
}

#[test]
fn invalid_messages_and_strangers_are_refused_and_store_nothing() {
    let app = TestApp::start_main_app();
    let id = given_conversation(&app, &["ada", "bob"]);
    let path = format!("/chat/conversations/{id}/messages");
    let cases = [
        (json!({ "sender": "ada", "text": "" }), "text"),
        (
            json!({ "sender": "ada", "text": "x".repeat(4001) }),
            "got 4001",
        ),
        (json!({ "sender": "Ada", "text": "hi" }), "sender"),
        (json!({ "text": "hi" }), "sender"),
        (json!({ "sender": "ada" }), "text"),
        (
            json!({ "sender": "ada", "text": "hi", "to": "bob" }),
            "unknown field",
        ),
    ];
    for (body, word) in cases {
        assert_error(&app.post_json(&path, &body), 400, &[word]);
    }
    assert_error(&app.post(&path, "text/plain", "hi"), 415, &["content-type"]);
    let huge = json!({ "sender": "ada", "text": "x".repeat(70_000) });
    assert_error(&app.post_json(&path, &huge), 413, &["too large"]);
    let bad_key = send(&app, id, "ada", "hi", &[("idempotency-key", "ключ")]);
    assert_error(&bad_key, 400, &["Idempotency-Key"]);

    let stranger = send(&app, id, "eve", "let me in", &[]);
    assert_error(&stranger, 422, &["\"eve\"", "not a member"]);

    assert!(all_messages(&app, id, 50).is_empty());
    // The refusals took no seq: the next message is the first.
    assert_eq!(given_message(&app, id, "bob", "first"), 1);
}

#[test]
fn concurrent_sends_get_every_seq_once_without_gaps() {
    let app = TestApp::start_main_app();
    let id = given_conversation(
        &app,
        &["ada", "bob", "cy", "dee", "eli", "fay", "gus", "hal"],
    );
    let senders = ["ada", "bob", "cy", "dee", "eli", "fay", "gus", "hal"];
    let per_thread: Vec<Vec<i64>> = thread::scope(|scope| {
        let handles: Vec<_> = senders
            .iter()
            .map(|sender| {
                let app = &app;
                scope.spawn(move || {
                    (0..10)
                        .map(|n| given_message(app, id, sender, &format!("{sender} {n}")))
                        .collect::<Vec<i64>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Each sender's own messages were numbered in the order it sent them.
    for seqs in &per_thread {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    }
    let mut all: Vec<i64> = per_thread.concat();
    all.sort_unstable();
    assert_eq!(all, (1..=80).collect::<Vec<i64>>());

    let stored = all_messages(&app, id, 200);
    assert_eq!(seqs(&stored), (1..=80).collect::<Vec<i64>>());
    // The stored message of each seq is the one that was answered with it.
    for (sender, seqs) in senders.iter().zip(&per_thread) {
        for (n, seq) in seqs.iter().enumerate() {
            let message = &stored[*seq as usize - 1];
            assert_eq!(message["text"], format!("{sender} {n}"), "{message}");
        }
    }
    assert_eq!(
        app.get_json(&format!("/chat/conversations/{id}"))["message_count"],
        80
    );
}

#[test]
fn an_idempotent_retry_returns_the_first_message_and_sends_one() {
    let app = TestApp::start_main_app();
    let id = given_conversation(&app, &["ada", "bob"]);
    let key = [("idempotency-key", "send-1")];
    let first = send(&app, id, "ada", "hello", &key);
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);
    given_message(&app, id, "bob", "between");

    let retry = send(&app, id, "ada", "hello", &key);
    assert_eq!(retry.status, 201, "{}", retry.text());
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.text(), first.text());
    assert_eq!(retry.json()["seq"], 1);

    let other = send(&app, id, "ada", "hello again", &key);
    assert_error(&other, 422, &["send-1", "different"]);
    let other_sender = send(&app, id, "bob", "hello", &key);
    assert_error(&other_sender, 422, &["send-1"]);
    // The key is the conversation's: another conversation may use it.
    let elsewhere = given_conversation(&app, &["ada", "bob"]);
    let there = send(&app, elsewhere, "ada", "hello", &key);
    assert_eq!(
        (there.status, there.header("idempotent-replayed")),
        (201, None)
    );

    assert_eq!(seqs(&all_messages(&app, id, 50)), [1, 2]);
}

#[test]
fn concurrent_retries_with_one_key_send_exactly_one_message() {
    let app = TestApp::start_main_app();
    let id = given_conversation(&app, &["ada", "bob"]);
    let responses: Vec<TestResponse> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| send(&app, id, "ada", "once", &[("idempotency-key", "k-9")])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let bodies: HashSet<String> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text());
            r.text()
        })
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let replayed = responses
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 7);
    assert_eq!(seqs(&all_messages(&app, id, 50)), [1]);
}

// ---------------------------------------------------------------------------
// A member's conversations

#[test]
fn a_members_conversations_are_listed_most_recently_active_first() {
    let app = TestApp::start_main_app();
    let a = given_conversation(&app, &["ada", "bob"]);
    let b = given_conversation(&app, &["ada", "cy"]);
    let c = given_conversation(&app, &["bob", "cy"]);
    let (ada, next) = conversation_page(&app, "ada", 20, None);
    assert_eq!((ada, next), (vec![b, a], None));
    given_message(&app, a, "bob", "bump");
    assert_eq!(conversation_page(&app, "ada", 20, None).0, [a, b]);
    assert_eq!(conversation_page(&app, "bob", 20, None).0, [a, c]);
    assert_eq!(
        conversation_page(&app, "dee", 20, None).0,
        Vec::<i64>::new()
    );
    let page = app.get_json("/chat/conversations?member=ada&limit=1");
    assert_eq!(page["conversations"][0]["members"], json!(["ada", "bob"]));
    assert_eq!(page["conversations"][0]["message_count"], 1);

    for (query, word) in [
        ("", "member"),
        ("member=Ada", "member"),
        ("member=ada&limit=0", "limit"),
        ("member=ada&limit=101", "limit"),
        ("member=ada&cursor=zzz", "cursor"),
        ("member=ada&page=2", "page"),
    ] {
        assert_error(
            &app.get(&format!("/chat/conversations?{query}")),
            400,
            &[word],
        );
    }
}

#[test]
fn conversation_pages_stay_stable_while_messages_arrive() {
    let app = TestApp::start_main_app();
    // Oldest first: the listing starts from the last one.
    let ids: Vec<i64> = (0..10)
        .map(|_| given_conversation(&app, &["ada", "bob"]))
        .collect();
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let (page, next) = conversation_page(&app, "ada", 3, cursor.as_deref());
        assert!(page.len() <= 3, "{page:?}");
        seen.extend(page.iter().copied());
        pages += 1;
        // Between pages: activity in a conversation already seen, and a new conversation.
        given_message(&app, seen[0], "bob", &format!("while paging {pages}"));
        given_conversation(&app, &["ada", "cy"]);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // Each of the conversations that existed was seen exactly once, newest first; what moved
    // ahead of the cursor did not come back.
    let expected: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 4);
}

// ---------------------------------------------------------------------------
// Events

#[test]
fn every_message_is_published_once_to_the_log() {
    let app = TestApp::start_main_app();
    let id = given_conversation(&app, &["ada", "bob"]);
    given_message(&app, id, "ada", "one");
    let key = [("idempotency-key", "k")];
    assert_eq!(send(&app, id, "bob", "two", &key).status, 201);
    assert_eq!(
        send(&app, id, "bob", "two", &key).status,
        201,
        "a replay publishes nothing"
    );
    assert_eq!(send(&app, id, "eve", "refused", &[]).status, 422);

    let events = app.wait_for_events("chat.messages", 2, |_| true);
    assert_eq!(events.len(), 2, "{events:?}");
    for (event, seq, sender, text) in [(&events[0], 1, "ada", "one"), (&events[1], 2, "bob", "two")]
    {
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["type"], "chat.message.sent");
        assert_eq!(event["source"], "/chat");
        assert_eq!(
            event["subject"],
            format!("conversations/{id}/messages/{seq}")
        );
        let message = &event["data"]["message"];
        assert_eq!(message["conversation_id"], id);
        assert_eq!(
            (&message["seq"], &message["sender"], &message["text"]),
            (&json!(seq), &json!(sender), &json!(text))
        );
    }
    app.wait_for_empty_outbox("chat");
    let flushed = app.post("/chat/outbox/flush", JSON, Vec::new());
    assert_eq!(flushed.status, 200, "{}", flushed.text());
}
