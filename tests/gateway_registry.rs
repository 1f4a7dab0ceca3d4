//! End-to-end tests of what the API gateway (components/gateway) tells anonymous callers about
//! the app: the service registry with each service's contract, and the aggregated health of every
//! service. Each test starts its own app.
//!
//! Needs every component built (`cargo xtask build`).

use integration_tests::{
    assert_error, free_port, main_app_spec, AppSpec, Credentials, SilentServer, TestApp, Topology,
    JSON, SERVICES,
};
use serde_json::{json, Value};

/// The registry's entries, by name (asserting a JSON 200).
fn registry(app: &TestApp) -> Vec<Value> {
    let response = app.get_as(Credentials::None, "/services");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    response.json()["services"]
        .as_array()
        .unwrap_or_else(|| panic!("no services array: {}", response.text()))
        .clone()
}

#[test]
fn the_registry_lists_every_service_with_its_own_info_and_urls() {
    let app = TestApp::start_main_app();
    let entries = registry(&app);
    let mut names: Vec<&str> = entries.iter().filter_map(|e| e["name"].as_str()).collect();
    names.sort_unstable();
    let mut expected = SERVICES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "{entries:?}");
    for entry in &entries {
        let name = entry["name"].as_str().unwrap();
        // Version and description are the service's own, from its OpenAPI `info`.
        let own = app.get_json(&format!("/{name}/openapi.json"));
        assert_eq!(
            entry,
            &json!({
                "name": name,
                "version": own["info"]["version"],
                "description": own["info"]["description"],
                "base_path": format!("/{name}"),
                "contract_url": format!("/services/{name}/openapi.json"),
                "health_url": format!("/{name}/health"),
            })
        );
        assert!(
            entry["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{entry}"
        );
        // Each URL it gives answers (the health URL with a key, like the service's other routes).
        let health = app.get(entry["health_url"].as_str().unwrap());
        assert_eq!(health.status, 200, "{name}: {}", health.text());
        let contract = app.get_as(Credentials::None, entry["contract_url"].as_str().unwrap());
        assert_eq!(contract.status, 200, "{name}: {}", contract.text());
    }
}

#[test]
fn one_service_is_listed_by_name_and_an_unknown_one_is_404() {
    let app = TestApp::start_main_app();
    let support = registry(&app)
        .into_iter()
        .find(|e| e["name"] == "support")
        .expect("support is registered");
    let one = app.get_as(Credentials::None, "/services/support");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json(), support);
    for path in ["/services/billing", "/services/billing/openapi.json"] {
        assert_error(&app.get_as(Credentials::None, path), 404, &[]);
    }
}

#[test]
fn a_services_contract_is_its_openapi_3_1_document() {
    let app = TestApp::start_main_app();
    for name in SERVICES {
        let response = app.get_as(Credentials::None, &format!("/services/{name}/openapi.json"));
        assert_eq!(response.status, 200, "{name}: {}", response.text());
        assert_eq!(response.header("content-type"), Some(JSON), "{name}");
        let doc = response.json();
        let version = doc["openapi"].as_str().unwrap_or_default();
        assert!(version.starts_with("3.1"), "{name}: openapi {version:?}");
        assert_eq!(doc["info"]["title"], name);
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
        // The very document the service serves.
        assert_eq!(
            doc,
            app.get_json(&format!("/{name}/openapi.json")),
            "{name}"
        );
    }
}

#[test]
fn aggregated_health_is_200_with_every_services_own_report() {
    let app = TestApp::start_main_app();
    let response = app.get_as(Credentials::None, "/health");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(JSON));
    let report = response.json();
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["failing"], json!([]), "{report}");
    let services = report["services"].as_object().expect("services object");
    assert_eq!(services.len(), SERVICES.len(), "{report}");
    for name in SERVICES {
        assert_eq!(
            services[name],
            app.get_json(&format!("/{name}/health")),
            "{name}"
        );
        assert_eq!(services[name]["status"], "ok", "{name}");
    }
}

/// The main app with telemetry's key-value store on a Redis at `port`.
fn telemetry_kv_on_redis_at(port: u16, extra_args: &[&str]) -> AppSpec {
    let mut spec = main_app_spec(extra_args);
    let local = "[key_value_store.telemetry]\ntype = \"spin\"\npath = \"{tmp}/telemetry_kv.db\"\n";
    let redis = format!(
        "[key_value_store.telemetry]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{port}\"\n"
    );
    assert!(spec.runtime_config.contains(local));
    spec.runtime_config = spec.runtime_config.replace(local, &redis);
    spec
}

#[test]
fn aggregated_health_is_503_naming_the_failing_service() {
    // Telemetry's key-value store on a Redis that is not there: its own health check fails (or,
    // where connecting takes long, misses the gateway's deadline), every other service is fine.
    let app = TestApp::start(telemetry_kv_on_redis_at(free_port(), &[]));

    let response = app.get_as(Credentials::None, "/health");
    assert_eq!(response.status, 503, "{}", response.text());
    let report = response.json();
    assert_eq!(report["status"], "failing", "{report}");
    assert_eq!(report["failing"], json!(["telemetry"]), "{report}");
    assert_eq!(
        report["services"]["telemetry"]["status"], "failing",
        "{report}"
    );
    for name in SERVICES.iter().filter(|name| **name != "telemetry") {
        assert_eq!(report["services"][name]["status"], "ok", "{name}: {report}");
    }
    // The service's own verdict, or the gateway's deadline where the store takes that long.
    let own = app.get("/telemetry/health");
    assert!([503, 504].contains(&own.status), "{}", own.text());
}

#[test]
fn a_service_that_hangs_misses_the_gateways_deadlines() {
    // Telemetry's key-value store on a Redis that accepts connections and never answers: its
    // health check and every call that touches the store outlast the deadlines set here.
    let silent = SilentServer::start();
    let app = TestApp::start(telemetry_kv_on_redis_at(
        silent.port,
        &[
            "--variable",
            "health_timeout_ms=600",
            "--variable",
            "upstream_timeout_ms=600",
        ],
    ));

    let response = app.get_as(Credentials::None, "/health");
    assert_eq!(response.status, 503, "{}", response.text());
    let report = response.json();
    assert_eq!(report["failing"], json!(["telemetry"]), "{report}");
    let telemetry = &report["services"]["telemetry"];
    assert_eq!(telemetry["status"], "failing", "{report}");
    let error = telemetry["error"].as_str().unwrap_or_default();
    assert!(error.contains("timed out after 600 ms"), "{report}");

    // A request passed on to it (its own health check reads the store): 504 with a JSON
    // message naming the service and the deadline. Composed, the service runs in its edge's
    // own instance, with no hop for the gateway to bound.
    if Topology::current().proxies_with_deadlines() {
        let passed_on = app.get("/telemetry/health");
        assert_error(&passed_on, 504, &["telemetry", "600 ms"]);
        assert!(passed_on.header("x-request-id").is_some());
    }
    // The gateway itself goes on serving the other services.
    assert_eq!(app.get("/visits/health").status, 200);
}
