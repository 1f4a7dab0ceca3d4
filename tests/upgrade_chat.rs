//! Host-only: upgrading the chat service of the main app while it serves. The main app (the
//! repo's `spin.toml`, through the gateway, with the harness's all-scopes key) runs from a copy
//! of its manifest in a temp dir: every `source` is absolute except chat's, `chat.wasm` beside
//! the manifest, which a test replaces as a build would (write aside, rename over) before it
//! sends `SIGHUP`. Under steady load on chat and feed, ten upgrades of chat lose no request and
//! no acknowledged message; a broken build or an undefined store label changes nothing; a reload
//! that changes nothing recompiles nothing.
//!
//! Every test skips itself on the real Spin: reload is our host's own feature. A slow request
//! finishing on the old version is covered with the probe in host_reload.rs. Needs every
//! component built (`cargo xtask build`).

use integration_tests::{eventually, main_app_spec, repo_root, write_file, TestApp, SERVICES};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a reload may take: a changed component is compiled (by a debug host) first.
const RELOAD_LIMIT: Duration = Duration::from_secs(120);

/// Upper bounds of each load client, so that a failing test never leaves one running.
const CLIENT_TIME_LIMIT: Duration = Duration::from_secs(600);
const CLIENT_REQUEST_LIMIT: usize = 100_000;

/// Requests each service answers on every version before the next upgrade starts.
const ANSWERED_PER_VERSION: usize = 10;

fn skipped() -> bool {
    if integration_tests::is_real_spin() {
        eprintln!("skipped: reloading on SIGHUP is our host's own feature");
    }
    integration_tests::is_real_spin()
}

fn built_wasm(component: &str) -> PathBuf {
    repo_root().join(format!("target/wasm32-wasip2/release/{component}.wasm"))
}

/// The repo's manifest with absolute sources, chat's replaced by `chat_source`, and chat's
/// SQLite labels by `chat_databases`.
fn manifest(chat_source: &str, chat_databases: &str) -> String {
    let mut text = std::fs::read_to_string(repo_root().join("spin.toml")).expect("read spin.toml");
    for component in SERVICES.iter().chain(&["gateway"]) {
        let relative = format!("source = \"target/wasm32-wasip2/release/{component}.wasm\"");
        assert!(text.contains(&relative), "spin.toml has {relative}");
        let source = if *component == "chat" {
            chat_source.to_owned()
        } else {
            built_wasm(component).display().to_string()
        };
        text = text.replace(&relative, &format!("source = \"{source}\""));
    }
    let declared = "sqlite_databases = [\"chat\"]";
    assert_eq!(
        text.matches(declared).count(),
        1,
        "spin.toml has {declared}"
    );
    text.replace(declared, &format!("sqlite_databases = {chat_databases}"))
}

/// Chat's wasm with a custom section appended: the same behaviour, another digest (what a
/// rebuild with other debug info gives).
fn rebuilt_chat(tag: &str) -> Vec<u8> {
    let mut wasm = chat_bytes();
    let name = b"upgrade-test";
    let payload = tag.as_bytes();
    let content_len = 1 + name.len() + payload.len();
    assert!(content_len < 128, "one-byte LEB128 sizes");
    wasm.push(0); // custom section id
    wasm.push(content_len as u8);
    wasm.push(name.len() as u8);
    wasm.extend_from_slice(name);
    wasm.extend_from_slice(payload);
    wasm
}

fn chat_bytes() -> Vec<u8> {
    std::fs::read(built_wasm("chat")).expect("read chat.wasm")
}

/// The main app, started from the manifest copy in its temp dir.
struct UpgradeApp {
    dir: tempfile::TempDir,
    app: TestApp,
}

