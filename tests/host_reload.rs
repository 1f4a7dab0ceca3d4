//! Host-only: reloading the application while it serves (`SIGHUP`, `up --watch`). A reload
//! swaps in only the components whose wasm or settings changed, loses no request, lets a
//! request that started on the old version finish on it, and changes nothing when it fails.
//!
//! The app: the probe under two components, `alpha` (route `/...`, its own copy of the wasm in
//! the app's dir, so a test can "rebuild" it) and `beta` (route `/beta/...`); the echo's
//! `component` is each one's `PROBE_COMPONENT`, which tells the versions apart. Every test skips
//! itself on the real Spin: reload is our host's own feature. Needs the probe built:
//! `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{
    eventually, fetch, http_get, is_real_spin, kv_set, manifest_in_temp_dir, probe_wasm, sql_ok,
    write_file, TestApp,
};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a reload may take: a changed component is compiled (by a debug host) first.
const RELOAD_LIMIT: Duration = Duration::from_secs(120);

fn skipped() -> bool {
    if is_real_spin() {
        eprintln!("skipped: reloading on SIGHUP or with --watch is our host's own feature");
    }
    is_real_spin()
}

/// The manifest with `alpha`'s `PROBE_COMPONENT` and extra lines for its component table.
fn manifest(alpha: &str, alpha_extra: &str) -> String {
    let probe = probe_wasm();
    format!(
        r#"spin_manifest_version = 2
[application]
name = "reload"

[[trigger.http]]
route = "/..."
component = "alpha"

[[trigger.http]]
route = "/beta/..."
component = "beta"

[component.alpha]
source = "alpha.wasm"
environment = {{ PROBE_COMPONENT = "{alpha}" }}
key_value_stores = ["default"]
{alpha_extra}

[component.beta]
source = "{probe}"
environment = {{ PROBE_COMPONENT = "beta" }}
key_value_stores = ["default"]
"#,
        probe = probe.display()
    )
}

/// The probe's wasm with a custom section appended: the same behaviour, another digest (what a
/// rebuild with other debug info gives).
fn rebuilt_probe(tag: &str) -> Vec<u8> {
    let mut wasm = std::fs::read(probe_wasm()).expect("read probe");
    let name = b"reload-test";
    let payload = tag.as_bytes();
    let content_len = 1 + name.len() + payload.len();
    assert!(
        content_len < 128 && name.len() < 128,
        "one-byte LEB128 sizes"
    );
    wasm.push(0); // custom section id
    wasm.push(content_len as u8);
    wasm.push(name.len() as u8);
    wasm.extend_from_slice(name);
    wasm.extend_from_slice(payload);
    wasm
}

/// The app under test, with its metrics listener.
struct ReloadApp {
    dir: tempfile::TempDir,
    app: TestApp,
    metrics_url: String,
}

impl ReloadApp {
    fn start(extra_args: &[&str]) -> ReloadApp {
        ReloadApp::start_with("", "", extra_args)
    }

    /// With extra lines for alpha's table and a runtime config (`{tmp}`: the app's temp dir).
    fn start_with(alpha_extra: &str, runtime_config: &str, extra_args: &[&str]) -> ReloadApp {
        let (dir, mut spec) = manifest_in_temp_dir(&manifest("alpha-v1", alpha_extra));
        std::fs::copy(probe_wasm(), dir.path().join("alpha.wasm")).expect("copy probe");
        spec.runtime_config = runtime_config.to_owned();
        let metrics_port = integration_tests::free_port();
        spec.extra_args = vec![
            "--metrics-listen".into(),
            format!("127.0.0.1:{metrics_port}"),
        ];
        spec.extra_args
            .extend(extra_args.iter().map(|a| a.to_string()));
        let app = TestApp::start(spec);
        ReloadApp {
            dir,
            app,
            metrics_url: format!("http://127.0.0.1:{metrics_port}/metrics"),
        }
    }

    fn write_manifest(&self, alpha: &str, alpha_extra: &str) {
        write_file(
            &self.dir.path().join("spin.toml"),
            &manifest(alpha, alpha_extra),
        );
    }

    fn alpha_wasm(&self) -> PathBuf {
        self.dir.path().join("alpha.wasm")
    }

    /// Replaces alpha's wasm in one step (write aside, rename), as a build tool would.
    fn write_alpha_wasm(&self, bytes: &[u8]) {
        let aside = self.dir.path().join("alpha.wasm.new");
        std::fs::write(&aside, bytes).expect("write wasm");
        std::fs::rename(&aside, self.alpha_wasm()).expect("rename wasm");
    }

