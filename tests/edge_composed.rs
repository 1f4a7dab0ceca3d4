//! The composed topology (spin.composed.toml): a service's public route served by the edge
//! middleware (components/edge) with the service plugged into it, one component. The edge's
//! rules are the gateway's (components/edge-rules), so these are the gateway tests' assertions
//! made against the composition.
//!
//! The compositions are made here, as `cargo xtask compose` makes them (the `plug` crate), and
//! run as plain `source`s of a manifest derived from spin.composed.toml (the same components,
//! stores and variables; its `dependencies` form composes at load time instead). Needs every
//! component and the edge built (`cargo xtask build`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use integration_tests::{
    assert_error, eventually, main_app_runtime_config, read_to_string_lossy, repo_root, AppSpec,
    Credentials, TestApp, TestResponse, JSON, TEST_ADMIN_TOKEN,
};
use serde_json::{json, Value};
use toml::Value as Toml;

/// The services the tests reach through their edge; the other edges are left out of the
/// derived manifest (fewer compilations at startup).
const COMPOSED: [&str; 3] = ["visits", "support", "insights"];

const NO_KEY: &str = "Bearer realm=\"gateway\"";
const BAD_KEY: &str = "Bearer realm=\"gateway\", error=\"invalid_token\"";

fn release_wasm(name: &str) -> PathBuf {
    let path = repo_root().join(format!("target/wasm32-wasip2/release/{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: build the components with `cargo xtask build`",
        path.display()
    );
    path
}

/// The edge with `service` plugged in, written to `dir`.
fn compose(service: &str, dir: &Path) -> PathBuf {
    let edge = std::fs::read(release_wasm("edge")).unwrap();
    let inner = std::fs::read(release_wasm(service)).unwrap();
    let composed = plug::plug(
        plug::Component {
            name: "edge",
            bytes: &edge,
        },
        plug::Component {
            name: service,
            bytes: &inner,
        },
    )
    .unwrap_or_else(|err| panic!("composing {service}: {err:#}"));
    let path = dir.join(format!("{service}.wasm"));
    std::fs::write(&path, composed).unwrap();
    path
}

/// spin.composed.toml with each kept edge's `source` its composition and its dependency form
/// dropped (what a host without dependency support runs), every path absolute.
fn derived_manifest(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("spin.composed.toml")).unwrap();
    let mut manifest: Toml = toml::from_str(&text).unwrap();
    let kept_edges: Vec<String> = COMPOSED.iter().map(|s| format!("{s}-edge")).collect();
    let is_dropped_edge = |id: &str| id.ends_with("-edge") && !kept_edges.iter().any(|k| k == id);
    let triggers = manifest["trigger"]["http"].as_array_mut().unwrap();
    triggers.retain(|trigger| !is_dropped_edge(trigger["component"].as_str().unwrap()));
    let components = manifest["component"].as_table_mut().unwrap();
    components.retain(|id, _| !is_dropped_edge(id));
    for (id, component) in components.iter_mut() {
        let component = component.as_table_mut().unwrap();
        let source = match id.strip_suffix("-edge") {
            Some(service) => {
                let dependency = component.remove("dependencies").expect("a dependency");
                assert_eq!(
                    dependency[plug::HTTP_HANDLER]["component"].as_str(),
                    Some(service),
                    "{id} composes its own service"
                );
                component.remove("dependencies_inherit_configuration");
                compose(service, dir)
            }
            None => repo_root().join(component["source"].as_str().unwrap()),
        };
        component.insert("source".into(), Toml::String(source.display().to_string()));
        component.remove("build");
    }
    let path = dir.join("spin.toml");
    std::fs::write(&path, toml::to_string(&manifest).unwrap()).unwrap();
    path
}

/// The composed app with its stores in the temp dir and `extra_args` (e.g. `--variable`).
fn start_composed(dir: &Path, extra_args: &[&str]) -> TestApp {
    TestApp::start(AppSpec {
        manifest: derived_manifest(dir),
        runtime_config: main_app_runtime_config(),
        extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        admin_token: Some(TEST_ADMIN_TOKEN.to_owned()),
        ..AppSpec::default()
    })
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("edge-composed-")
        .tempdir()
        .unwrap()
}

