//! Host conformance: The manifest at startup: an otherwise valid app with one defect fails to start, naming it.
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{assert_mentions, expect_startup_failure};

// ---------------------------------------------------------------------------
// Startup failures (each manifest is an otherwise valid app with one defect)

#[test]
fn trigger_naming_unknown_component_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "ghost"
[component.probe]
source = "{probe}"
"#,
    );
    assert_mentions(&failure, "ghost");
}

#[test]
fn missing_component_source_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "lost-source"
[component.lost-source]
source = "does-not-exist.wasm"
"#,
    );
    assert_mentions(&failure, "lost-source");
}

#[test]
fn unnamed_route_param_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/:"
component = "probe"
[component.probe]
source = "{probe}"
"#,
    );
    assert_mentions(&failure, "params must be named");
}

#[test]
fn undefined_sqlite_label_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
sqlite_databases = ["ghost_db"]
"#,
    );
    assert_mentions(&failure, "ghost_db");
}

#[test]
fn undefined_kv_label_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
key_value_stores = ["ghost-store"]
"#,
    );
    assert_mentions(&failure, "ghost-store");
}

#[test]
fn required_variable_without_value_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[variables]
api_token = { required = true }
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
[component.probe.variables]
token = "{{ api_token }}"
"#,
    );
    assert_mentions(&failure, "api_token");
}

#[test]
fn component_variable_naming_undeclared_app_variable_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
[component.probe.variables]
token = "{{ nowhere_declared }}"
"#,
    );
    assert_mentions(&failure, "nowhere_declared");
}

#[test]
fn unknown_manifest_key_fails_startup() {
    let failure = expect_startup_failure(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
colour = "blue"
"#,
    );
    assert_mentions(&failure, "colour");
}
