//! End-to-end tests of the feed service (components/feed) through the gateway, on a running
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

fn following(user: &str, other: &str) -> String {
    format!("/feed/users/{user}/following/{other}")
}

fn follow(app: &TestApp, user: &str, other: &str) -> TestResponse {
    app.request("PUT", &following(user, other), &[], Vec::new())
}

fn unfollow(app: &TestApp, user: &str, other: &str) -> TestResponse {
    app.request("DELETE", &following(user, other), &[], Vec::new())
}

fn post(app: &TestApp, user: &str, text: &str, headers: &[(&str, &str)]) -> TestResponse {
    let path = format!("/feed/users/{user}/posts");
    app.send_json("POST", &path, headers, &json!({ "text": text }))
}

/// Publishes a post, asserting it worked; returns its id.
fn given_post(app: &TestApp, user: &str, text: &str) -> i64 {
    let published = post(app, user, text, &[]);
    assert_eq!(published.status, 201, "{}", published.text());
    published.json()["id"].as_i64().expect("an id")
}

/// The ids on one page of a listing (`/feed/users/{id}/timeline` or `.../posts`), and its next
/// cursor.
fn page(
    app: &TestApp,
    listing: &str,
    limit: usize,
    cursor: Option<&str>,
) -> (Vec<i64>, Option<String>) {
    let mut path = format!("{listing}?limit={limit}");
    if let Some(cursor) = cursor {
        path.push_str(&format!("&cursor={cursor}"));
    }
    let page = app.get_json(&path);
    let posts = page["posts"].as_array().expect("posts");
    assert!(posts.len() <= limit, "{page}");
    let ids = posts
        .iter()
        .map(|p| p["id"].as_i64().expect("an id"))
        .collect();
    (ids, page["next_cursor"].as_str().map(str::to_owned))
}

/// Every post of a listing, following `next_cursor` in pages of `limit`.
fn all_ids(app: &TestApp, listing: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let (batch, next) = page(app, listing, limit, cursor.as_deref());
        ids.extend(batch);
        match next {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
}

fn timeline(user: &str) -> String {
    format!("/feed/users/{user}/timeline")
}

fn posts_of(user: &str) -> String {
    format!("/feed/users/{user}/posts")
}

fn counts(app: &TestApp, user: &str) -> Value {
    app.get_json(&format!("/feed/users/{user}"))
}

// ---------------------------------------------------------------------------
// Following

#[test]
fn a_follow_is_created_once_counted_and_ended() {
    let app = TestApp::start_main_app();
    let created = follow(&app, "ada", "bob");
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.header("content-type"), Some(JSON));
    let body = created.json();
    assert_eq!(
        (&body["user"], &body["following"]),
        (&json!("ada"), &json!("bob"))
    );
    assert!(body["since"].is_string(), "{body}");

    // Again: nothing changes, the first follow is shown.
    let again = follow(&app, "ada", "bob");
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json(), body);
    assert_eq!(follow(&app, "cy", "bob").status, 201);

    assert_eq!(
        counts(&app, "ada"),
        json!({ "id": "ada", "posts": 0, "following": 1, "followers": 0 })
    );
    assert_eq!(
        counts(&app, "bob"),
        json!({ "id": "bob", "posts": 0, "following": 0, "followers": 2 })
    );

    let ended = unfollow(&app, "ada", "bob");
    assert_eq!(ended.status, 204, "{}", ended.text());
    assert!(ended.body.is_empty());
    assert_error(
        &unfollow(&app, "ada", "bob"),
        404,
        &["\"ada\" does not follow \"bob\""],
    );
    assert_error(&unfollow(&app, "bob", "ada"), 404, &["does not follow"]);
    assert_eq!(counts(&app, "ada")["following"], 0);
    assert_eq!(counts(&app, "bob")["followers"], 1);
}

#[test]
fn nobody_follows_themselves_and_ids_have_one_shape() {
    let app = TestApp::start_main_app();
    assert_error(
        &follow(&app, "ada", "ada"),
        422,
        &["\"ada\" cannot follow themselves"],
    );
    assert_error(&unfollow(&app, "ada", "ada"), 422, &["themselves"]);
    for (user, other) in [("Ada", "bob"), ("ada", "b.b"), ("ada", &"b".repeat(33))] {
        assert_error(&follow(&app, user, other), 404, &["no user", "a-z, 0-9"]);
        assert_error(&unfollow(&app, user, other), 404, &["no user"]);
    }
    assert_error(&app.get("/feed/users/Ada"), 404, &["no user \"Ada\""]);
    // A user nobody has named has zeros.
    assert_eq!(
        counts(&app, "nobody"),
        json!({ "id": "nobody", "posts": 0, "following": 0, "followers": 0 })
    );
    assert_eq!(counts(&app, "ada")["following"], 0);
}