fn put_customer(app: &TestApp, credentials: Credentials<'_>, id: &str) -> TestResponse {
    let body = json!({ "name": "Ada Lovelace", "email": "ada@example.com", "tier": "pro" });
    app.request_as(
        credentials,
        "PUT",
        &format!("/support/customers/{id}"),
        &[("content-type", JSON)],
        body.to_string(),
    )
}

#[test]
fn the_composition_serves_http_and_imports_no_handler() {
    let dir = scratch();
    let composed = std::fs::read(compose("visits", dir.path())).unwrap();
    let (imports, exports) = plug::interface_names("visits composed", &composed).unwrap();
    assert!(
        exports.iter().any(|name| name == plug::HTTP_HANDLER),
        "{exports:?}"
    );
    assert!(
        !imports.iter().any(|name| name == plug::HTTP_HANDLER),
        "the service satisfies the edge's import: {imports:?}"
    );
    let edge_size = std::fs::metadata(release_wasm("edge")).unwrap().len();
    assert!(edge_size < 500 * 1024, "edge.wasm is {edge_size} bytes");
}

#[test]
fn a_component_that_serves_nothing_cannot_be_plugged() {
    let edge = std::fs::read(release_wasm("edge")).unwrap();
    let err = plug::plug(
        plug::Component {
            name: "edge",
            bytes: &edge,
        },
        plug::Component {
            name: "not-wasm",
            bytes: b"not a component",
        },
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("not-wasm is not a WebAssembly component"),
        "{err:#}"
    );
}

#[test]
fn keys_and_scopes_are_checked_before_the_service_sees_a_request() {
    let dir = scratch();
    let app = start_composed(dir.path(), &[]);
    // Anonymous reads of a public_read service pass; its answer is the service's own.
    let read = app.get_as(Credentials::None, "/visits/324");
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json(), json!([]));
    // No key for a write: 401 with the gateway's challenge and a request id.
    let anonymous = put_customer(&app, Credentials::None, "c-1");
    assert_error(&anonymous, 401, &[]);
    assert_eq!(anonymous.header("www-authenticate"), Some(NO_KEY));
    assert!(anonymous.header("x-request-id").is_some());
    // An unknown key, even for a public read: 401 invalid_token.
    let unknown = app.get_as(Credentials::Key("k_nope.secret"), "/visits/324");
    assert_error(&unknown, 401, &[]);
    assert_eq!(unknown.header("www-authenticate"), Some(BAD_KEY));
    // A live key without the scope: 403 naming it; nothing written.
    let (_, reader) = app.create_key("reader", &["support:read"], 100);
    assert_error(
        &put_customer(&app, Credentials::Key(&reader), "c-1"),
        403,
        &["support:write"],
    );
    let missing = app.get_as(Credentials::Key(&reader), "/support/customers/c-1");
    assert_eq!(missing.status, 404, "{}", missing.text());
    // The all-scopes key writes, and the service's answer reaches the client unchanged.
    let written = put_customer(&app, Credentials::Default, "c-1");
    assert!(matches!(written.status, 200 | 201), "{}", written.text());
    let stored = app.get_as(Credentials::Key(&reader), "/support/customers/c-1");
    assert_eq!(stored.status, 200, "{}", stored.text());
    assert_eq!(stored.json()["name"], "Ada Lovelace");
    // The gateway still serves discovery and sees the services behind chaining.
    let services = app.get_as(Credentials::None, "/services");
    assert_eq!(services.status, 200, "{}", services.text());
}

#[test]
fn a_composed_service_still_publishes_through_the_private_event_log() {
    let dir = scratch();
    let app = start_composed(dir.path(), &[]);
    let written = put_customer(&app, Credentials::Default, "c-7");
    assert!(matches!(written.status, 200 | 201), "{}", written.text());
    // support-edge's support forwards to events.spin.internal, which pushes to insights'
    // private route; the view is read through insights-edge.
    let view = eventually(Duration::from_secs(10), "insights view of c-7", || {
        let read = app.get_as(Credentials::Default, "/insights/support/customers/c-7");
        match read.status {
            200 => Ok(read.json()),
            status => Err(format!("{status}: {}", read.text())),
        }
    });
    assert_eq!(view["name"], "Ada Lovelace", "{view}");
}

