//! Test harness shared by the integration tests: start a Spin app as a real
//! server process and talk HTTP to it.
//!
//! The server is the real Spin when `SPIN_BIN` is set, otherwise the project's
//! own host (`SPIN_HOST_BIN`, default `<repo>/target/debug/spin-host`); both are
//! started with the same `up` arguments, so every test runs unchanged against
//! either. Each [`TestApp`] owns a temp dir holding its state dir, runtime config
//! and server log, and kills its server (and the server's children) on drop.
//!
//! The main app has one public component, the API gateway: [`main_app_spec`]
//! gives it an admin token ([`TEST_ADMIN_TOKEN`]) and, once it is up, the harness
//! creates an all-scopes key that [`TestApp::request`] and every convenience
//! method send, so service tests read as before. Tests of authentication choose
//! their own [`Credentials`] with [`TestApp::request_as`].
//!
//! Helpers for the tests' other parties live here too: [`UpstreamServer`] (a
//! loopback HTTP server for outbound requests) and [`RedisServer`]; and what the
//! service tests share: [`eventually`] (the only way a test waits), JSON requests
//! ([`TestApp::get_json`], [`TestApp::send_json`]), [`assert_error`], the events
//! service's log ([`TestApp::publish_events`], [`TestApp::event_log`]) and
//! [`rfc3339`] timestamps.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The media type of the services' JSON bodies.
pub const JSON: &str = "application/json";
/// A structured-mode CloudEvent.
pub const CE_JSON: &str = "application/cloudevents+json";
/// A batch of CloudEvents.
pub const CE_BATCH: &str = "application/cloudevents-batch+json";

/// How long a server may take to become healthy (the first start compiles wasm).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(50);
const HEALTH_PATH: &str = "/.well-known/spin/health";
/// Upper bound for any single test request, so a test never hangs.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts to start on a fresh port when the chosen one was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;
/// The pause between two looks of [`eventually`].
const EVENTUALLY_INTERVAL: Duration = Duration::from_millis(20);
/// How long [`TestApp::wait_for_events`] waits for events to reach a log.
const EVENT_LOG_TIMEOUT: Duration = Duration::from_secs(10);

/// The repository root (the workspace holding `spin.toml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// True when the tests run against the real Spin (`SPIN_BIN` is set); tests of
/// host-only flags skip themselves then.
pub fn is_real_spin() -> bool {
    std::env::var_os("SPIN_BIN").is_some()
}

/// The conformance probe's wasm (built by
/// `cargo build --target wasm32-wasip2 --release -p probe`); panics with that
/// hint if it is missing.
pub fn probe_wasm() -> PathBuf {
    let path = repo_root().join("target/wasm32-wasip2/release/probe.wasm");
    require_file(
        &path,
        "build it with `cargo build --target wasm32-wasip2 --release -p probe`",
    );
    path
}

/// A free loopback port (bound and released, so another process could take it
/// before it is used; [`TestApp`] retries in that case).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Calls `check` until it gives `Ok`, pausing briefly between calls; panics at
/// `limit` with `what` and the last observation (the last `Err`). The tests'
/// only way to wait for something that happens in the background: never a
/// fixed sleep.
pub fn eventually<T>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let mut last = String::new();
    let found = poll(limit, EVENTUALLY_INTERVAL, || {
        check().map_err(|seen| last = seen).ok()
    });
    found.unwrap_or_else(|| panic!("{what}: not within {limit:?}; last seen: {last}"))
}

/// Calls `check` every `interval` until it gives `Some`; `None` once `limit`
/// has passed (`check` runs at least once, and once more at the deadline).
fn poll<T>(limit: Duration, interval: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(interval);
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01
/// (Howard Hinnant's civil-from-days, so the tests need no date crate).
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Milliseconds since the epoch as RFC 3339 UTC, as the services write it: no
/// fraction on whole seconds, else the milliseconds without trailing zeros.
pub fn rfc3339(millis: i64) -> String {
    let (year, month, day) = civil_date(millis.div_euclid(86_400_000));
    let in_day = millis.rem_euclid(86_400_000);
    let fraction = match in_day % 1000 {
        0 => String::new(),
        millis => format!(".{millis:03}").trim_end_matches('0').to_owned(),
    };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{fraction}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
    )
}

