//! Host conformance: component dependencies (`[component.<id>.dependencies]`, spin-compat
//! s.10). A dependency fills the imports its key names (a plain name, a package or an
//! interface), from a file or from another component of the app, with its own `export` if
//! given; two keys naming one import, a key naming none, and registry sources fail startup.
//! Without inheritance a dependency gets none of the parent's capabilities (its key-value and
//! SQLite opens answer access-denied); with it, it shares them. A middleware (importing and
//! exporting `wasi:http/incoming-handler`) wrapping the probe serves requests end to end.
//!
//! Components (built by `cargo xtask test`, or `cargo build --target wasm32-wasip2 --release
//! -p <each>`): `deps-parent` imports `test:deps/greeter`, `deps-plain-parent` the plain-named
//! `helper`; `deps-library` exports them and `test:deps/loud-greeter`;
//! `deps-middleware` answers `/__middleware` itself and passes every other request on.

use integration_tests::{
    assert_mentions, expect_startup_failure, is_real_spin, manifest_in_temp_dir, repo_root,
    write_file, TestApp,
};
use serde_json::{json, Value};
use std::path::PathBuf;

fn wasm(crate_name: &str) -> String {
    let path: PathBuf = repo_root().join(format!(
        "target/wasm32-wasip2/release/{}.wasm",
        crate_name.replace('-', "_")
    ));
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build --target wasm32-wasip2 --release -p {crate_name}`",
        path.display()
    );
    path.to_str().expect("utf-8 path").to_owned()
}

/// `{parent}`, `{library}`, `{middleware}` and `{probe}` replaced by the built components.
fn with_components(manifest: &str) -> String {
    manifest
        .replace("{parent}", &wasm("deps-parent"))
        .replace("{library}", &wasm("deps-library"))
        .replace("{middleware}", &wasm("deps-middleware"))
        .replace("{probe}", &wasm("probe"))
        .replace("{plain-parent}", &wasm("deps-plain-parent"))
}

/// An app serving `/greet/...` with the parent, whose dependencies table is `dependencies`.
fn parent_manifest(dependencies: &str) -> String {
    with_components(&format!(
        r#"spin_manifest_version = 2
[application]
name = "deps"
[[trigger.http]]
route = "/greet/..."
component = "parent"
[component.parent]
source = "{{parent}}"
[component.parent.dependencies]
{dependencies}
"#
    ))
}

fn start(manifest: &str) -> (tempfile::TempDir, TestApp) {
    let (dir, spec) = manifest_in_temp_dir(manifest);
    (dir, TestApp::start(spec))
}

fn greeting(app: &TestApp, name: &str) -> String {
    let response = app.get(&format!("/greet/{name}"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

#[test]
fn a_dependency_fills_the_import_its_interface_names() {
    let (_dir, app) = start(&parent_manifest(
        r#""test:deps/greeter" = { path = "{library}" }"#,
    ));
    assert_eq!(greeting(&app, "ada"), "hello, ada");
}

#[test]
fn a_plain_name_fills_the_import_of_that_name() {
    let manifest = with_components(
        r#"spin_manifest_version = 2
[application]
name = "plain"
[[trigger.http]]
route = "/shout/..."
component = "plain-parent"
[component.plain-parent]
source = "{plain-parent}"
[component.plain-parent.dependencies]
helper = { path = "{library}" }
"#,
    );
    let (_dir, app) = start(&manifest);
    let response = app.get("/shout/hey");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), "HEY!");
}

#[test]
fn a_package_name_fills_the_imports_of_that_package() {
    let (_dir, app) = start(&parent_manifest(r#""test:deps" = { path = "{library}" }"#));
    assert_eq!(greeting(&app, "ada"), "hello, ada");
}

#[test]
fn export_chooses_which_export_of_the_dependency_is_plugged_in() {
    let (_dir, app) = start(&parent_manifest(
        r#""test:deps/greeter" = { path = "{library}", export = "test:deps/loud-greeter" }"#,
    ));
    assert_eq!(greeting(&app, "ada"), "HELLO, ADA!");
}

#[test]
fn a_dependency_may_be_another_component_of_the_app_without_a_trigger() {
    let manifest = parent_manifest(r#""test:deps/greeter" = { component = "library" }"#)
        + &with_components("[component.library]\nsource = \"{library}\"\n");
    let (_dir, app) = start(&manifest);
    assert_eq!(greeting(&app, "bo"), "hello, bo");
}

#[test]
fn a_relative_path_is_relative_to_the_manifest() {
    let (dir, spec) = manifest_in_temp_dir(&parent_manifest(
        r#""test:deps/greeter" = { path = "lib.wasm" }"#,
    ));
    std::fs::copy(wasm("deps-library"), dir.path().join("lib.wasm")).expect("copy library");
    let app = TestApp::start(spec);
    assert_eq!(greeting(&app, "cy"), "hello, cy");
}

/// The header of [`expect_startup_failure`] is added; `body` gets the parent and its table.
fn refused(dependencies: &str) -> integration_tests::StartFailure {
    let manifest = parent_manifest(dependencies);
    let body = manifest.split_once("name = \"deps\"\n").expect("header").1;
    expect_startup_failure(body)
}

#[test]
fn two_keys_naming_the_same_import_fail_startup_naming_both() {
    let failure = refused(
        r#""test:deps" = { path = "{library}" }
"test:deps/greeter" = { path = "{library}" }"#,
    );
    assert_mentions(&failure, "test:deps");
    assert_mentions(&failure, "test:deps/greeter");
    if !is_real_spin() {
        assert_mentions(
            &failure,
            "dependencies \"test:deps\" and \"test:deps/greeter\" both match import `test:deps/greeter`",
        );
    }
}

#[test]
fn a_key_naming_no_import_fails_startup() {
    let failure = refused(
        r#""test:deps/greeter" = { path = "{library}" }
"test:other/thing" = { path = "{library}" }"#,
    );
    assert_mentions(&failure, "test:other/thing");
}

#[test]
fn a_missing_or_broken_dependency_fails_startup() {
    let failure = refused(r#""test:deps/greeter" = { path = "missing.wasm" }"#);
    assert_mentions(&failure, "missing.wasm");

    let manifest = parent_manifest(r#""test:deps/greeter" = { path = "broken.wasm" }"#);
    let body = manifest.split_once("name = \"deps\"\n").expect("header").1;
    let manifest = format!("spin_manifest_version = 2\n[application]\nname = \"deps\"\n{body}");
    let (dir, spec) = manifest_in_temp_dir(&manifest);
    std::fs::write(dir.path().join("broken.wasm"), "not wasm").expect("write");
    match TestApp::try_start(spec) {
        Ok(app) => panic!("expected startup to fail:\n{}", app.stderr()),
        Err(failure) => {
            assert!(!failure.status.expect("exits").success());
            if !is_real_spin() {
                assert_mentions(
                    &failure,
                    "dependency \"test:deps/greeter\": not a valid component",
                );
            }
            assert!(!failure.stderr.contains("panicked"), "{}", failure.stderr);
        }
    }
}

#[test]
fn an_export_the_dependency_lacks_fails_startup() {
    let failure =
        refused(r#""test:deps/greeter" = { path = "{library}", export = "test:deps/nowhere" }"#);
    if !is_real_spin() {
        assert_mentions(&failure, "no export `test:deps/nowhere`");
    }
    assert!(!failure.stderr.contains("panicked"), "{}", failure.stderr);
}

#[test]
fn registry_dependencies_fail_startup() {
    if is_real_spin() {
        eprintln!("skipped: the real Spin would try the registry");
        return;
    }
    for value in [
        r#""1.0.0""#,
        r#"{ version = "1.0.0", registry = "example.com" }"#,
    ] {
        let failure = refused(&format!(r#""test:deps/greeter" = {value}"#));
        assert_mentions(
            &failure,
            "registry dependencies are not supported by this host",
        );
    }
}

#[test]
fn both_kinds_of_inheritance_at_once_fail_startup() {
    if is_real_spin() {
        eprintln!("skipped: the wording is the host's own");
        return;
    }
    let manifest = parent_manifest(
        r#""test:deps/greeter" = { path = "{library}", inherit_configuration = true }"#,
    )
    .replace(
        "[component.parent]\n",
        "[component.parent]\ndependencies_inherit_configuration = true\n",
    );
    let body = manifest.split_once("name = \"deps\"\n").expect("header").1;
    let failure = expect_startup_failure(body);
    assert_mentions(&failure, "`inherit_configuration` cannot be combined");
}

/// `tests/apps/dependencies`: the probe wrapped by the middleware (as spin-compat s.10
/// observed it on Spin 4.0.2) and the parent filled by the `library` component.
fn dependencies_app() -> PathBuf {
    repo_root().join("tests/apps/dependencies/spin.toml")
}

/// The dependencies app, as it is (`inherit`) or with `dependencies_inherit_configuration`
/// false; either way the probe may try `http://127.0.0.1:1` (nothing listens there).
fn wrapped_probe(inherit: bool) -> (tempfile::TempDir, TestApp) {
    require_app_components();
    let manifest = std::fs::read_to_string(dependencies_app()).expect("read the app");
    let repo = repo_root();
    let manifest = manifest
        .replace(
            "\"../../../target/",
            &format!("\"{}/target/", repo.display()),
        )
        .replace(
            "dependencies_inherit_configuration = true",
            &format!(
                "dependencies_inherit_configuration = {inherit}\n\
                 allowed_outbound_hosts = [\"http://127.0.0.1:1\"]"
            ),
        );
    let (dir, spec) = manifest_in_temp_dir(&manifest);
    (dir, TestApp::start(spec))
}

fn probe_json(app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> Value {
    let response = match body {
        Some(body) => app.post_json(path, body),
        None => app.request(method, path, &[], Vec::new()),
    };
    assert_eq!(response.status, 200, "{method} {path}: {}", response.text());
    response.json()
}

/// Panics, with how to build them, unless the dependencies app's components are built.
fn require_app_components() {
    for component in [
        "deps-middleware",
        "probe",
        "deps-parent",
        "deps-plain-parent",
        "deps-library",
    ] {
        wasm(component);
    }
}

#[test]
fn the_dependencies_app_serves_as_it_is() {
    require_app_components();
    let app = TestApp::start(integration_tests::AppSpec {
        manifest: dependencies_app(),
        ..Default::default()
    });
    assert_eq!(greeting(&app, "eve"), "hello, eve");
    assert_eq!(
        app.get("/__middleware").text(),
        "answered by the middleware"
    );
    let var = probe_json(&app, "GET", "/probe/var/greeting_line", None);
    assert_eq!(var, json!({"ok": "hi"}));
}

#[test]
fn a_middleware_wrapping_a_handler_serves_requests_end_to_end() {
    let (_dir, app) = wrapped_probe(true);
    let own = app.get("/__middleware");
    assert_eq!(own.status, 200);
    assert_eq!(own.text(), "answered by the middleware");
    // Everything else reaches the probe, with the request as sent.
    let echo = probe_json(&app, "GET", "/probe/echo?x=1", None);
    assert_eq!(echo["path_with_query"], "/probe/echo?x=1", "{echo}");
}

#[test]
fn an_inheriting_dependency_shares_the_parents_stores_and_variables() {
    let (_dir, app) = wrapped_probe(true);
    let set = app.post("/probe/kv/default/set/k", "text/plain", "v");
    assert_eq!(set.status, 200, "{}", set.text());
    let got = probe_json(&app, "GET", "/probe/kv/default/get/k", None);
    assert_eq!(got, json!({"ok": "v"}));
    let sql = json!({"sql": "SELECT 40 + 2", "params": []});
    let rows = probe_json(&app, "POST", "/probe/sqlite/default", Some(&sql));
    assert_eq!(rows["rows"], json!([[42]]), "{rows}");
    let var = probe_json(&app, "GET", "/probe/var/greeting_line", None);
    assert_eq!(var, json!({"ok": "hi"}));
    let env = probe_json(&app, "GET", "/probe/env?name=PROBE_ENV", None);
    assert_eq!(env, json!({"ok": "from the parent"}));
    // Allowed, so the request is made (and refused by the closed port).
    let fetch = probe_json(&app, "GET", "/probe/fetch?url=http://127.0.0.1:1/", None);
    assert!(
        !fetch["code"].to_string().contains("HttpRequestDenied"),
        "{fetch}"
    );
}

/// `path` answered without what the parent's configuration holds: an error value, or (where
/// a deny adapter traps) a 500.
fn denied(app: &TestApp, path: &str) -> Value {
    let response = app.get(path);
    if response.status == 500 {
        return Value::Null;
    }
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    response.json()
}

#[test]
fn a_dependency_without_inheritance_is_denied_the_parents_capabilities() {
    let (_dir, app) = wrapped_probe(false);
    // As observed on Spin 4.0.2: the opens answer access-denied.
    let kv = probe_json(&app, "GET", "/probe/kv/default/get/k", None);
    assert_eq!(kv["error"], "access-denied", "{kv}");
    let sql = json!({"sql": "SELECT 1", "params": []});
    let db = probe_json(&app, "POST", "/probe/sqlite/default", Some(&sql));
    assert_eq!(db["error"], "access-denied", "{db}");
    // The others give nothing of the parent's.
    let var = denied(&app, "/probe/var/greeting_line");
    assert!(var.get("ok").is_none(), "{var}");
    let env = denied(&app, "/probe/env?name=PROBE_ENV");
    assert!(env.get("ok").is_none_or(Value::is_null), "{env}");
    let fetch = denied(&app, "/probe/fetch?url=http://127.0.0.1:1/");
    assert!(fetch.get("status").is_none(), "{fetch}");
    // The middleware itself still answers.
    assert_eq!(app.get("/__middleware").status, 200);
}

#[test]
fn this_host_answers_a_denied_call_with_its_error_value() {
    if is_real_spin() {
        eprintln!("skipped: how a denied call other than an open fails is the host's own");
        return;
    }
    let (_dir, app) = wrapped_probe(false);
    let var = probe_json(&app, "GET", "/probe/var/greeting_line", None);
    assert!(var["error"].is_string(), "{var}");
    let env = probe_json(&app, "GET", "/probe/env?name=PROBE_ENV", None);
    assert_eq!(env, json!({"ok": null}));
    let fetch = probe_json(&app, "GET", "/probe/fetch?url=http://127.0.0.1:1/", None);
    assert!(
        fetch["code"].to_string().contains("HttpRequestDenied"),
        "{fetch}"
    );
}

/// The app of [`a_changed_dependency_file_swaps_its_component_on_watch`]: the parent with a
/// copy of the library in its dir.
fn watched_app() -> (tempfile::TempDir, TestApp) {
    let (dir, mut spec) = manifest_in_temp_dir(&parent_manifest(
        r#""test:deps/greeter" = { path = "lib.wasm" }"#,
    ));
    std::fs::copy(wasm("deps-library"), dir.path().join("lib.wasm")).expect("copy library");
    spec.extra_args = vec!["--watch".into()];
    (dir, TestApp::start(spec))
}

#[test]
fn a_changed_dependency_file_swaps_its_component_on_watch() {
    if is_real_spin() {
        eprintln!("skipped: reloading with --watch is our host's own feature");
        return;
    }
    let (dir, app) = watched_app();
    assert_eq!(greeting(&app, "di"), "hello, di");
    // The same library with a custom section appended: another digest, as a rebuild gives.
    let mut bytes = std::fs::read(wasm("deps-library")).expect("read library");
    bytes.extend_from_slice(&[0, 5, 4, b't', b'e', b's', b't']);
    let aside = dir.path().join("lib.wasm.new");
    std::fs::write(&aside, &bytes).expect("write library");
    std::fs::rename(&aside, dir.path().join("lib.wasm")).expect("rename library");
    let log = integration_tests::eventually(
        std::time::Duration::from_secs(120),
        "the watcher's reload",
        || {
            let log = app.stderr();
            if log.contains("Reloaded in ") {
                Ok(log)
            } else {
                Err(log)
            }
        },
    );
    assert!(log.contains("Swapped component `parent`"), "{log}");
    assert_eq!(greeting(&app, "di"), "hello, di");

    // Nothing changed since: a reload swaps nothing.
    let before = app.stderr().len();
    app.signal_reload();
    let log = integration_tests::eventually(
        std::time::Duration::from_secs(120),
        "the SIGHUP reload",
        || {
            let log = app.stderr()[before..].to_owned();
            if log.contains("Reloaded in ") {
                Ok(log)
            } else {
                Err(log)
            }
        },
    );
    assert!(log.contains("0 component(s) swapped"), "{log}");
}

/// The composed components in a compile cache dir.
fn composed_files(cache: &std::path::Path) -> Vec<(String, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(cache)
        .map(|entries| entries.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.file_name().to_string_lossy().starts_with("composed-"))
        .map(|e| {
            let modified = e.metadata().and_then(|m| m.modified()).expect("mtime");
            (e.file_name().to_string_lossy().into_owned(), modified)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_composition_is_cached_by_its_inputs() {
    if is_real_spin() {
        eprintln!("skipped: the compile cache is our host's own");
        return;
    }
    let cache = tempfile::tempdir().expect("cache dir");
    let cache_arg = cache.path().to_str().expect("utf-8").to_owned();
    let manifest = parent_manifest(r#""test:deps/greeter" = { path = "{library}" }"#);
    let (dir, mut spec) = manifest_in_temp_dir(&manifest);
    spec.extra_args = vec!["--cache-dir".into(), cache_arg.clone()];
    let mut app = TestApp::start(spec);
    assert_eq!(greeting(&app, "fay"), "hello, fay");
    let first = composed_files(cache.path());
    assert_eq!(first.len(), 1, "{first:?}");

    // The same inputs: the cached composition is used, not written again.
    app.restart();
    assert_eq!(greeting(&app, "fay"), "hello, fay");
    assert_eq!(composed_files(cache.path()), first);

    // Another input (here the export): another composition.
    write_file(
        &dir.path().join("spin.toml"),
        &parent_manifest(
            r#""test:deps/greeter" = { path = "{library}", export = "test:deps/loud-greeter" }"#,
        ),
    );
    app.restart();
    assert_eq!(greeting(&app, "fay"), "HELLO, FAY!");
    assert_eq!(composed_files(cache.path()).len(), 2);
}
