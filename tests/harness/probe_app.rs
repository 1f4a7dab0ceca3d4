//! The conformance app (`tests/apps/conformance`, the probe component under several routes and
//! labels) and apps made from manifest text, including ones expected to fail at startup.

use std::path::PathBuf;

use crate::app::{AppSpec, StartFailure, TestApp};
use crate::files::{repo_root, require_file, write_file};

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

const CONFORMANCE_RUNTIME_CONFIG: &str = r#"
[key_value_store.other]
type = "spin"
path = "{tmp}/other_kv.db"

[sqlite_database.probe_db]
type = "spin"
path = "{tmp}/probe_db.db"
"#;

/// The conformance app's `secret_thing` (given as `SPIN_VARIABLE_SECRET_THING`).
pub const SECRET_THING: &str = "s3cret";

/// The spec of the conformance app: its extra labels in the temp dir, its secret variable set.
pub fn conformance_spec() -> AppSpec {
    probe_wasm();
    AppSpec {
        manifest: repo_root().join("tests/apps/conformance/spin.toml"),
        runtime_config: CONFORMANCE_RUNTIME_CONFIG.to_owned(),
        env: vec![(
            "SPIN_VARIABLE_SECRET_THING".to_owned(),
            SECRET_THING.to_owned(),
        )],
        ..AppSpec::default()
    }
}

/// Starts the conformance app.
pub fn start_conformance_app() -> TestApp {
    TestApp::start(conformance_spec())
}

/// The conformance app with some change to its spec.
pub fn start_conformance_app_with(change: impl FnOnce(&mut AppSpec)) -> TestApp {
    let mut spec = conformance_spec();
    change(&mut spec);
    TestApp::start(spec)
}

/// An app from manifest text written into a fresh temp dir; `{probe}` in the
/// text is replaced by the probe's wasm path. The dir lives as long as the
/// returned guard.
pub fn manifest_in_temp_dir(manifest: &str) -> (tempfile::TempDir, AppSpec) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("spin.toml");
    let probe = probe_wasm();
    write_file(
        &path,
        &manifest.replace("{probe}", probe.to_str().expect("utf-8 path")),
    );
    let spec = AppSpec {
        manifest: path,
        ..AppSpec::default()
    };
    (dir, spec)
}

/// Starts an app from manifest text (see [`manifest_in_temp_dir`]).
pub fn start_manifest(manifest: &str) -> (tempfile::TempDir, TestApp) {
    let (dir, spec) = manifest_in_temp_dir(manifest);
    (dir, TestApp::start(spec))
}

/// Starts an app named "broken" whose manifest is the header plus `body`,
/// expecting startup to fail with a non-zero exit.
pub fn expect_startup_failure(body: &str) -> StartFailure {
    let manifest = format!("spin_manifest_version = 2\n[application]\nname = \"broken\"\n{body}");
    let (_dir, spec) = manifest_in_temp_dir(&manifest);
    match TestApp::try_start(spec) {
        Ok(app) => panic!(
            "expected startup to fail, but the app became healthy; output:\n{}",
            app.stderr()
        ),
        Err(failure) => {
            let status = failure
                .status
                .unwrap_or_else(|| panic!("server neither exited nor became healthy: {failure}"));
            assert!(
                !status.success(),
                "expected a non-zero exit, got {status}; output:\n{}",
                failure.stderr
            );
            failure
        }
    }
}

/// Asserts that a failed startup's output mentions `needle`.
pub fn assert_mentions(failure: &StartFailure, needle: &str) {
    assert!(
        failure.stderr.contains(needle),
        "expected the startup error to mention {needle:?}; output:\n{}",
        failure.stderr
    );
}