/// Asserts an error answer: `status`, a JSON body, and a `message` that contains
/// every one of `words`.
pub fn assert_error(response: &TestResponse, status: u16, words: &[&str]) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    let message = response.json()["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {}", response.text()))
        .to_owned();
    for word in words {
        assert!(
            message.contains(word),
            "{message:?} should mention {word:?}"
        );
    }
}

/// Asserts that each `(method, path, allow)` is refused with `405`, an error
/// naming the method and `allow` listing the methods the path answers.
pub fn assert_methods_not_allowed(app: &TestApp, cases: &[(&str, &str, &str)]) {
    for &(method, path, allow) in cases {
        let response = app.request(method, path, &[], Vec::new());
        assert_error(&response, 405, &[method]);
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }
}

/// The main app's runtime config with every service's store (and the gateway's) in the test's
/// temp dir.
pub fn main_app_runtime_config() -> String {
    let mut config = String::new();
    for label in SERVICES.iter().chain(&["gateway"]) {
        config.push_str(&format!(
            "[sqlite_database.{label}]\ntype = \"spin\"\npath = \"{{tmp}}/{label}.db\"\n\n"
        ));
    }
    for label in ["telemetry", "gateway"] {
        config.push_str(&format!(
            "[key_value_store.{label}]\ntype = \"spin\"\npath = \"{{tmp}}/{label}_kv.db\"\n\n"
        ));
    }
    config
}

/// The services behind the gateway (its default `services` registry), in registry order.
pub const SERVICES: [&str; 7] = [
    "visits",
    "events",
    "support",
    "telemetry",
    "insights",
    "chat",
    "feed",
];

/// The gateway's admin token the main app is started with (`SPIN_VARIABLE_ADMIN_TOKEN`).
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-3f9c2a71";

/// Rate of the key the harness makes for the convenience methods: the gateway's maximum, so no
/// test that is not about rate limits meets one.
const DEFAULT_KEY_RATE: u32 = 1_000_000;

/// Every scope a key can hold: `<service>:read` and `<service>:write` of each service.
pub fn all_scopes() -> Vec<String> {
    SERVICES
        .iter()
        .flat_map(|service| [format!("{service}:read"), format!("{service}:write")])
        .collect()
}

/// The spec of the repository's own app (`spin.toml` at the repo root): every store in the temp
/// dir, the test admin token, and `extra_args` after `up`'s. Tests that need another runtime
/// config change the spec, then [`TestApp::start`] it.
pub fn main_app_spec(extra_args: &[&str]) -> AppSpec {
    for component in SERVICES.iter().chain(&["gateway"]) {
        require_file(
            &repo_root().join(format!("target/wasm32-wasip2/release/{component}.wasm")),
            "build the components with `cargo xtask build`",
        );
    }
    AppSpec {
        manifest: repo_root().join("spin.toml"),
        runtime_config: main_app_runtime_config(),
        extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        admin_token: Some(TEST_ADMIN_TOKEN.to_owned()),
        ..AppSpec::default()
    }
}

/// Whose credentials a request carries (see [`TestApp::request_as`]).
#[derive(Clone, Copy, Debug)]
pub enum Credentials<'a> {
    /// The harness's all-scopes key, if the app has one (what [`TestApp::request`] sends).
    Default,
    /// None at all: an anonymous caller.
    None,
    /// `Authorization: Bearer <key>`.
    Key(&'a str),
    /// `Authorization: Bearer <the admin token>`.
    Admin,
}