    /// Which component version answers `path` (the echo's `component`).
    fn answering(&self, path: &str) -> String {
        let response = self.app.get(path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        response.json()["component"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
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

    /// The value of one series of `/metrics` (e.g. `name{label="v"}`); 0 if absent.
    fn metric(&self, series: &str) -> f64 {
        let response = http_get(&self.metrics_url);
        assert_eq!(response.status, 200, "{}", response.text());
        let prefix = format!("{series} ");
        response
            .text()
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map_or(0.0, |value| value.parse().expect("a number"))
    }
}

fn swap_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.starts_with("Swapped component"))
        .collect()
}

#[test]
fn a_changed_component_is_swapped_and_the_others_are_kept() {
    if skipped() {
        return;
    }
    let app = ReloadApp::start(&[]);
    assert_eq!(app.answering("/x"), "alpha-v1");
    assert_eq!(app.answering("/beta/x"), "beta");
    assert_eq!(
        kv_set(&app.app, "default", "kept", "yes")["ok"],
        serde_json::Value::Null
    );

    // Its settings change: alpha is swapped, beta is not touched.
    app.write_manifest("alpha-v2", "");
    let log = app.reload();
    let swaps = swap_lines(&log);
    assert_eq!(swaps.len(), 1, "{log}");
    assert!(swaps[0].starts_with("Swapped component `alpha`: "), "{log}");
    assert!(log.contains("1 component(s) swapped"), "{log}");
    assert_eq!(app.answering("/x"), "alpha-v2");
    assert_eq!(app.answering("/beta/x"), "beta");
    // The store stayed open and holds what was written before.
    let kept = app.app.get("/probe/kv/default/get/kept").json();
    assert_eq!(kept["ok"], "yes", "{kept}");

    // A new build of alpha (another digest, same settings): swapped, the digests logged.
    let old_digest = swaps[0]
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(" -> ").next())
        .expect("old digest")
        .to_owned();
    app.write_alpha_wasm(&rebuilt_probe("build 2"));
    let log = app.reload();
    let swaps = swap_lines(&log);
    assert_eq!(swaps.len(), 1, "{log}");
    let line = swaps[0];
    assert!(
        line.starts_with(&format!("Swapped component `alpha`: {old_digest} -> ")),
        "{log}"
    );
    let new_digest = line.split(" -> ").nth(1).and_then(|r| r.split(' ').next());
    assert_ne!(new_digest, Some(old_digest.as_str()), "{line}");
    assert!(line.ends_with(" ms"), "{line}");
    assert_eq!(app.answering("/x"), "alpha-v2");

    assert_eq!(app.metric("spin_host_reloads_total{outcome=\"ok\"}"), 2.0);
    assert_eq!(
        app.metric("spin_host_reloads_total{outcome=\"failed\"}"),
        0.0
    );
    assert_eq!(
        app.metric("spin_host_component_swaps_total{component=\"alpha\"}"),
        2.0
    );
    assert_eq!(
        app.metric("spin_host_component_swaps_total{component=\"beta\"}"),
        0.0
    );
}

#[test]
fn added_and_removed_components_and_routes_change_in_one_swap() {
    if skipped() {
        return;
    }
    let app = ReloadApp::start(&[]);
    assert_eq!(app.answering("/beta/x"), "beta");
    // beta goes (its route falls to alpha's `/...`), gamma comes at `/gamma/...`, and alpha
    // may now chain to every component: its wildcard names the new set.
    let hosts = "allowed_outbound_hosts = [\"http://*.spin.internal\"]";
    let next = manifest("alpha-v1", hosts).replace("beta", "gamma");
    write_file(&app.dir.path().join("spin.toml"), &next);
    let log = app.reload();
    let swaps = swap_lines(&log);
    assert_eq!(swaps.len(), 3, "{log}");
    assert!(swaps[0].starts_with("Swapped component `alpha`: "), "{log}");
    assert!(swaps[1].starts_with("Swapped component `beta`: "), "{log}");
    assert!(swaps[1].contains(" -> none in "), "removed: {log}");
    assert!(
        swaps[2].starts_with("Swapped component `gamma`: none -> "),
        "{log}"
    );

    assert_eq!(app.answering("/gamma/x"), "gamma");
    assert_eq!(app.answering("/beta/x"), "alpha-v1");
    // Chaining resolves in the version serving when the call is made.
    let chained = fetch(
        &app.app,
        "http://gamma.spin.internal/chained",
        "GET",
        &[],
        "",
    );
    assert_eq!(chained["status"], 200, "{chained}");
    let echo: serde_json::Value =
        serde_json::from_str(chained["body"].as_str().unwrap_or_default()).expect("echo");
    assert_eq!(echo["component"], "gamma", "{chained}");
    let gone = fetch(
        &app.app,
        "http://beta.spin.internal/chained",
        "GET",
        &[],
        "",
    );
    assert_ne!(gone["status"], 200, "{gone}");
}

