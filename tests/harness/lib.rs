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
//! One module per job; the tests import everything from the crate root:
//! - `app`: the server process (spec, start on a free port, logs, restart, stop);
//! - `http` and `requests`: responses, the HTTP client, the app's request methods;
//! - `fixtures`: the main app's spec, admin token, all-scopes key and services;
//! - `events`: the events service's log (publish, read, wait for events);
//! - `upstream` and `redis`: the tests' other parties ([`UpstreamServer`],
//!   [`SilentServer`], [`RedisServer`]);
//! - `probe` and `probe_app`: the conformance app and its probe component;
//! - `clock` and `wait`: timestamps, and [`eventually`], the only way a test waits;
//! - `files`: the repository root and small file helpers;
//! - `topology`: which manifest the main app starts from (`APP_TOPOLOGY`), what the composed
//!   edge cannot do by design (asked with e.g. [`Topology::decorates_answers`]), and
//!   [`skipped_in`] for a test of which nothing applies in a topology.

mod app;
mod clock;
mod events;
mod files;
mod fixtures;
mod http;
mod probe;
mod probe_app;
mod redis;
mod requests;
mod topology;
mod upstream;
mod wait;

pub use app::{free_port, is_real_spin, server_binary, AppSpec, StartFailure, TestApp};
pub use clock::{now_millis, rfc3339, utc_date_yyyymmdd};
pub use events::{CE_BATCH, CE_JSON};
pub use files::{read_to_string_lossy, repo_root, write_file};
pub use fixtures::{
    all_scopes, main_app_runtime_config, main_app_spec, SERVICES, TEST_ADMIN_TOKEN,
};
pub use http::{assert_error, assert_methods_not_allowed, http_get, TestResponse, JSON};
pub use probe::*;
pub use probe_app::*;
pub use redis::RedisServer;
pub use requests::Credentials;
pub use topology::{skipped_in, Topology, TOPOLOGY_ENV};
pub use upstream::{RecordedRequest, SilentServer, UpstreamServer};
pub use wait::{eventually, eventually_contains};