impl UpgradeApp {
    fn start(extra_args: &[&str]) -> UpgradeApp {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("chat.wasm"), chat_bytes()).expect("copy chat.wasm");
        let mut spec = main_app_spec(extra_args);
        spec.manifest = dir.path().join("spin.toml");
        write_file(&spec.manifest, &manifest("chat.wasm", "[\"chat\"]"));
        let app = TestApp::start(spec);
        UpgradeApp { dir, app }
    }

    fn write_manifest(&self, text: &str) {
        write_file(&self.dir.path().join("spin.toml"), text);
    }

    /// Replaces chat's wasm in one step (write aside, rename), so a reload never reads half.
    fn write_chat_wasm(&self, bytes: &[u8]) {
        let aside = self.dir.path().join("chat.wasm.new");
        std::fs::write(&aside, bytes).expect("write wasm");
        std::fs::rename(&aside, self.dir.path().join("chat.wasm")).expect("rename wasm");
    }

    /// Reloads ended so far, either way.
    fn reloads_ended(&self) -> usize {
        let log = self.app.stderr();
        log.matches("Reloaded in ").count() + log.matches("Reload failed").count()
    }

    /// Sends SIGHUP and waits for that reload to end; returns what the host logged meanwhile.
    fn reload(&self) -> String {
        let before = self.reloads_ended();
        let log_start = self.app.stderr().len();
        self.app.signal_reload();
        eventually(RELOAD_LIMIT, "the reload to end", || {
            if self.reloads_ended() > before {
                Ok(())
            } else {
                Err(self.app.stderr())
            }
        });
        self.app.stderr()[log_start..].to_owned()
    }
}

fn swap_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.starts_with("Swapped component"))
        .collect()
}

/// The new digest of a swap line (`Swapped component `x`: OLD -> NEW in N ms`).
fn new_digest(line: &str) -> String {
    line.split(" -> ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no digest in {line}"))
        .to_owned()
}

/// Starts a conversation of `members`, asserting it worked; returns its id.
fn given_conversation(app: &TestApp, members: &[&str]) -> i64 {
    let created = app.post_json("/chat/conversations", &json!({ "members": members }));
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["id"].as_i64().expect("an id")
}

fn messages_path(conversation: i64) -> String {
    format!("/chat/conversations/{conversation}/messages")
}

/// Every message of a conversation, following `next_after`.
fn all_messages(app: &TestApp, conversation: i64) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let page = app.get_json(&format!(
            "{}?after={after}&limit=200",
            messages_path(conversation)
        ));
        messages.extend(page["messages"].as_array().expect("messages").clone());
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => return messages,
        }
    }
}

/// Asserts chat and feed both answer: a message is sent, a post published, a timeline read.
fn assert_serving(app: &TestApp, conversation: i64, case: &str) {
    let sent = app.post_json(
        &messages_path(conversation),
        &json!({ "sender": "ada", "text": format!("after {case}") }),
    );
    assert_eq!(sent.status, 201, "{case}: {}", sent.text());
    let posted = app.post_json(
        "/feed/users/ada/posts",
        &json!({ "text": format!("after {case}") }),
    );
    assert_eq!(posted.status, 201, "{case}: {}", posted.text());
    app.get_json("/feed/users/ada/timeline?limit=5");
}

/// One load client's request: `(service, method, path, body)` from its request counter.
type Request = fn(usize, i64) -> (&'static str, &'static str, String, Option<Value>);

const LOAD: [(&str, Request); 5] = [
    ("chat sender 1", |n, conversation| {
        let text = json!({ "sender": "ada", "text": format!("ada {n}") });
        ("chat", "POST", messages_path(conversation), Some(text))
    }),
    ("chat sender 2", |n, conversation| {
        let text = json!({ "sender": "bob", "text": format!("bob {n}") });
        ("chat", "POST", messages_path(conversation), Some(text))
    }),
    ("feed poster", |n, _| {
        let text = json!({ "text": format!("post {n}") });
        ("feed", "POST", "/feed/users/ada/posts".into(), Some(text))
    }),
    ("feed reader 1", |_, _| {
        let path = "/feed/users/bob/timeline?limit=20".into();
        ("feed", "GET", path, None)
    }),
    ("feed reader 2", |_, _| {
        let path = "/feed/users/ada/timeline?limit=20".into();
        ("feed", "GET", path, None)
    }),
];

/// The load's shared record: when to stop, what failed, what was acknowledged and answered.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    failures: Mutex<Vec<String>>,
    /// Acknowledged chat messages: (seq, text).
    acknowledged: Mutex<Vec<(i64, String)>>,
    /// Requests answered so far by chat and by feed.
    answered: [AtomicUsize; 2],
}

