//! Host conformance: A guest's environment and output: the manifest's `environment`, nothing of the server's,
//! and guest stdout/stderr printed and logged per component.
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{
    eventually_contains, probe_json, start_conformance_app, start_conformance_app_with,
};
use serde_json::json;

// ---------------------------------------------------------------------------
// Environment and guest output

#[test]
fn manifest_environment_reaches_guest() {
    let app = start_conformance_app();
    let result = probe_json(app.get("/probe/env?name=PROBE_ENV"));
    assert_eq!(result, json!({ "ok": "from the manifest" }));
}

#[test]
fn server_process_environment_does_not_leak_into_guest() {
    let app = start_conformance_app_with(|spec| {
        spec.env.push(("PROBE_LEAK_CHECK".into(), "leaked".into()))
    });
    let result = probe_json(app.get("/probe/env?name=PROBE_LEAK_CHECK"));
    assert_eq!(result, json!({ "ok": null }));
}

#[test]
fn guest_output_is_printed_by_the_server() {
    let app = start_conformance_app();
    probe_json(app.get("/probe/log?text=marker-7f3a"));
    let output = eventually_contains(|| app.stderr(), "marker-7f3a");
    assert!(output.contains("marker-7f3a"), "output:\n{output}");
}

#[test]
fn guest_output_is_logged_per_component_in_state_dir() {
    let app = start_conformance_app();
    probe_json(app.get("/probe/log?text=logged-9b2c"));
    let logs = app.state_dir().join("logs");
    for file in ["probe_stdout.txt", "probe_stderr.txt"] {
        let text = eventually_contains(
            || std::fs::read_to_string(logs.join(file)).unwrap_or_default(),
            "logged-9b2c",
        );
        assert!(text.contains("logged-9b2c"), "{file}: {text:?}");
    }
}