// ---------------------------------------------------------------------------
// Posts

#[test]
fn posts_are_published_and_read_newest_first() {
    let app = TestApp::start_main_app();
    let published = post(&app, "ada", "hello, world", &[]);
    assert_eq!(published.status, 201, "{}", published.text());
    assert_eq!(published.header("content-type"), Some(JSON));
    assert_eq!(published.header("idempotent-replayed"), None);
    let body = published.json();
    let id = body["id"].as_i64().expect("an id");
    let location = format!("/feed/users/ada/posts/{id}");
    assert_eq!(published.header("location"), Some(location.as_str()));
    assert_eq!(
        (&body["author"], &body["text"]),
        (&json!("ada"), &json!("hello, world"))
    );
    assert!(body["created_at"].is_string(), "{body}");
    assert_eq!(app.get_json(&location), body);

    let second = given_post(&app, "ada", &"é".repeat(2000));
    let other = given_post(&app, "bob", "not ada's");
    assert!(
        second > id && other > second,
        "ids grow: {id}, {second}, {other}"
    );
    let listed = app.get_json(&posts_of("ada"));
    assert_eq!(listed["posts"][1], body);
    assert_eq!(listed["next_cursor"], Value::Null);
    assert_eq!(all_ids(&app, &posts_of("ada"), 1), [second, id]);
    assert_eq!(counts(&app, "ada")["posts"], 2);

    for path in [
        format!("/feed/users/bob/posts/{id}"),
        "/feed/users/ada/posts/999".to_owned(),
        "/feed/users/ada/posts/abc".to_owned(),
        "/feed/users/ada/posts/0".to_owned(),
    ] {
        assert_error(&app.get(&path), 404, &["no post"]);
    }
}

#[test]
fn invalid_posts_are_refused_naming_the_problem_and_store_nothing() {
    let app = TestApp::start_main_app();
    let path = posts_of("ada");
    let cases = [
        (json!({ "text": "" }), "text: 1 to 2000 characters, got 0"),
        (json!({ "text": "x".repeat(2001) }), "got 2001"),
        (json!({}), "text"),
        (json!({ "text": 5 }), "invalid post"),
        (json!({ "text": "hi", "author": "bob" }), "unknown field"),
        (json!(["hi"]), "JSON object"),
    ];
    for (body, word) in cases {
        assert_error(&app.post_json(&path, &body), 400, &[word]);
    }
    assert_error(
        &app.post(&path, JSON, "{\"text\": "),
        400,
        &["invalid JSON"],
    );
    assert_error(&app.post(&path, JSON, ""), 400, &["empty"]);
    assert_error(&app.post(&path, "text/plain", "hi"), 415, &["content-type"]);
    let huge = json!({ "text": "t".repeat(70_000) });
    assert_error(&app.post_json(&path, &huge), 413, &["too large"]);
    assert_error(&post(&app, "Ada", "hi", &[]), 404, &["no user"]);
    for key in ["", "ключ"] {
        let keyed = post(&app, "ada", "hi", &[("idempotency-key", key)]);
        assert_error(&keyed, 400, &["Idempotency-Key"]);
    }
    assert_eq!(counts(&app, "ada")["posts"], 0);
    assert_eq!(app.get_json(&path)["posts"], json!([]));
}

#[test]
fn unknown_resources_are_404_and_wrong_methods_405() {
    let app = TestApp::start_main_app();
    for path in [
        "/feed",
        "/feed/users",
        "/feed/users/ada/followers",
        "/feed/users/ada/following",
        "/feed/users/ada/posts/1/likes",
    ] {
        assert_error(&app.get(path), 404, &["no such resource"]);
    }
    assert_methods_not_allowed(
        &app,
        &[
            ("GET", &following("ada", "bob"), "PUT, DELETE"),
            ("POST", &following("ada", "bob"), "PUT, DELETE"),
            ("DELETE", &posts_of("ada"), "GET, POST"),
            ("PUT", "/feed/users/ada", "GET"),
            ("DELETE", "/feed/users/ada/posts/1", "GET"),
            ("POST", &timeline("ada"), "GET"),
            ("POST", "/feed/outbox", "GET"),
            ("GET", "/feed/outbox/flush", "POST"),
            ("POST", "/feed/health", "GET"),
        ],
    );
}