/// What to start: a manifest plus its runtime config, environment and flags.
#[derive(Clone, Debug, Default)]
pub struct AppSpec {
    /// Path of the `spin.toml` (passed as `--from`, unless it is the repo's own).
    pub manifest: PathBuf,
    /// Runtime-config TOML; every `{tmp}` is replaced by the app's temp dir.
    /// Empty = no `--runtime-config-file`.
    pub runtime_config: String,
    /// Extra environment for the server process.
    pub env: Vec<(String, String)>,
    /// Extra arguments after the standard `up` arguments.
    pub extra_args: Vec<String>,
    /// The gateway's admin token, for an app with the gateway: it goes to the server as
    /// `SPIN_VARIABLE_ADMIN_TOKEN`, and once the app is up the harness creates an all-scopes key
    /// that [`TestApp::request`] and the other convenience methods send.
    pub admin_token: Option<String>,
}

/// Why a server did not become healthy.
pub struct StartFailure {
    /// The exit status, or `None` if it was still running at the deadline.
    pub status: Option<ExitStatus>,
    /// Everything the server printed (stdout and stderr, interleaved).
    pub stderr: String,
}

impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "server exited before becoming healthy ({status})")?,
            None => write!(f, "server not healthy after {STARTUP_TIMEOUT:?}")?,
        }
        write!(f, "; its output:\n{}", self.stderr)
    }
}

impl fmt::Debug for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A running app server. Killed (with its process group) and reaped on drop.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base_url: String,
    spec: AppSpec,
    temp: tempfile::TempDir,
    child: Option<Child>,
    agent: ureq::Agent,
    /// `(id, key)` of the all-scopes key, when the spec has an admin token.
    default_key: Option<(String, String)>,
}

impl TestApp {
    /// Starts the repository's own app (`spin.toml` at the repo root) with a
    /// fresh state dir and every service's stores in the temp dir.
    pub fn start_main_app() -> TestApp {
        TestApp::start_main_app_with(&[])
    }

    /// Starts the repository's own app with extra `up` arguments (e.g. `--variable`).
    pub fn start_main_app_with(extra_args: &[&str]) -> TestApp {
        TestApp::start(main_app_spec(extra_args))
    }

    /// Starts the repository's own app with loopback push subscribers allowed
    /// (`subscriber_hosts`) and fast retries: for tests of the events service's
    /// deliveries to an [`UpstreamServer`].
    pub fn start_main_app_for_delivery() -> TestApp {
        TestApp::start_main_app_with(&[
            "--variable",
            "subscriber_hosts=http://127.0.0.1:*",
            "--variable",
            "retry_base_ms=20",
        ])
    }