/// spin.composed.toml keeps spin.toml's components as they are and adds, per service of the
/// registry, an edge on its public route composing exactly that service, declaring the
/// service's stores and variables besides the gateway's stores.
#[test]
fn the_composed_manifest_is_the_chained_one_plus_an_edge_per_service() {
    let read = |name: &str| -> Toml {
        toml::from_str(&std::fs::read_to_string(repo_root().join(name)).unwrap()).unwrap()
    };
    let (chained, composed) = (read("spin.toml"), read("spin.composed.toml"));
    assert_eq!(chained["variables"], composed["variables"]);
    let composed_components = composed["component"].as_table().unwrap();
    for (id, component) in chained["component"].as_table().unwrap() {
        assert_eq!(
            Some(component),
            composed_components.get(id),
            "component {id}"
        );
    }
    let services = chained["variables"]["services"]["default"]
        .as_str()
        .unwrap();
    for service in services.split(',') {
        let id = format!("{service}-edge");
        let edge = &composed_components[&id];
        let inner = &chained["component"][service];
        assert_eq!(
            edge["dependencies"][plug::HTTP_HANDLER]["component"].as_str(),
            Some(service)
        );
        assert_eq!(
            edge["dependencies_inherit_configuration"].as_bool(),
            Some(true)
        );
        assert_eq!(edge["variables"]["edge_service"].as_str(), Some(service));
        for stores in ["sqlite_databases", "key_value_stores"] {
            let declared = edge[stores].as_array().unwrap();
            assert!(
                declared.contains(&Toml::String("gateway".into())),
                "{id} {stores}"
            );
            for label in inner
                .get(stores)
                .and_then(Toml::as_array)
                .into_iter()
                .flatten()
            {
                assert!(declared.contains(label), "{id} lacks {stores} {label}");
            }
        }
        assert_eq!(
            edge.get("allowed_outbound_hosts"),
            inner.get("allowed_outbound_hosts"),
            "{id}"
        );
        for (name, value) in inner
            .get("variables")
            .and_then(Toml::as_table)
            .into_iter()
            .flatten()
        {
            assert_eq!(
                edge["variables"].get(name),
                Some(value),
                "{id} variable {name}"
            );
        }
        let routed = composed["trigger"]["http"]
            .as_array()
            .unwrap()
            .iter()
            .any(|trigger| {
                trigger["component"].as_str() == Some(&id)
                    && trigger["route"].as_str() == Some(&format!("/{service}/..."))
            });
        assert!(routed, "{id} serves /{service}/...");
    }
}

#[test]
fn headers_only_the_gateway_sets_are_refused() {
    let dir = scratch();
    let app = start_composed(dir.path(), &[]);
    let posing = app.request_as(
        Credentials::Default,
        "GET",
        "/support/customers/c-1",
        &[("x-gateway-key-id", "k_admin")],
        Vec::new(),
    );
    assert_error(&posing, 400, &["x-gateway-key-id"]);
}

/// Waits, if needed, until the wall clock is not within two seconds of an hour's end, so that
/// the requests of a test of an hour-long rate window fall in one window.
fn away_from_an_hour_boundary() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into_hour = now.as_secs() % 3600;
    if into_hour >= 3598 {
        std::thread::sleep(Duration::from_secs(3600 - into_hour + 1));
    }
}

