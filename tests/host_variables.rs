//! Host conformance: Variables (`fermyon:spin/variables`): defaults, templates, `SPIN_VARIABLE_*`, runtime
//! config providers, and which names a component may read.
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{start_conformance_app, start_conformance_app_with, var, SECRET_THING};
use serde_json::json;

// ---------------------------------------------------------------------------
// Variables

#[test]
fn variable_without_override_uses_manifest_default() {
    let app = start_conformance_app();
    assert_eq!(var(&app, "plain"), json!({ "ok": "plain" }));
}

#[test]
fn variable_template_is_rendered() {
    let app = start_conformance_app();
    assert_eq!(var(&app, "greeting_line"), json!({ "ok": "hello, world" }));
}

#[test]
fn required_variable_comes_from_spin_variable_env() {
    let app = start_conformance_app();
    assert_eq!(var(&app, "secret"), json!({ "ok": SECRET_THING }));
}

#[test]
fn spin_variable_env_overrides_default() {
    let app = start_conformance_app_with(|spec| {
        spec.env
            .push(("SPIN_VARIABLE_GREETING".into(), "hi".into()))
    });
    assert_eq!(var(&app, "greeting_line"), json!({ "ok": "hi, world" }));
}

#[test]
fn runtime_config_provider_overrides_env() {
    let app = start_conformance_app_with(|spec| {
        spec.env
            .push(("SPIN_VARIABLE_GREETING".into(), "hi".into()));
        spec.runtime_config.push_str(
            "\n[[variables_provider]]\ntype = \"static\"\nvalues = { greeting = \"bonjour\" }\n",
        );
    });
    assert_eq!(
        var(&app, "greeting_line"),
        json!({ "ok": "bonjour, world" })
    );
}

#[test]
fn variable_not_declared_by_component_is_undefined() {
    let app = start_conformance_app();
    let result = var(&app, "not_declared");
    assert_eq!(result["error"], "undefined", "{result}");
}

#[test]
fn app_variable_without_component_entry_is_undefined() {
    let app = start_conformance_app();
    // `greeting` is an app variable, but guests only see component variables.
    let result = var(&app, "greeting");
    assert_eq!(result["error"], "undefined", "{result}");
}

#[test]
fn malformed_variable_name_is_invalid_name() {
    let app = start_conformance_app();
    let result = var(&app, "Bad-Name");
    assert_eq!(result["error"], "invalid-name", "{result}");
}