    /// Starts an app and waits until it is healthy; panics with the server's
    /// output if it is not.
    pub fn start(spec: AppSpec) -> TestApp {
        match TestApp::try_start(spec) {
            Ok(app) => app,
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Starts an app; `Err` if the server exits (or is still unhealthy at the
    /// deadline) before `/.well-known/spin/health` answers 200. For tests
    /// that expect startup to fail.
    pub fn try_start(spec: AppSpec) -> Result<TestApp, StartFailure> {
        let temp = tempfile::Builder::new()
            .prefix("spin-test-")
            .tempdir()
            .expect("create temp dir");
        fs::create_dir_all(temp.path().join("state")).expect("create state dir");
        if !spec.runtime_config.is_empty() {
            let tmp = temp.path().to_str().expect("utf-8 temp path");
            fs::write(
                temp.path().join("runtime-config.toml"),
                spec.runtime_config.replace("{tmp}", tmp),
            )
            .expect("write runtime config");
        }
        let mut app = TestApp {
            base_url: String::new(),
            spec,
            temp,
            child: None,
            agent: new_agent(REQUEST_TIMEOUT),
            default_key: None,
        };
        app.launch()?;
        if app.spec.admin_token.is_some() {
            let scopes = all_scopes();
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            app.default_key = Some(app.create_key("tests", &scopes, DEFAULT_KEY_RATE));
        }
        Ok(app)
    }

    /// The admin token the app was started with; panics for an app without the gateway.
    pub fn admin_token(&self) -> &str {
        self.spec
            .admin_token
            .as_deref()
            .expect("an app started with an admin token (the main app)")
    }

    /// `(id, key)` of the all-scopes key the convenience methods send, if the app has one.
    pub fn default_key(&self) -> Option<(&str, &str)> {
        self.default_key
            .as_ref()
            .map(|(id, key)| (id.as_str(), key.as_str()))
    }

    /// Creates an API key through `POST /admin/keys` (asserting `201`); returns `(id, key)`.
    pub fn create_key(
        &self,
        name: &str,
        scopes: &[&str],
        rate_per_minute: u32,
    ) -> (String, String) {
        let body = serde_json::json!({
            "name": name, "scopes": scopes, "rate_per_minute": rate_per_minute,
        });
        let response = self.request_as(
            Credentials::Admin,
            "POST",
            "/admin/keys",
            &[("content-type", JSON)],
            body.to_string(),
        );
        assert_eq!(
            response.status,
            201,
            "POST /admin/keys: {}",
            response.text()
        );
        let created = response.json();
        let field = |name: &str| {
            created[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {created}"))
                .to_owned()
        };
        (field("id"), field("key"))
    }

    /// The app's temp dir (holds `state/`, `runtime-config.toml`, `server.log`).
    pub fn temp_dir(&self) -> &Path {
        self.temp.path()
    }

    /// The state dir passed as `--state-dir`.
    pub fn state_dir(&self) -> PathBuf {
        self.temp.path().join("state")
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &[], Vec::new())
    }

    pub fn post(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> TestResponse {
        self.request("POST", path, &[("content-type", content_type)], body)
    }

    pub fn put(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> TestResponse {
        self.request("PUT", path, &[("content-type", content_type)], body)
    }

    /// `GET path`, asserting `200` and a JSON body; returns the body.
    pub fn get_json(&self, path: &str) -> Value {
        let response = self.get(path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        assert_eq!(response.header("content-type"), Some(JSON), "GET {path}");
        response.json()
    }

    /// Sends `body` as `application/json`, unless `headers` name another content-type.
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> TestResponse {
        let mut all = Vec::with_capacity(headers.len() + 1);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            all.push(("content-type", JSON));
        }
        all.extend_from_slice(headers);
        self.request(method, path, &all, body.to_string())
    }

    pub fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json("POST", path, &[], body)
    }

    pub fn put_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json("PUT", path, &[], body)
    }

    /// Appends `events` to `topic` of the events service's log as one batch,
    /// asserting `201`; returns their offsets.
    pub fn publish_events(&self, topic: &str, events: &[Value]) -> Vec<u64> {
        let body = Value::from(events.to_vec()).to_string();
        let response = self.post(&format!("/events/{topic}"), CE_BATCH, body);
        assert_eq!(
            response.status,
            201,
            "POST /events/{topic}: {}",
            response.text()
        );
        let answer = response.json();
        assert_eq!(answer["topic"], topic, "{answer}");
        answer["offsets"]
            .as_array()
            .unwrap_or_else(|| panic!("no offsets in {answer}"))
            .iter()
            .map(|offset| offset.as_u64().expect("offset"))
            .collect()
    }

    /// The CloudEvents in the events service's log of `topic`
    /// (`GET /events/{topic}?after=0`), in offset order; `Err` with the answer
    /// if the service does not answer `200`.
    pub fn try_event_log(&self, topic: &str) -> Result<Vec<Value>, String> {
        let response = self.get(&format!("/events/{topic}?after=0&limit=1000"));
        if response.status != 200 {
            return Err(format!(
                "GET /events/{topic}: {} {}",
                response.status,
                response.text()
            ));
        }
        let log = response.json();
        log["events"]
            .as_array()
            .map(|entries| entries.iter().map(|entry| entry["event"].clone()).collect())
            .ok_or_else(|| format!("no events array in {log}"))
    }

    /// Like [`TestApp::try_event_log`], panicking if the log cannot be read.
    pub fn event_log(&self, topic: &str) -> Vec<Value> {
        self.try_event_log(topic).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Polls the log of `topic` until it holds at least `count` events that
    /// `keep` selects; returns those.
    pub fn wait_for_events(
        &self,
        topic: &str,
        count: usize,
        keep: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        eventually(
            EVENT_LOG_TIMEOUT,
            &format!("{count} events on {topic}"),
            || {
                let found: Vec<Value> = self
                    .try_event_log(topic)?
                    .into_iter()
                    .filter(&keep)
                    .collect();
                if found.len() >= count {
                    Ok(found)
                } else {
                    Err(format!("{} of them: {}", found.len(), Value::from(found)))
                }
            },
        )
    }

    /// Sends a request and reads the whole response; panics (with the server's
    /// output) if no HTTP response arrives within the request timeout. Carries
    /// the app's default key (see [`TestApp::request_as`]).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> TestResponse {
        self.request_as(Credentials::Default, method, path, headers, body)
    }

    /// Like [`TestApp::request`], but a transport failure (refused, reset,
    /// closed without a response, timed out) is an `Err` instead of a panic.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Result<TestResponse, String> {
        self.try_request_as(Credentials::Default, method, path, headers, body)
    }

    /// Sends a request with `credentials` as `Authorization: Bearer ...`; none is added when
    /// `headers` carry their own `authorization` or `x-api-key`.
    pub fn request_as(
        &self,
        credentials: Credentials<'_>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> TestResponse {
        match self.try_request_as(credentials, method, path, headers, body) {
            Ok(response) => response,
            Err(e) => panic!(
                "{method} {path}: no HTTP response: {e}\nserver output:\n{}",
                self.stderr()
            ),
        }
    }

    /// `GET path` with `credentials` (see [`TestApp::request_as`]).
    pub fn get_as(&self, credentials: Credentials<'_>, path: &str) -> TestResponse {
        self.request_as(credentials, "GET", path, &[], Vec::new())
    }

    /// Like [`TestApp::request_as`], but a transport failure is an `Err`.
    pub fn try_request_as(
        &self,
        credentials: Credentials<'_>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Result<TestResponse, String> {
        let own = headers.iter().any(|(name, _)| {
            name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("x-api-key")
        });
        let secret = match credentials {
            _ if own => None,
            Credentials::Default => self.default_key().map(|(_, key)| key),
            Credentials::None => None,
            Credentials::Key(key) => Some(key),
            Credentials::Admin => Some(self.admin_token()),
        };
        let bearer = secret.map(|secret| format!("Bearer {secret}"));
        let mut all = headers.to_vec();
        if let Some(bearer) = &bearer {
            all.push(("authorization", bearer));
        }
        send(&self.agent, method, &self.url(path), &all, body.into())
    }

    /// Writes `request` as it is to a new connection (for what an HTTP client would not send:
    /// a chunked body, a `Host` of our choosing) and reads the response until the server closes
    /// the connection, so `request` should say `connection: close`. `Err` if the server closes
    /// the connection without answering.
    pub fn raw_request(&self, request: &[u8]) -> Result<TestResponse, String> {
        let address = self.base_url.trim_start_matches("http://");
        let stream = TcpStream::connect(address).expect("connect to the app");
        stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok();
        // Written while the answer is read: the server may answer (e.g. 413) before it has read
        // all of a large body, and stop reading.
        let mut writer = stream.try_clone().expect("clone the connection");
        let request = request.to_vec();
        let writing = thread::spawn(move || {
            let _ = writer.write_all(&request);
        });
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        let read = reader.read_line(&mut status_line);
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok());
        let Some(status) = status else {
            // Unblocks the writer if the server stopped reading.
            let _ = reader.get_ref().shutdown(Shutdown::Both);
            let _ = writing.join();
            return Err(format!("no HTTP status line ({read:?}): {status_line:?}"));
        };
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                break;
            }
            if let Some((name, value)) = line.trim_end().split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let chunked = headers
            .iter()
            .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
        let body = if chunked {
            read_chunked(&mut reader)
        } else {
            let mut body = Vec::new();
            let _ = reader.read_to_end(&mut body);
            body
        };
        let _ = reader.get_ref().shutdown(Shutdown::Both);
        let _ = writing.join();
        Ok(TestResponse {
            status,
            headers,
            body,
        })
    }

