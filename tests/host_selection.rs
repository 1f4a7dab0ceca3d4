//! Host conformance: selective deployment, `up -c/--component-id ID` (spin-compat s.10): only
//! the selected components and the triggers naming them run; an unknown id, or a selected
//! component that may chain outside the selection, fails startup with Spin's messages.
//!
//! Part of the host conformance suite (see `host_routing.rs`); runs unchanged against the real
//! Spin (`SPIN_BIN=...`) or our host. Needs the probe built.

use integration_tests::{
    assert_mentions, conformance_spec, manifest_in_temp_dir, AppSpec, StartFailure, TestApp,
};
use serde_json::Value;

fn selecting(ids: &[&str], mut spec: AppSpec) -> AppSpec {
    for id in ids {
        spec.extra_args.extend(["-c".to_owned(), id.to_string()]);
    }
    spec
}

fn expect_refused(spec: AppSpec) -> StartFailure {
    match TestApp::try_start(spec) {
        Ok(app) => panic!("expected startup to fail; output:\n{}", app.stderr()),
        Err(failure) => {
            let status = failure.status.expect("the server exits");
            assert!(!status.success(), "{status}: {}", failure.stderr);
            failure
        }
    }
}

fn component_answering(app: &TestApp, path: &str) -> String {
    let response = app.get(path);
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    let echo: Value = response.json();
    echo["component"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn only_the_selected_components_and_their_routes_run() {
    let app = TestApp::start(selecting(&["probe", "echo"], conformance_spec()));
    assert_eq!(component_answering(&app, "/probe/x"), "probe");
    // `exact` is left out, so its route is gone and the probe's wildcard answers.
    assert_eq!(component_answering(&app, "/probe/target-exact"), "probe");

    let whole = TestApp::start(conformance_spec());
    assert_eq!(component_answering(&whole, "/probe/target-exact"), "exact");
}

#[test]
fn an_unknown_component_id_fails_startup() {
    let failure = expect_refused(selecting(&["probe", "ghost"], conformance_spec()));
    assert_mentions(
        &failure,
        "Specified component \"ghost\" not found in application",
    );
}

#[test]
fn chaining_to_an_unselected_component_fails_startup() {
    // The probe may call `http://echo.spin.internal`.
    let failure = expect_refused(selecting(&["probe"], conformance_spec()));
    assert_mentions(
        &failure,
        "Selected component 'probe' cannot use service chaining to unselected component: \
         allowed_outbound_hosts = [\"http://echo.spin.internal\"]",
    );
}

#[test]
fn wildcard_chaining_fails_startup_whatever_is_selected() {
    let manifest = r#"spin_manifest_version = 2
[application]
name = "wildcard"
[[trigger.http]]
route = "/..."
component = "front"
[[trigger.http]]
route = { private = true }
component = "back"
[component.front]
source = "{probe}"
allowed_outbound_hosts = ["http://*.spin.internal"]
[component.back]
source = "{probe}"
"#;
    let (_dir, spec) = manifest_in_temp_dir(manifest);
    // Even with every component selected: a wildcard cannot be checked against the selection.
    let failure = expect_refused(selecting(&["front", "back"], spec));
    assert_mentions(
        &failure,
        "Selected component 'front' cannot use wildcard service chaining: \
         allowed_outbound_hosts = [\"http://*.spin.internal\"]",
    );
}
