//! Host conformance: Key-value (`fermyon:spin/key-value`): the store's operations, labels and their access
//! rules, persistence, and the Redis backend (needs `redis-server` installed).
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{
    fetch, kv_delete, kv_exists, kv_get, kv_keys, kv_set, probe_wasm, repo_root,
    start_conformance_app, AppSpec, RedisServer, TestApp,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Key-value

#[test]
fn kv_get_of_missing_key_is_none() {
    let app = start_conformance_app();
    assert_eq!(kv_get(&app, "default", "missing"), json!({ "ok": null }));
}

#[test]
fn kv_set_then_get_round_trips() {
    let app = start_conformance_app();
    assert_eq!(
        kv_set(&app, "default", "greeting", "hello"),
        json!({ "ok": null })
    );
    assert_eq!(
        kv_get(&app, "default", "greeting"),
        json!({ "ok": "hello" })
    );
}

#[test]
fn kv_set_overwrites_existing_value() {
    let app = start_conformance_app();
    kv_set(&app, "default", "k", "first");
    kv_set(&app, "default", "k", "second");
    assert_eq!(kv_get(&app, "default", "k"), json!({ "ok": "second" }));
}

#[test]
fn kv_delete_removes_key_and_deleting_missing_key_is_ok() {
    let app = start_conformance_app();
    kv_set(&app, "default", "doomed", "x");
    assert_eq!(kv_delete(&app, "default", "doomed"), json!({ "ok": null }));
    assert_eq!(kv_get(&app, "default", "doomed"), json!({ "ok": null }));
    assert_eq!(
        kv_delete(&app, "default", "never-existed"),
        json!({ "ok": null })
    );
}

#[test]
fn kv_exists_reports_presence() {
    let app = start_conformance_app();
    assert_eq!(kv_exists(&app, "default", "k"), json!({ "ok": false }));
    kv_set(&app, "default", "k", "");
    assert_eq!(kv_exists(&app, "default", "k"), json!({ "ok": true }));
}

#[test]
fn kv_get_keys_lists_only_the_labels_keys() {
    let app = start_conformance_app();
    kv_set(&app, "default", "a", "1");
    kv_set(&app, "default", "b", "2");
    kv_set(&app, "other", "c", "3");
    assert_eq!(kv_keys(&app, "default"), ["a", "b"]);
    assert_eq!(kv_keys(&app, "other"), ["c"]);
}

#[test]
fn kv_labels_are_separate_stores() {
    let app = start_conformance_app();
    kv_set(&app, "default", "k", "in default");
    kv_set(&app, "other", "k", "in other");
    assert_eq!(kv_get(&app, "default", "k"), json!({ "ok": "in default" }));
    assert_eq!(kv_get(&app, "other", "k"), json!({ "ok": "in other" }));
}

#[test]
fn kv_undeclared_label_is_access_denied() {
    let app = start_conformance_app();
    let result = kv_get(&app, "not-declared", "k");
    assert_eq!(result["error"], "access-denied", "{result}");
}

#[test]
fn kv_existing_label_not_declared_by_component_is_access_denied() {
    let app = start_conformance_app();
    // The echo component declares no stores; `other` exists for the probe.
    let result = fetch(
        &app,
        "http://echo.spin.internal/probe/kv/other/get/k",
        "GET",
        &[],
        "",
    );
    assert_eq!(result["status"], 200, "{result}");
    let inner: Value =
        serde_json::from_str(result["body"].as_str().unwrap_or_default()).expect("json");
    assert_eq!(inner["error"], "access-denied", "{inner}");
}

#[test]
fn kv_data_persists_across_restart() {
    let mut app = start_conformance_app();
    kv_set(&app, "default", "durable", "yes");
    kv_set(&app, "other", "durable", "also");
    app.kill_hard();
    app.restart();
    assert_eq!(kv_get(&app, "default", "durable"), json!({ "ok": "yes" }));
    assert_eq!(kv_get(&app, "other", "durable"), json!({ "ok": "also" }));
}

#[test]
fn kv_redis_label_stores_in_redis() {
    let redis = RedisServer::start();
    probe_wasm();
    let app = TestApp::start(AppSpec {
        manifest: repo_root().join("tests/apps/redis-kv/spin.toml"),
        runtime_config: format!(
            "[key_value_store.cache]\ntype = \"redis\"\nurl = \"{}\"\n",
            redis.url()
        ),
        ..AppSpec::default()
    });
    assert_eq!(kv_get(&app, "cache", "k"), json!({ "ok": null }));
    assert_eq!(kv_set(&app, "cache", "k", "value"), json!({ "ok": null }));
    assert_eq!(kv_get(&app, "cache", "k"), json!({ "ok": "value" }));
    assert_eq!(kv_exists(&app, "cache", "k"), json!({ "ok": true }));
    assert_eq!(kv_keys(&app, "cache"), ["k"]);
    assert_eq!(
        redis.command("GET k"),
        "$5\r\nvalue\r\n",
        "the value must really be in Redis"
    );
    assert_eq!(kv_delete(&app, "cache", "k"), json!({ "ok": null }));
    assert_eq!(kv_exists(&app, "cache", "k"), json!({ "ok": false }));
    assert_eq!(redis.command("EXISTS k"), ":0\r\n");
}