    /// SIGKILLs the server (and its children); the state dir is kept.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_process_group(&mut child);
        }
    }

    /// Sends SIGTERM to the server, as a service manager would to stop it.
    pub fn terminate(&self) {
        if let Some(child) = &self.child {
            // SAFETY: plain syscall on a child we spawned and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
        }
    }

    /// Waits up to `limit` for the server to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = poll(limit, EVENTUALLY_INTERVAL, || {
            child.try_wait().ok().flatten()
        })?;
        self.child = None;
        Some(status)
    }

    /// Starts the server again with the same spec, state dir and runtime
    /// config (on a new port: `base_url` changes) and waits until healthy. The
    /// default key stays the same: the gateway keeps keys in its key-value file.
    pub fn restart(&mut self) {
        self.kill_hard();
        self.agent = new_agent(REQUEST_TIMEOUT);
        if let Err(failure) = self.launch() {
            panic!("restart failed: {failure}");
        }
    }

    /// Like [`TestApp::restart`], but with these extra `up` arguments from now
    /// on (e.g. to drop a `--variable` that made a dependency unreachable).
    pub fn restart_with(&mut self, extra_args: &[&str]) {
        self.spec.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        self.restart();
    }

    /// Everything the server printed so far (stdout and stderr, interleaved),
    /// across restarts.
    pub fn stderr(&self) -> String {
        read_lossy(&self.log_path())
    }

    fn log_path(&self) -> PathBuf {
        self.temp.path().join("server.log")
    }

    fn launch(&mut self) -> Result<(), StartFailure> {
        let mut attempt = 1;
        loop {
            let log_start = fs::metadata(self.log_path()).map(|m| m.len()).unwrap_or(0);
            let port = free_port();
            let child = self.spawn(port);
            self.child = Some(child);
            self.base_url = format!("http://127.0.0.1:{port}");
            match self.wait_healthy() {
                Ok(()) => return Ok(()),
                Err(status) => {
                    if let Some(mut child) = self.child.take() {
                        kill_process_group(&mut child);
                    }
                    let output = read_lossy(&self.log_path());
                    let output = output
                        .get(log_start as usize..)
                        .unwrap_or(&output)
                        .to_owned();
                    let port_taken = output.contains("in use") || output.contains("AddrInUse");
                    if port_taken && attempt < PORT_ATTEMPTS {
                        attempt += 1;
                        continue;
                    }
                    return Err(StartFailure {
                        status,
                        stderr: output,
                    });
                }
            }
        }
    }

    fn spawn(&self, port: u16) -> Child {
        let server = server_binary();
        let mut command = Command::new(&server);
        command
            .arg("up")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"));
        // The repository's own app starts exactly as `spin up` would in the
        // repo root (spin.toml found there); other apps name their manifest.
        if self.spec.manifest != repo_root().join("spin.toml") {
            command.arg("--from").arg(&self.spec.manifest);
        }
        command.arg("--state-dir").arg(self.state_dir());
        if !self.spec.runtime_config.is_empty() {
            command
                .arg("--runtime-config-file")
                .arg(self.temp.path().join("runtime-config.toml"));
        }
        command.args(&self.spec.extra_args);
        // Only the spec decides, never the environment the tests run in.
        match &self.spec.admin_token {
            Some(token) => command.env("SPIN_VARIABLE_ADMIN_TOKEN", token),
            None => command.env_remove("SPIN_VARIABLE_ADMIN_TOKEN"),
        };
        command.envs(self.spec.env.iter().map(|(k, v)| (k, v)));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open server log");
        command
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            // Its own process group, so that killing it also kills the children
            // (`spin up` runs the trigger as a child process).
            .process_group(0);
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", server.display()))
    }

    /// `Ok` once healthy; `Err(exit status)` if the server exited, or
    /// `Err(None)` at the deadline.
    fn wait_healthy(&mut self) -> Result<(), Option<ExitStatus>> {
        let health_agent = new_agent(Duration::from_secs(2));
        let url = self.url(HEALTH_PATH);
        let child = self.child.as_mut().expect("server running");
        poll(STARTUP_TIMEOUT, HEALTH_POLL_INTERVAL, || {
            if let Some(status) = child.try_wait().expect("poll server process") {
                return Some(Err(Some(status)));
            }
            send(&health_agent, "GET", &url, &[], Vec::new())
                .is_ok_and(|response| response.status == 200)
                .then_some(Ok(()))
        })
        .unwrap_or(Err(None))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A complete HTTP response.
#[derive(Clone, Debug)]
pub struct TestResponse {
    pub status: u16,
    /// Header names lowercase, values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the status and body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response is not JSON ({e}); status {}, body: {:?}",
                self.status,
                self.text()
            )
        })
    }
}