#[test]
fn listing_parameters_are_checked() {
    let app = TestApp::start_main_app();
    for listing in [timeline("ada"), posts_of("ada")] {
        for (query, word) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("cursor=junk", "cursor"),
            ("cursor=c8000000000000000", "cursor"),
            ("page=2", "page"),
        ] {
            assert_error(&app.get(&format!("{listing}?{query}")), 400, &[word]);
        }
        let empty = app.get_json(&format!("{listing}?limit=100&cursor=c0000000000000000"));
        assert_eq!(empty, json!({ "posts": [], "next_cursor": null }));
    }
    assert_error(&app.get("/feed/users/A/timeline"), 404, &["no user"]);
}

// ---------------------------------------------------------------------------
// Idempotency

#[test]
fn an_idempotent_retry_returns_the_first_post_and_publishes_one() {
    let app = TestApp::start_main_app();
    let key = [("idempotency-key", "post-1")];
    let first = post(&app, "ada", "once", &key);
    assert_eq!(first.status, 201, "{}", first.text());
    let retry = post(&app, "ada", "once", &key);
    assert_eq!(retry.status, 201, "{}", retry.text());
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json(), first.json());
    assert_eq!(retry.header("location"), first.header("location"));

    assert_error(
        &post(&app, "ada", "other", &key),
        422,
        &["\"post-1\"", "different post"],
    );
    // The key is the author's: another author's post with it is a post of its own.
    let bobs = post(&app, "bob", "once", &key);
    assert_eq!(bobs.status, 201, "{}", bobs.text());
    assert_eq!(bobs.header("idempotent-replayed"), None);
    assert_ne!(bobs.json()["id"], first.json()["id"]);
    assert_eq!(counts(&app, "ada")["posts"], 1);
}

#[test]
fn concurrent_retries_with_one_key_publish_exactly_one_post() {
    let app = TestApp::start_main_app();
    let responses: Vec<TestResponse> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| post(&app, "ada", "once", &[("idempotency-key", "k-9")])))
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
    assert_eq!(counts(&app, "ada")["posts"], 1);
}

// ---------------------------------------------------------------------------
// Timelines

#[test]
fn a_timeline_holds_own_and_followed_posts_newest_first() {
    let app = TestApp::start_main_app();
    let ada_1 = given_post(&app, "ada", "ada 1");
    let bob_1 = given_post(&app, "bob", "bob 1");
    let cy_1 = given_post(&app, "cy", "cy 1");
    let ada_2 = given_post(&app, "ada", "ada 2");
    assert_eq!(all_ids(&app, &timeline("ada"), 10), [ada_2, ada_1]);

    // Following brings in everything the other posted, older posts too.
    assert_eq!(follow(&app, "ada", "bob").status, 201);
    let bob_2 = given_post(&app, "bob", "bob 2");
    assert_eq!(
        all_ids(&app, &timeline("ada"), 10),
        [bob_2, ada_2, bob_1, ada_1]
    );
    let page = app.get_json(&timeline("ada"));
    assert_eq!(page["posts"][0]["text"], "bob 2");
    assert_eq!(page["posts"][0]["author"], "bob");
    // Following is one way: bob's timeline does not show ada.
    assert_eq!(all_ids(&app, &timeline("bob"), 10), [bob_2, bob_1]);

    assert_eq!(follow(&app, "ada", "cy").status, 201);
    assert_eq!(
        all_ids(&app, &timeline("ada"), 2),
        [bob_2, ada_2, cy_1, bob_1, ada_1]
    );
    // Unfollowing takes them out again.
    assert_eq!(unfollow(&app, "ada", "bob").status, 204);
    assert_eq!(all_ids(&app, &timeline("ada"), 10), [ada_2, cy_1, ada_1]);
    // A user with no posts and no follows has an empty timeline.
    assert_eq!(all_ids(&app, &timeline("dee"), 10), Vec::<i64>::new());
}

