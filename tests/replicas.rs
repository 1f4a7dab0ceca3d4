//! Replicas: two or three host processes of the main app on the same stores (the SQLite files of
//! one state dir, and one Redis for every key-value label), each on its own port, with concurrent
//! clients spread over them. Every rule the services promise must hold as it does with one
//! process, and losing a replica with `kill -9` must lose no acknowledged write.
//!
//! Needs every component built (`cargo xtask build`) and `redis-server` installed.

#[path = "support_requests.rs"]
mod support_requests;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use integration_tests::{
    eventually, main_app_spec, now_millis, rfc3339, Credentials, RedisServer, TestApp,
    TestResponse, UpstreamServer,
};
use serde_json::{json, Value};
use support_requests::{customer, given_customer, post_ticket, put_customer};

/// Replicas of the main app sharing its stores; the Redis lives as long as they do.
struct Replicas {
    apps: Vec<TestApp>,
    _redis: RedisServer,
}

impl Replicas {
    /// `count` processes of the main app: SQLite files in one state dir, key-value in one Redis.
    fn start(count: usize) -> Replicas {
        Replicas::start_with(count, &[])
    }

    /// Like [`Replicas::start`], with extra `up` arguments for every replica.
    fn start_with(count: usize, extra_args: &[&str]) -> Replicas {
        let redis = RedisServer::start();
        let mut spec = main_app_spec(extra_args);
        // One Redis, a database per label (Spin's Redis store does not prefix keys).
        for (database, label) in ["gateway", "telemetry"].into_iter().enumerate() {
            let local = format!(
                "[key_value_store.{label}]\ntype = \"spin\"\npath = \"{{tmp}}/{label}_kv.db\"\n"
            );
            let shared = format!(
                "[key_value_store.{label}]\ntype = \"redis\"\nurl = \"{}/{database}\"\n",
                redis.url()
            );
            assert!(
                spec.runtime_config.contains(&local),
                "{}",
                spec.runtime_config
            );
            spec.runtime_config = spec.runtime_config.replace(&local, &shared);
        }
        let first = TestApp::start(spec);
        let mut apps = vec![first];
        for _ in 1..count {
            let replica = apps[0].start_replica();
            apps.push(replica);
        }
        Replicas {
            apps,
            _redis: redis,
        }
    }

    /// The replica a client numbered `client` talks to: clients are spread round robin.
    fn for_client(&self, client: usize) -> &TestApp {
        &self.apps[client % self.apps.len()]
    }
}

/// Runs `requests` clients at once, client `i` on replica `i % count`; their answers in order.
fn concurrently(
    replicas: &Replicas,
    clients: usize,
    request: impl Fn(&TestApp, usize) -> TestResponse + Sync,
) -> Vec<TestResponse> {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                let request = &request;
                scope.spawn(move || request(replicas.for_client(i), i))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("client thread"))
            .collect()
    })
}

/// Starts a conversation of ada and bob; the path of its messages.
fn messages_of_new_conversation(app: &TestApp) -> String {
    let conversation = app.post_json("/chat/conversations", &json!({ "members": ["ada", "bob"] }));
    assert_eq!(conversation.status, 201, "{}", conversation.text());
    let id = conversation.json()["id"]
        .as_i64()
        .expect("a conversation id");
    format!("/chat/conversations/{id}/messages")
}

/// All answers are `201` with one body; exactly one of them was not a replay.
fn assert_one_created(responses: &[TestResponse]) {
    let first = &responses[0];
    for response in responses {
        assert_eq!(response.status, 201, "{}", response.text());
        assert_eq!(
            response.body, first.body,
            "every retry answers the first result"
        );
    }
    let created = responses
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(created, 1, "exactly one request created it");
}

#[test]
fn one_idempotency_key_creates_one_ticket_message_and_post_across_replicas() {
    let replicas = Replicas::start(2);
    let app = &replicas.apps[0];
    given_customer(app, "c1");
    let ticket = json!({ "subject": "Outage", "priority": "high" });
    let tickets = concurrently(&replicas, 8, |app, _| {
        post_ticket(app, "c1", &ticket, &[("idempotency-key", "outage-1")])
    });
    assert_one_created(&tickets);
    let listed = replicas.apps[1].get_json("/support/tickets?customer=c1");
    assert_eq!(listed["tickets"].as_array().unwrap().len(), 1, "{listed}");

    let path = messages_of_new_conversation(app);
    let message = json!({ "sender": "ada", "text": "once" });
    let messages = concurrently(&replicas, 8, |app, _| {
        app.send_json("POST", &path, &[("idempotency-key", "m-1")], &message)
    });
    assert_one_created(&messages);
    let listed = replicas.apps[1].get_json(&format!("{path}?after=0"));
    assert_eq!(listed["messages"].as_array().unwrap().len(), 1, "{listed}");

    let post = json!({ "text": "hello" });
    let posts = concurrently(&replicas, 8, |app, _| {
        app.send_json(
            "POST",
            "/feed/users/ada/posts",
            &[("idempotency-key", "p-1")],
            &post,
        )
    });
    assert_one_created(&posts);
    let listed = replicas.apps[1].get_json("/feed/users/ada/posts");
    assert_eq!(listed["posts"].as_array().unwrap().len(), 1, "{listed}");
}