#[test]
fn a_changed_store_configuration_swaps_the_components_declaring_it() {
    if skipped() {
        return;
    }
    let config = |file: &str| {
        format!("[sqlite_database.extra]\ntype = \"spin\"\npath = \"{{tmp}}/{file}\"\n")
    };
    let app = ReloadApp::start_with("sqlite_databases = [\"extra\"]", &config("extra1.db"), &[]);
    let database_file = || {
        let rows = sql_ok(&app.app, "extra", "PRAGMA database_list", json!([]));
        rows[0][2].as_str().unwrap_or_default().to_owned()
    };
    assert!(
        database_file().ends_with("/extra1.db"),
        "{}",
        database_file()
    );

    // The runtime config is read again: only alpha declares the label, only alpha is swapped.
    let tmp = app.app.temp_dir().to_str().expect("utf-8 path").to_owned();
    write_file(
        &app.app.temp_dir().join("runtime-config.toml"),
        &config("extra2.db").replace("{tmp}", &tmp),
    );
    let log = app.reload();
    let swaps = swap_lines(&log);
    assert_eq!(swaps.len(), 1, "{log}");
    assert!(swaps[0].starts_with("Swapped component `alpha`: "), "{log}");
    assert!(
        database_file().ends_with("/extra2.db"),
        "{}",
        database_file()
    );
    assert_eq!(app.answering("/beta/x"), "beta");
}