fn new_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<TestResponse, String> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    // Only methods that normally carry a body send one (even if empty, as a
    // `content-length: 0`); a GET goes out without any body framing.
    let carries_body = !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH");
    let result = if carries_body {
        agent.run(builder.body(body).map_err(|e| e.to_string())?)
    } else {
        agent.run(builder.body(()).map_err(|e| e.to_string())?)
    };
    let mut response = result.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .map_err(|e| format!("reading the body: {e}"))?;
    Ok(TestResponse {
        status,
        headers,
        body,
    })
}

/// `GET url` on any server (e.g. a metrics listener, not the app); panics if no
/// HTTP response arrives within the request timeout.
pub fn http_get(url: &str) -> TestResponse {
    send(&new_agent(REQUEST_TIMEOUT), "GET", url, &[], Vec::new())
        .unwrap_or_else(|e| panic!("GET {url}: no HTTP response: {e}"))
}

/// The server the tests run: `$SPIN_BIN`, else `$SPIN_HOST_BIN`, else
/// `<repo>/target/debug/spin-host`.
pub fn server_binary() -> PathBuf {
    if let Some(spin) = std::env::var_os("SPIN_BIN") {
        return PathBuf::from(spin);
    }
    if let Some(host) = std::env::var_os("SPIN_HOST_BIN") {
        return PathBuf::from(host);
    }
    let host = repo_root().join("target/debug/spin-host");
    require_file(
        &host,
        "build it with `cargo build -p spin-host`, or set SPIN_HOST_BIN (our host) or SPIN_BIN (real Spin)",
    );
    host
}