impl Load {
    /// One client: sends its request until told to stop (or a bound is reached); returns how many.
    fn run(&self, app: &TestApp, client: &str, request: Request, conversation: i64) -> usize {
        let deadline = Instant::now() + CLIENT_TIME_LIMIT;
        let mut count = 0;
        while !self.stop.load(Ordering::Relaxed)
            && Instant::now() < deadline
            && count < CLIENT_REQUEST_LIMIT
        {
            let (service, method, path, body) = request(count, conversation);
            let headers: &[(&str, &str)] = &[("content-type", "application/json")];
            let sent = body.as_ref().map(Value::to_string).unwrap_or_default();
            match app.try_request(method, &path, headers, sent) {
                Ok(response) if response.status == 200 || response.status == 201 => {
                    if service == "chat" {
                        let seq = response.json()["seq"].as_i64().expect("a seq");
                        let text = body.as_ref().and_then(|b| b["text"].as_str());
                        let text = text.expect("a text").to_owned();
                        self.acknowledged.lock().unwrap().push((seq, text));
                    }
                    self.answered[usize::from(service == "feed")].fetch_add(1, Ordering::Relaxed);
                }
                Ok(response) => {
                    let seen = format!("{} {}", response.status, response.text());
                    self.fail(client, method, &path, &seen)
                }
                Err(e) => self.fail(client, method, &path, &e),
            }
            count += 1;
        }
        count
    }

    fn fail(&self, client: &str, method: &str, path: &str, seen: &str) {
        let failure = format!("{client}: {method} {path}: {seen}");
        self.failures.lock().unwrap().push(failure);
    }

    /// Requests answered so far: (chat, feed).
    fn answered(&self) -> [usize; 2] {
        self.answered.each_ref().map(|a| a.load(Ordering::Relaxed))
    }
}

#[test]
fn ten_upgrades_of_chat_under_load_lose_no_request_and_no_message() {
    if skipped() {
        return;
    }
    // Compiled anew on each swap (no cache), so requests keep coming while chat compiles.
    let app = UpgradeApp::start(&["--disable-cache"]);
    let conversation = given_conversation(&app.app, &["ada", "bob"]);
    // bob follows ada, so both timelines have posts to read.
    let followed = app
        .app
        .request("PUT", "/feed/users/bob/following/ada", &[], Vec::new());
    assert_eq!(followed.status, 201, "{}", followed.text());

    let builds = [rebuilt_chat("build 1"), rebuilt_chat("build 2")];
    let load = Load::default();
    let mut digests = Vec::new();
    // Requests each service answered while a reload ran (chat's old version serving).
    let mut during_reloads = [0, 0];
    std::thread::scope(|scope| {
        let clients: Vec<_> = LOAD
            .iter()
            .map(|&(client, request)| {
                let (app, load) = (&app.app, &load);
                scope.spawn(move || load.run(app, client, request, conversation))
            })
            .collect();
        for round in 0..10 {
            // Load on every version: both services answered some requests since the last swap.
            let since = load.answered();
            eventually(Duration::from_secs(60), "requests answered", || {
                let now = load.answered();
                if (0..2).all(|i| now[i] >= since[i] + ANSWERED_PER_VERSION) {
                    Ok(())
                } else {
                    Err(format!("chat, feed: {now:?}, before: {since:?}"))
                }
            });
            app.write_chat_wasm(&builds[round % 2]);
            let before = load.answered();
            let log = app.reload();
            let after = load.answered();
            for service in 0..2 {
                during_reloads[service] += after[service] - before[service];
            }
            let swaps = swap_lines(&log);
            assert_eq!(swaps.len(), 1, "round {round}: {log}");
            assert!(swaps[0].starts_with("Swapped component `chat`: "), "{log}");
            digests.push(new_digest(swaps[0]));
        }
        load.stop.store(true, Ordering::Relaxed);
        for client in clients {
            assert!(client.join().unwrap() > 0);
        }
    });
    let failures = load.failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(
        during_reloads.iter().all(|&n| n > 0),
        "chat, feed answered during reloads: {during_reloads:?}"
    );
    // The two builds alternated: two digests, never the same twice in a row.
    assert!(
        digests.windows(2).all(|pair| pair[0] != pair[1]),
        "{digests:?}"
    );
    assert_eq!(
        digests
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        2,
        "{digests:?}"
    );
    assert!(!app.app.stderr().contains("Swapped component `feed`"));

    // Every acknowledged message is there, with its text, and seq is gapless.
    let messages = all_messages(&app.app, conversation);
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (1..=messages.len() as i64).collect();
    assert_eq!(seqs, expected, "gapless seq");
    let acknowledged = load.acknowledged.into_inner().unwrap();
    assert_eq!(acknowledged.len(), messages.len());
    for (seq, text) in acknowledged {
        assert_eq!(messages[(seq - 1) as usize]["text"], text, "message {seq}");
    }
}