#[test]
fn successive_reloads_under_load_lose_no_request() {
    if skipped() {
        return;
    }
    // Compiled anew on each swap (no cache), so requests keep coming while it compiles.
    let app = ReloadApp::start(&["--disable-cache"]);
    let versions = [
        ("alpha-v1", probe_wasm_bytes()),
        ("alpha-v2", rebuilt_probe("build 2")),
    ];
    let stop = AtomicBool::new(false);
    let failures = Mutex::new(Vec::<String>::new());
    let seen = Mutex::new(std::collections::BTreeSet::new());
    let answered = AtomicUsize::new(0);
    let mut served = 0;
    std::thread::scope(|scope| {
        let clients: Vec<_> = ["/load", "/beta/load", "/load", "/beta/load"]
            .into_iter()
            .map(|path| {
                let (app, stop, failures, seen, answered) =
                    (&app, &stop, &failures, &seen, &answered);
                scope.spawn(move || {
                    // Bounded even if the test fails before it says stop.
                    let deadline = Instant::now() + Duration::from_secs(600);
                    let mut count = 0;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        match app.app.try_request("GET", path, &[], Vec::new()) {
                            Ok(response) if response.status == 200 => {
                                let component = response.json()["component"].to_string();
                                seen.lock().unwrap().insert(component);
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(response) => failures
                                .lock()
                                .unwrap()
                                .push(format!("GET {path}: {}", response.status)),
                            Err(e) => failures.lock().unwrap().push(format!("GET {path}: {e}")),
                        }
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        for round in 1..=6 {
            // Load on every version: some requests answered since the last swap.
            let since = answered.load(Ordering::Relaxed);
            eventually(Duration::from_secs(30), "requests answered", || {
                let now = answered.load(Ordering::Relaxed);
                if now >= since + 20 {
                    Ok(())
                } else {
                    Err(format!("{} since the last swap", now - since))
                }
            });
            let (alpha, wasm) = &versions[round % 2];
            app.write_manifest(alpha, "");
            app.write_alpha_wasm(wasm);
            let log = app.reload();
            assert!(log.contains("Swapped component `alpha`"), "{log}");
            eventually(Duration::from_secs(10), "the new version serving", || {
                let now = app.answering("/x");
                if now == *alpha {
                    Ok(())
                } else {
                    Err(now)
                }
            });
        }
        stop.store(true, Ordering::Relaxed);
        served = clients
            .into_iter()
            .map(|c| c.join().unwrap())
            .sum::<usize>();
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(served > 0);
    let seen = seen.into_inner().unwrap();
    for version in ["\"alpha-v1\"", "\"alpha-v2\"", "\"beta\""] {
        assert!(seen.contains(version), "{version} never served: {seen:?}");
    }
    assert!(!app.app.stderr().contains("Swapped component `beta`"));
    assert_eq!(app.metric("spin_host_reloads_total{outcome=\"ok\"}"), 6.0);
}

fn probe_wasm_bytes() -> Vec<u8> {
    std::fs::read(probe_wasm()).expect("read probe")
}

#[test]
fn a_request_that_started_before_a_swap_finishes_on_the_old_version() {
    if skipped() {
        return;
    }
    let app = ReloadApp::start(&[]);
    let invocations = "spin_component_invocations_total{component=\"alpha\"}";
    let before = app.metric(invocations);
    std::thread::scope(|scope| {
        // Held open by the old alpha until the key exists.
        let slow = scope.spawn(|| app.app.get("/probe/wait/default/release"));
        eventually(Duration::from_secs(10), "the slow request to start", || {
            let now = app.metric(invocations);
            if now > before {
                Ok(())
            } else {
                Err(format!("{now} invocations"))
            }
        });
        app.write_manifest("alpha-v2", "");
        let log = app.reload();
        assert!(log.contains("Swapped component `alpha`"), "{log}");
        assert_eq!(app.answering("/x"), "alpha-v2");
        // The new version releases the old one's request, through the same store.
        kv_set(&app.app, "default", "release", "now");
        let slow = slow.join().unwrap();
        assert_eq!(slow.status, 200, "{}", slow.text());
        assert_eq!(slow.json()["component"], "alpha-v1");
    });
}

/// A way to break the app: (case, how, what the log says why).
type Breakage = (&'static str, fn(&ReloadApp), &'static str);

#[test]
fn a_failed_reload_changes_nothing() {
    if skipped() {
        return;
    }
    let app = ReloadApp::start(&[]);
    let broken: [Breakage; 4] = [
        (
            "a component that is not wasm",
            |app| app.write_alpha_wasm(b"not wasm at all"),
            "Failed to load component `alpha`",
        ),
        (
            "an undefined SQLite label",
            |app| app.write_manifest("alpha-v2", "sqlite_databases = [\"nowhere\"]"),
            "Component alpha uses database 'nowhere'",
        ),
        (
            "a manifest that does not parse",
            |app| {
                write_file(
                    &app.dir.path().join("spin.toml"),
                    "spin_manifest_version = [",
                )
            },
            "Reload failed",
        ),
        (
            "a missing source file",
            |app| std::fs::remove_file(app.alpha_wasm()).expect("remove wasm"),
            "does not exist",
        ),
    ];
    for (failed, (case, break_it, reason)) in broken.into_iter().enumerate() {
        break_it(&app);
        let log = app.reload();
        assert!(
            log.contains("Reload failed; still serving"),
            "{case}: {log}"
        );
        assert!(log.contains(reason), "{case}: expected {reason:?} in {log}");
        assert_eq!(app.answering("/x"), "alpha-v1", "{case}");
        assert_eq!(app.answering("/beta/x"), "beta", "{case}");
        assert_eq!(
            app.metric("spin_host_reloads_total{outcome=\"failed\"}"),
            (failed + 1) as f64,
            "{case}"
        );
        // Repaired for the next case.
        app.write_manifest("alpha-v1", "");
        app.write_alpha_wasm(&probe_wasm_bytes());
    }
    assert_eq!(app.metric("spin_host_reloads_total{outcome=\"ok\"}"), 0.0);
    assert!(swap_lines(&app.app.stderr()).is_empty());
}

#[test]
fn a_reload_that_changes_nothing_recompiles_nothing() {
    if skipped() {
        return;
    }
    let app = ReloadApp::start(&[]);
    // Rewritten, but the same: same wasm bytes, same declaration.
    app.write_manifest("alpha-v1", "");
    app.write_alpha_wasm(&probe_wasm_bytes());
    let log = app.reload();
    assert!(swap_lines(&log).is_empty(), "{log}");
    assert!(log.contains("0 component(s) swapped"), "{log}");
    assert_eq!(app.answering("/x"), "alpha-v1");
    assert_eq!(app.metric("spin_host_reloads_total{outcome=\"ok\"}"), 1.0);
    assert_eq!(
        app.metric("spin_host_component_swaps_total{component=\"alpha\"}"),
        0.0
    );
}

#[test]
fn watch_reloads_once_when_a_source_changes() {
    if skipped() {
        return;
    }
    let app = ReloadApp::start(&["--watch"]);
    app.write_alpha_wasm(&rebuilt_probe("watched build"));
    let log = eventually(RELOAD_LIMIT, "the watcher's reload", || {
        let log = app.app.stderr();
        if log.contains("Reloaded in ") {
            Ok(log)
        } else {
            Err(log)
        }
    });
    assert_eq!(log.matches("Reloading the application").count(), 1, "{log}");
    assert_eq!(swap_lines(&log).len(), 1, "{log}");
    assert!(log.contains("Swapped component `alpha`"), "{log}");

    // A manifest change is seen too.
    app.write_manifest("alpha-v2", "");
    eventually(RELOAD_LIMIT, "the manifest change served", || {
        let now = app.answering("/x");
        if now == "alpha-v2" {
            Ok(())
        } else {
            Err(now)
        }
    });
}