#[test]
fn a_key_over_its_rate_gets_429_and_the_service_is_not_called() {
    let dir = scratch();
    let app = start_composed(
        dir.path(),
        &["--variable", "rate_limit_window_seconds=3600"],
    );
    let (_, key) = app.create_key("limited", &["support:read", "support:write"], 1);
    away_from_an_hour_boundary();
    let first = app.get_as(Credentials::Key(&key), "/support/customers/c-9");
    assert_eq!(first.status, 404, "the service answered: {}", first.text());
    let refused = put_customer(&app, Credentials::Key(&key), "c-9");
    assert_error(&refused, 429, &[]);
    assert!(
        refused.header("retry-after").is_some(),
        "{:?}",
        refused.headers
    );
    assert_eq!(refused.header("ratelimit-limit"), Some("1"));
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
    let unchanged = app.get_as(Credentials::Default, "/support/customers/c-9");
    assert_eq!(
        unchanged.status, 404,
        "the refused write reached the service"
    );
}

#[test]
fn preflights_and_refusals_carry_cors_and_large_bodies_get_413() {
    let dir = scratch();
    let app = start_composed(
        dir.path(),
        &[
            "--variable",
            "cors_origins=https://app.example",
            "--variable",
            "max_body_bytes=1024",
        ],
    );
    let preflight = app.request_as(
        Credentials::None,
        "OPTIONS",
        "/support/customers/c-1",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "PUT"),
        ],
        Vec::new(),
    );
    assert_eq!(preflight.status, 204, "{}", preflight.text());
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let foreign = app.request_as(
        Credentials::None,
        "OPTIONS",
        "/support/customers/c-1",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "PUT"),
        ],
        Vec::new(),
    );
    assert_error(&foreign, 403, &["origin"]);
    let refused = app.request_as(
        Credentials::None,
        "PUT",
        "/support/customers/c-1",
        &[("origin", "https://app.example"), ("content-type", JSON)],
        "{}",
    );
    assert_error(&refused, 401, &[]);
    assert_eq!(
        refused.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let body = json!({ "name": "A".repeat(2000), "email": "ada@example.com", "tier": "pro" });
    let large = app.request_as(
        Credentials::Default,
        "PUT",
        "/support/customers/c-1",
        &[("content-type", JSON)],
        body.to_string(),
    );
    assert_error(&large, 413, &[]);
}

/// The edge's access-log lines so far (the stdout of `<service>-edge`).
fn access_log(app: &TestApp, component: &str) -> Vec<Value> {
    let path = app.state_dir().join(format!("logs/{component}_stdout.txt"));
    read_to_string_lossy(&path)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["request_id"].is_string())
        .collect()
}

fn logged(app: &TestApp, component: &str, request_id: &str) -> Value {
    eventually(
        Duration::from_secs(5),
        &format!("access log line {request_id}"),
        || {
            let entries = access_log(app, component);
            match entries.iter().find(|e| e["request_id"] == request_id) {
                Some(entry) => Ok(entry.clone()),
                None => Err(format!("not in {entries:?}")),
            }
        },
    )
}

#[test]
fn each_request_is_logged_with_its_key_and_the_service_it_reached() {
    let dir = scratch();
    let app = start_composed(dir.path(), &[]);
    let (key_id, _) = app.default_key().unwrap();
    let key_id = key_id.to_owned();
    let passed = app.request_as(
        Credentials::Default,
        "GET",
        "/support/customers/c-1",
        &[("x-request-id", "edge-log-1")],
        Vec::new(),
    );
    assert_eq!(passed.status, 404, "{}", passed.text());
    let entry = logged(&app, "support-edge", "edge-log-1");
    assert_eq!(entry["key_id"], key_id.as_str());
    assert_eq!(entry["upstream"], "support");
    assert_eq!(entry["path"], "/support/customers/c-1");
    assert!(entry["upstream_ms"].is_number(), "{entry}");
    // The service answered the client itself: the edge does not see the status.
    assert_eq!(entry["status"], Value::Null, "{entry}");
    let refused = app.request_as(
        Credentials::None,
        "PUT",
        "/support/customers/c-1",
        &[("x-request-id", "edge-log-2"), ("content-type", JSON)],
        "{}",
    );
    assert_eq!(refused.header("x-request-id"), Some("edge-log-2"));
    let entry = logged(&app, "support-edge", "edge-log-2");
    assert_eq!(entry["status"], 401);
    assert_eq!(entry["upstream"], Value::Null);
}