#[test]
fn a_timeline_pages_through_a_prolific_author_and_a_quiet_one_in_order() {
    // A page reads at most `limit` posts per author: bob fills many pages alone, cy's one old
    // post must still come at its place, and dee (not followed) never shows.
    let app = TestApp::start_main_app();
    assert_eq!(follow(&app, "ada", "bob").status, 201);
    assert_eq!(follow(&app, "ada", "cy").status, 201);
    let mut expected = vec![given_post(&app, "cy", "cy, once")];
    for i in 0..12 {
        expected.push(given_post(&app, "bob", &format!("bob {i}")));
        given_post(&app, "dee", &format!("dee {i}"));
        if i % 5 == 0 {
            expected.push(given_post(&app, "ada", &format!("ada {i}")));
        }
    }
    expected.reverse();
    for limit in [1, 3, 4, 100] {
        assert_eq!(
            all_ids(&app, &timeline("ada"), limit),
            expected,
            "pages of {limit}"
        );
    }
}

#[test]
fn timeline_pages_never_repeat_or_skip_a_post_while_posts_arrive() {
    let app = TestApp::start_main_app();
    assert_eq!(follow(&app, "ada", "bob").status, 201);
    let existing: Vec<i64> = (0..10)
        .map(|i| {
            given_post(
                &app,
                if i % 2 == 0 { "ada" } else { "bob" },
                &format!("post {i}"),
            )
        })
        .collect();
    let mut seen = Vec::new();
    let mut arrived = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let (ids, next) = page(&app, &timeline("ada"), 4, cursor.as_deref());
        seen.extend(ids);
        pages += 1;
        // Between pages: new posts by both, newer than everything listed so far.
        arrived.push(given_post(&app, "ada", &format!("while paging {pages}")));
        arrived.push(given_post(&app, "bob", &format!("while paging {pages}")));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // Page 1, new posts, page 2, ...: each post that existed exactly once, newest first.
    let expected: Vec<i64> = existing.iter().rev().copied().collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    // A fresh listing starts with what arrived meanwhile.
    let newest: Vec<i64> = arrived.iter().rev().copied().collect();
    let (first_page, _) = page(&app, &timeline("ada"), newest.len(), None);
    assert_eq!(first_page, newest);
}

#[test]
fn a_users_post_pages_are_stable_while_posts_arrive() {
    let app = TestApp::start_main_app();
    let existing: Vec<i64> = (0..5)
        .map(|i| given_post(&app, "ada", &format!("{i}")))
        .collect();
    let (first, cursor) = page(&app, &posts_of("ada"), 3, None);
    given_post(&app, "ada", "new");
    let (second, last) = page(&app, &posts_of("ada"), 3, cursor.as_deref());
    assert_eq!(last, None);
    let seen: Vec<i64> = first.into_iter().chain(second).collect();
    let expected: Vec<i64> = existing.iter().rev().copied().collect();
    assert_eq!(seen, expected);
}

// ---------------------------------------------------------------------------
// Events

#[test]
fn every_post_is_published_once_to_the_log() {
    let app = TestApp::start_main_app();
    let first = given_post(&app, "ada", "one");
    let key = [("idempotency-key", "k")];
    let second = post(&app, "bob", "two", &key);
    assert_eq!(second.status, 201, "{}", second.text());
    assert_eq!(
        post(&app, "bob", "two", &key).status,
        201,
        "a replay publishes nothing"
    );
    assert_eq!(post(&app, "bob", "", &[]).status, 400);
    let second = second.json()["id"].as_i64().expect("an id");

    let events = app.wait_for_events("feed.posts", 2, |_| true);
    assert_eq!(events.len(), 2, "{events:?}");
    for (event, id, author, text) in [
        (&events[0], first, "ada", "one"),
        (&events[1], second, "bob", "two"),
    ] {
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["type"], "feed.post.created");
        assert_eq!(event["source"], "/feed");
        assert_eq!(event["subject"], format!("users/{author}/posts/{id}"));
        let post = &event["data"]["post"];
        assert_eq!(
            (&post["id"], &post["author"], &post["text"]),
            (&json!(id), &json!(author), &json!(text))
        );
    }
    app.wait_for_empty_outbox("feed");
    let flushed = app.post("/feed/outbox/flush", JSON, Vec::new());
    assert_eq!(flushed.status, 200, "{}", flushed.text());
}