fn kill_process_group(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain syscall; the group id is the pid of a child we spawned with
    // `process_group(0)` and have not reaped yet, so it cannot have been reused.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn require_file(path: &Path, hint: &str) {
    assert!(path.exists(), "{} is missing: {hint}", path.display());
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// A request received by an [`UpstreamServer`].
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target as sent (normally path and query).
    pub target: String,
    /// Header names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP/1.1 server for outbound-request tests: answers every request
/// with `200` (or the next scripted status), `x-upstream: yes` and the body
/// [`UpstreamServer::BODY`], and records what it received. Stopped on drop.
pub struct UpstreamServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl UpstreamServer {
    pub const BODY: &'static str = "hello from upstream";

    pub fn start() -> UpstreamServer {
        UpstreamServer::with_statuses(&[])
    }

    /// A server that answers its first requests with `statuses`, in order
    /// (e.g. `[500, 500, 503]` for a subscriber that fails three times), then `200`.
    pub fn with_statuses(statuses: &[u16]) -> UpstreamServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream server");
        let port = listener.local_addr().expect("upstream address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        // Statuses still to answer, in order; `200` once empty.
        let script = Arc::new(Mutex::new(
            statuses.iter().copied().collect::<VecDeque<u16>>(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let requests = Arc::clone(&requests);
            let script = Arc::clone(&script);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let requests = Arc::clone(&requests);
                    let script = Arc::clone(&script);
                    thread::spawn(move || serve_upstream_connection(stream, &requests, &script));
                }
            })
        };
        UpstreamServer {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .expect("upstream requests lock")
            .clone()
    }
}

impl Drop for UpstreamServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A loopback server that accepts connections and never answers on them: a dependency that
/// hangs (a Redis behind a dead network, say). Stops when dropped.
pub struct SilentServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind silent server");
        let port = listener.local_addr().expect("silent server address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                // Held open, unread, until the server stops.
                let mut held = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    held.extend(stream.ok());
                }
            })
        };
        SilentServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_upstream_connection(
    stream: TcpStream,
    requests: &Mutex<Vec<RecordedRequest>>,
    script: &Mutex<VecDeque<u16>>,
) {
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    // Keep-alive: serve requests until the client closes the connection.
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v): &(String, String)| v.clone())
        };
        let body = if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
            read_chunked(&mut reader)
        } else {
            let length: usize = header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        // Record and pick the status under one lock, so concurrent requests
        // consume the script in the order they are recorded.
        let status = {
            let mut requests = requests.lock().expect("upstream requests lock");
            requests.push(RecordedRequest {
                method,
                target,
                headers,
                body,
            });
            script
                .lock()
                .expect("upstream script lock")
                .pop_front()
                .unwrap_or(200)
        };
        let response = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: text/plain\r\nx-upstream: yes\r\ncontent-length: {}\r\n\r\n{}",
            UpstreamServer::BODY.len(),
            UpstreamServer::BODY
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line).unwrap_or(0) == 0 {
            return body;
        }
        let size_text = size_line.trim().split(';').next().unwrap_or("0");
        let size = usize::from_str_radix(size_text, 16).unwrap_or(0);
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    return body;
                }
            }
        }
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return body;
        }
        chunk.truncate(size);
        body.extend(chunk);
    }
}