#[test]
fn concurrent_messages_through_replicas_keep_seq_gapless() {
    let replicas = Replicas::start(2);
    let app = &replicas.apps[0];
    let path = messages_of_new_conversation(app);
    let sent = concurrently(&replicas, 16, |app, i| {
        app.send_json(
            "POST",
            &path,
            &[],
            &json!({ "sender": "bob", "text": format!("m{i}") }),
        )
    });
    let mut seqs: Vec<i64> = sent
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["seq"].as_i64().expect("a seq")
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=16).collect::<Vec<i64>>());
}

#[test]
fn an_if_match_version_admits_one_writer_across_replicas() {
    let replicas = Replicas::start(2);
    given_customer(&replicas.apps[0], "c1");
    for version in 1..=5 {
        let if_match = format!("\"{version}\"");
        let writes = concurrently(&replicas, 2, |app, i| {
            // Distinct content: a PUT of the same content is no change (and keeps the version).
            let body = customer(&format!("Writer {i} of version {version}"), "pro");
            put_customer(app, "c1", &body, &[("if-match", &if_match)])
        });
        let mut statuses: Vec<u16> = writes.iter().map(|w| w.status).collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 412],
            "version {version}: {:?}",
            writes.iter().map(TestResponse::text).collect::<Vec<_>>()
        );
        let read = replicas.apps[1].get("/support/customers/c1");
        assert_eq!(
            read.header("etag"),
            Some(format!("\"{}\"", version + 1).as_str())
        );
    }
}

#[test]
fn a_rate_limit_is_exact_across_replicas() {
    let replicas = Replicas::start(3);
    let (_, key) = replicas.apps[0].create_key("limited", &["visits:read"], 12);
    let answers = concurrently(&replicas, 30, |app, _| {
        app.get_as(Credentials::Key(&key), "/visits/31")
    });
    let admitted = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        (admitted, refused),
        (12, 18),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
}