/// A way to break the reload: (case, how, what the log says why).
type Breakage = (&'static str, fn(&UpgradeApp), &'static str);

#[test]
fn a_broken_chat_build_or_an_undefined_label_leaves_the_app_serving() {
    if skipped() {
        return;
    }
    let app = UpgradeApp::start(&[]);
    let conversation = given_conversation(&app.app, &["ada", "bob"]);
    assert_serving(&app.app, conversation, "the start");
    let broken: [Breakage; 2] = [
        (
            "a chat build that is not wasm",
            |app| app.write_chat_wasm(b"not wasm at all"),
            "Failed to load component `chat`",
        ),
        (
            "a manifest naming an undefined store label",
            |app| app.write_manifest(&manifest("chat.wasm", "[\"chat\", \"nowhere\"]")),
            "Component chat uses database 'nowhere'",
        ),
    ];
    for (case, break_it, reason) in broken {
        break_it(&app);
        let log = app.reload();
        assert!(
            log.contains("Reload failed; still serving"),
            "{case}: {log}"
        );
        assert!(log.contains(reason), "{case}: expected {reason:?} in {log}");
        assert!(swap_lines(&log).is_empty(), "{case}: {log}");
        assert_serving(&app.app, conversation, case);
        // Repaired for the next case.
        app.write_manifest(&manifest("chat.wasm", "[\"chat\"]"));
        app.write_chat_wasm(&chat_bytes());
    }
    // Both sends after the failures continued the conversation where it was.
    let seqs: Vec<i64> = all_messages(&app.app, conversation)
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(swap_lines(&app.app.stderr()).is_empty());
}

#[test]
fn a_reload_that_changes_nothing_recompiles_nothing() {
    if skipped() {
        return;
    }
    let app = UpgradeApp::start(&[]);
    let conversation = given_conversation(&app.app, &["ada", "bob"]);
    // Rewritten, but the same: same wasm bytes, same manifest.
    app.write_manifest(&manifest("chat.wasm", "[\"chat\"]"));
    app.write_chat_wasm(&chat_bytes());
    let log = app.reload();
    assert!(swap_lines(&log).is_empty(), "{log}");
    assert!(log.contains("0 component(s) swapped"), "{log}");
    assert_serving(&app.app, conversation, "the reload");
}

#[test]
fn a_rebuilt_chat_reuses_its_compiled_functions_from_the_cache() {
    if skipped() {
        return;
    }
    // A cache of its own: empty at start, so every function is compiled once, then cached.
    let cache = tempfile::tempdir().expect("cache dir");
    let cache_arg = cache.path().to_str().expect("utf-8 path");
    let app = UpgradeApp::start(&["--cache-dir", cache_arg]);
    let conversation = given_conversation(&app.app, &["ada", "bob"]);
    // Another digest, so the whole-component cache misses; the same functions inside.
    app.write_chat_wasm(&rebuilt_chat("same code"));
    let log = app.reload();
    assert_eq!(swap_lines(&log).len(), 1, "{log}");
    let (reused, compiled) = reused_functions(&log);
    assert!(compiled > 100, "chat compiles many functions: {log}");
    assert!(
        reused * 10 >= compiled * 9,
        "nearly every function comes from the cache: {log}"
    );
    assert_serving(&app.app, conversation, "the reload");
}

/// `R` and `F` of the reload line's `R of F compiled functions reused`.
fn reused_functions(log: &str) -> (u64, u64) {
    let line = log
        .lines()
        .find(|line| line.starts_with("Reloaded in "))
        .unwrap_or_else(|| panic!("no reload line in {log}"));
    let counts = line
        .split(", ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" compiled functions reused"))
        .unwrap_or_else(|| panic!("no function counts in {line}"));
    let (reused, compiled) = counts.split_once(" of ").expect("`R of F`");
    (reused.parse().unwrap(), compiled.parse().unwrap())
}