/// A throwaway `redis-server` on a free loopback port, no persistence. Killed
/// on drop. Panics with an install hint if `redis-server` is not installed.
pub struct RedisServer {
    pub port: u16,
    child: Child,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = free_port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): the Redis key-value tests need it \
                     installed (e.g. `apt-get install redis-server`)"
                )
            });
        let ready = poll(Duration::from_secs(10), HEALTH_POLL_INTERVAL, || {
            if redis_answers_ping(port) {
                return Some(Ok(()));
            }
            child.try_wait().ok().flatten().map(Err)
        });
        match ready {
            Some(Ok(())) => RedisServer { port, child },
            Some(Err(status)) => {
                panic!("redis-server exited on startup ({status}); port {port} taken?")
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not answer PING on port {port} within 10 s");
            }
        }
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs one command (inline protocol) and returns the raw reply line(s).
    pub fn command(&self, command: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .expect("send to redis");
        let _ = stream.shutdown(Shutdown::Write);
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok();
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// Reads a file that may not exist yet as text.
pub fn read_to_string_lossy(path: &Path) -> String {
    read_lossy(path)
}

/// Creates `path`'s parent dirs and writes `contents`.
pub fn write_file(path: &Path, contents: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent dirs");
    }
    let mut file = File::create(path).expect("create file");
    file.write_all(contents.as_bytes()).expect("write file");
}