#[test]
fn a_read_never_predates_a_write_acknowledged_by_another_replica() {
    let replicas = Replicas::start(2);
    let (reader, writer) = (&replicas.apps[0], &replicas.apps[1]);
    let mut total = 0;
    for round in 1..=5 {
        // Read twice through one replica (a cached answer, where the topology caches)...
        for _ in 0..2 {
            let read = reader.get_as(Credentials::None, "/visits/808");
            assert_eq!(read.status, 200, "{}", read.text());
        }
        // ...add visits through the other, and read again through the first.
        let count = 100 + round;
        total += count;
        let posted = writer.post(
            "/visits/808",
            "application/json",
            format!(r#"{{"EventDay": 20171012, "EventCount": {count}}}"#),
        );
        assert_eq!(posted.status, 200, "{}", posted.text());
        let after = reader.get_as(Credentials::None, "/visits/808");
        assert!(
            after.text().contains(&format!(r#""EventCount":{total}"#)),
            "round {round}: {}",
            after.text()
        );
    }
}

#[test]
fn one_sensor_hot_on_two_replicas_at_once_raises_one_warning() {
    let replicas = Replicas::start(2);
    let start = (now_millis() - 40 * 60_000) / 60_000 * 60_000;
    let reading = |celsius: f64, at: i64| json!({ "sensor_id": "press", "celsius": celsius, "at": rfc3339(at) });
    // Changes stay under the default 5 °C a minute, so only the 35 °C maximum is crossed.
    let first = replicas.apps[0].post_json("/telemetry/readings", &reading(33.0, start));
    assert_eq!(first.status, 202, "{}", first.text());
    for episode in 0..3_i64 {
        let hot_from = start + (1 + episode * 2) * 60_000;
        let answers = concurrently(&replicas, 8, |app, i| {
            let at = hot_from + i as i64 * 1000;
            app.post_json("/telemetry/readings", &reading(36.0, at))
        });
        for answer in &answers {
            assert_eq!(answer.status, 202, "{}", answer.text());
        }
        // Back in range: the episode ends.
        let cool =
            replicas.apps[1].post_json("/telemetry/readings", &reading(34.0, hot_from + 60_000));
        assert_eq!(cool.status, 202, "{}", cool.text());
    }
    let alerts = replicas.apps[0].get_json("/telemetry/alerts?sensor=press")["alerts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(alerts.len(), 3, "one alert per episode: {alerts:?}");
}

#[test]
fn tickets_opened_on_every_replica_reach_insights_once() {
    let replicas = Replicas::start(2);
    given_customer(&replicas.apps[0], "c1");
    let opened = concurrently(&replicas, 20, |app, i| {
        post_ticket(app, "c1", &json!({ "subject": format!("Ticket {i}") }), &[])
    });
    for ticket in &opened {
        assert_eq!(ticket.status, 201, "{}", ticket.text());
    }
    let view = eventually(Duration::from_secs(20), "20 tickets in insights", || {
        let view = replicas.apps[1].get("/insights/support/customers/c1");
        match view.status {
            200 if view.json()["total"] == 20 => Ok(view.json()),
            status => Err(format!("{status} {}", view.text())),
        }
    });
    assert_eq!(view["open"], 20, "{view}");
    // Nothing arrives twice later either (a duplicate would count a ticket again): deliver
    // whatever might still be due, then look again.
    let dispatched = replicas.apps[0].post("/events/dispatch", "application/json", "");
    assert_eq!(dispatched.status, 200, "{}", dispatched.text());
    let again = replicas.apps[0].get_json("/insights/support/customers/c1");
    assert_eq!(again["total"], 20, "{again}");
}

#[test]
fn events_published_through_every_replica_are_pushed_in_log_order() {
    let replicas = Replicas::start_with(
        2,
        &[
            "--variable",
            "subscriber_hosts=http://127.0.0.1:*",
            "--variable",
            "retry_base_ms=20",
        ],
    );
    let upstream = UpstreamServer::start();
    let subscription = json!({ "topics": ["orders"], "endpoint": upstream.url() });
    let created = replicas.apps[0].put_json("/events/subscriptions/orders", &subscription);
    assert_eq!(created.status, 201, "{}", created.text());
    // Both replicas publish and push after each publish, racing for the cursor's lease.
    thread::scope(|scope| {
        for client in 0..8 {
            let app = replicas.for_client(client);
            scope.spawn(move || {
                for n in 0..5 {
                    let id = format!("c{client}-{n}");
                    let event = json!({
                        "specversion": "1.0", "id": id, "source": "/tests", "type": "test.ordered",
                        "data": { "n": n }
                    });
                    app.publish_events("orders", &[event]);
                }
            });
        }
    });
    let logged: Vec<String> = replicas.apps[1]
        .event_log("orders")
        .iter()
        .map(|e| e["id"].as_str().expect("an id").to_owned())
        .collect();
    assert_eq!(logged.len(), 40);
    let received = eventually(Duration::from_secs(20), "40 distinct deliveries", || {
        let dispatched = replicas.apps[1].post("/events/dispatch", "application/json", "");
        assert_eq!(dispatched.status, 200, "{}", dispatched.text());
        let ids: Vec<String> = upstream
            .requests()
            .iter()
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).expect("a JSON event");
                body["id"].as_str().expect("an id").to_owned()
            })
            .collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        if distinct.len() == 40 {
            Ok(ids)
        } else {
            Err(format!("{} distinct of {}", distinct.len(), ids.len()))
        }
    });
    // At least once allows a repeat, never a reordering: by their last delivery, the events
    // arrived in the log's order.
    let mut by_last_delivery: Vec<String> = Vec::new();
    for id in &received {
        by_last_delivery.retain(|seen| seen != id);
        by_last_delivery.push(id.clone());
    }
    assert_eq!(by_last_delivery, logged);
}

#[test]
fn killing_a_replica_under_writes_loses_no_acknowledged_write() {
    // Short leases, so that the work the killed replica held is taken over within the test.
    let mut replicas = Replicas::start_with(
        3,
        &[
            "--variable",
            &format!("outbox_lease_ms={LEASE_MS}"),
            "--variable",
            &format!("delivery_lease_ms={LEASE_MS}"),
        ],
    );
    given_customer(&replicas.apps[0], "c1");
    let stop = AtomicBool::new(false);
    let acknowledged_so_far = AtomicUsize::new(0);
    let acknowledged: Vec<String> = thread::scope(|scope| {
        let writers: Vec<_> = (0..6)
            .map(|client| {
                let (replicas, stop, counter) = (&replicas, &stop, &acknowledged_so_far);
                scope.spawn(move || {
                    let app = replicas.for_client(client);
                    let mut acknowledged = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let body = json!({ "subject": format!("c{client}-{n}") });
                        let path = "/support/customers/c1/tickets";
                        // Requests in flight on the killed replica may fail: not acknowledged.
                        let Ok(answer) = app.try_request(
                            "POST",
                            path,
                            &[("content-type", "application/json")],
                            body.to_string(),
                        ) else {
                            continue;
                        };
                        if answer.status == 201 {
                            let id = answer.json()["id"].to_string();
                            acknowledged.push(id);
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    acknowledged
                })
            })
            .collect();
        // Under load before the kill, and for as many writes again after it.
        let writes_so_far = |at_least: usize| {
            eventually(Duration::from_secs(60), "acknowledged writes", || {
                let so_far = acknowledged_so_far.load(Ordering::Relaxed);
                if so_far >= at_least {
                    Ok(so_far)
                } else {
                    Err(so_far.to_string())
                }
            })
        };
        let before = writes_so_far(60);
        replicas_kill(&replicas, 0);
        writes_so_far(before + 60);
        stop.store(true, Ordering::Relaxed);
        writers
            .into_iter()
            .flat_map(|writer| writer.join().expect("writer thread"))
            .collect()
    });
    replicas.apps[0].kill_hard();
    let survivor = &replicas.apps[1];
    let stored: HashSet<String> = all_ticket_ids(survivor);
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        acknowledged.len() > 20,
        "too few writes to tell: {}",
        acknowledged.len()
    );
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    // Every acknowledged ticket still reaches insights through the surviving replicas, once the
    // leases the killed replica held have expired, driven as in production by a scheduler
    // calling the outbox flush and the event log's dispatch.
    let expected = stored.len();
    eventually(Duration::from_secs(30), "every ticket in insights", || {
        for trigger in ["/support/outbox/flush", "/events/dispatch"] {
            let answer = survivor.post(trigger, "application/json", "");
            assert_eq!(answer.status, 200, "POST {trigger}: {}", answer.text());
        }
        let view = survivor.get_json("/insights/support/customers/c1");
        if view["total"].as_u64() == Some(expected as u64) {
            Ok(())
        } else {
            Err(format!("{view} (expected {expected})"))
        }
    });
}

/// The leases of the replica-loss test, in milliseconds (production: 10 s and 30 s).
const LEASE_MS: u64 = 1000;

/// SIGKILLs replica `index` while the other threads keep using the rest.
fn replicas_kill(replicas: &Replicas, index: usize) {
    // SAFETY: plain syscall on a process group the harness started.
    let pid = replicas.apps[index].pid().expect("replica running") as libc::pid_t;
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Every ticket id of the support service, page by page.
fn all_ticket_ids(app: &TestApp) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/support/tickets?limit=100".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = app.get_json(&path);
        for ticket in page["tickets"].as_array().expect("tickets") {
            ids.insert(ticket["id"].to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

#[test]
fn replicas_started_with_reuse_port_share_one_address() {
    if integration_tests::is_real_spin() {
        eprintln!("skipped: --reuse-port is this host's addition to Spin");
        return;
    }
    let mut first = TestApp::start(main_app_spec(&["--reuse-port"]));
    let address = first.base_url.trim_start_matches("http://").to_owned();
    let up = |extra: &[&str], log: &str| {
        let log = std::fs::File::create(first.temp_dir().join(log)).expect("a log file");
        std::process::Command::new(integration_tests::server_binary())
            .current_dir(integration_tests::repo_root())
            .args(["up", "--listen", &address, "--state-dir"])
            .arg(first.state_dir())
            .arg("--runtime-config-file")
            .arg(first.temp_dir().join("runtime-config.toml"))
            .args(extra)
            .env(
                "SPIN_VARIABLE_ADMIN_TOKEN",
                integration_tests::TEST_ADMIN_TOKEN,
            )
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("a second host")
    };
    // Without the flag the address is taken.
    let mut refused = up(&[], "refused.log");
    let status = refused.wait().expect("the refused host's exit");
    assert!(!status.success());
    let said = std::fs::read_to_string(first.temp_dir().join("refused.log")).unwrap();
    assert!(said.contains("already in use"), "{said}");

    let mut second = up(&["--reuse-port"], "second.log");
    eventually(
        Duration::from_secs(60),
        "the second replica serving",
        || {
            let said = std::fs::read_to_string(first.temp_dir().join("second.log")).unwrap();
            if said.contains("Serving http://") {
                Ok(())
            } else {
                Err(said)
            }
        },
    );
    // With the first replica gone, the shared address is still served: by the second.
    first.kill_hard();
    let status = eventually(
        Duration::from_secs(10),
        "a read from the second replica",
        || {
            // A fresh connection each time: the kernel gives it to a live replica.
            ureq::get(&format!("http://{address}/visits/31"))
                .call()
                .map(|answer| answer.status().as_u16())
                .map_err(|err| err.to_string())
        },
    );
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(status, 200);
}
