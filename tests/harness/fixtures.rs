//! The main app (`spin.toml` at the repo root) as the tests start it: its stores in the temp
//! dir, the gateway's admin token, and the all-scopes key the convenience methods send.

use crate::app::{AppSpec, TestApp};
use crate::files::{repo_root, require_file};
use crate::http::JSON;
use crate::requests::Credentials;
use crate::topology::Topology;

/// The services behind the gateway (its default `services` registry), in registry order.
pub const SERVICES: [&str; 7] = [
    "visits",
    "events",
    "support",
    "telemetry",
    "insights",
    "chat",
    "feed",
];

/// The gateway's admin token the main app is started with (`SPIN_VARIABLE_ADMIN_TOKEN`).
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-3f9c2a71";

/// Rate of the key the harness makes for the convenience methods: the gateway's maximum, so no
/// test that is not about rate limits meets one.
pub(crate) const DEFAULT_KEY_RATE: u32 = 1_000_000;

/// Every scope a key can hold: `<service>:read` and `<service>:write` of each service.
pub fn all_scopes() -> Vec<String> {
    SERVICES
        .iter()
        .flat_map(|service| [format!("{service}:read"), format!("{service}:write")])
        .collect()
}

/// The spec of the repository's own app (`spin.toml` at the repo root, or the manifest of the
/// run's [`Topology`]): every store in the temp
/// dir, the test admin token, and `extra_args` after `up`'s. Tests that need another runtime
/// config change the spec, then [`TestApp::start`] it.
pub fn main_app_spec(extra_args: &[&str]) -> AppSpec {
    let topology = Topology::current();
    for component in SERVICES.iter().chain(topology.front_components()) {
        require_file(
            &repo_root().join(format!("target/wasm32-wasip2/release/{component}.wasm")),
            "build the components with `cargo xtask build`",
        );
    }
    AppSpec {
        manifest: topology.manifest(),
        runtime_config: main_app_runtime_config(),
        extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        admin_token: Some(TEST_ADMIN_TOKEN.to_owned()),
        ..AppSpec::default()
    }
}

/// The main app's runtime config with every service's store (and the gateway's) in the test's
/// temp dir.
pub fn main_app_runtime_config() -> String {
    let mut config = String::new();
    for label in SERVICES.iter().chain(&["gateway"]) {
        config.push_str(&format!(
            "[sqlite_database.{label}]\ntype = \"spin\"\npath = \"{{tmp}}/{label}.db\"\n\n"
        ));
    }
    for label in ["telemetry", "gateway"] {
        config.push_str(&format!(
            "[key_value_store.{label}]\ntype = \"spin\"\npath = \"{{tmp}}/{label}_kv.db\"\n\n"
        ));
    }
    config
}

impl TestApp {
    /// Starts the repository's own app (`spin.toml` at the repo root) with a
    /// fresh state dir and every service's stores in the temp dir.
    pub fn start_main_app() -> TestApp {
        TestApp::start_main_app_with(&[])
    }

    /// Starts the repository's own app with extra `up` arguments (e.g. `--variable`).
    pub fn start_main_app_with(extra_args: &[&str]) -> TestApp {
        TestApp::start(main_app_spec(extra_args))
    }

    /// Starts the repository's own app with loopback push subscribers allowed
    /// (`subscriber_hosts`) and fast retries: for tests of the events service's
    /// deliveries to an [`UpstreamServer`].
    pub fn start_main_app_for_delivery() -> TestApp {
        TestApp::start_main_app_with(&[
            "--variable",
            "subscriber_hosts=http://127.0.0.1:*",
            "--variable",
            "retry_base_ms=20",
        ])
    }

    /// The admin token the app was started with; panics for an app without the gateway.
    pub fn admin_token(&self) -> &str {
        self.spec
            .admin_token
            .as_deref()
            .expect("an app started with an admin token (the main app)")
    }

    /// `(id, key)` of the all-scopes key the convenience methods send, if the app has one.
    pub fn default_key(&self) -> Option<(&str, &str)> {
        self.default_key
            .as_ref()
            .map(|(id, key)| (id.as_str(), key.as_str()))
    }

    /// Creates an API key through `POST /admin/keys` (asserting `201`); returns `(id, key)`.
    pub fn create_key(
        &self,
        name: &str,
        scopes: &[&str],
        rate_per_minute: u32,
    ) -> (String, String) {
        let body = serde_json::json!({
            "name": name, "scopes": scopes, "rate_per_minute": rate_per_minute,
        });
        let response = self.request_as(
            Credentials::Admin,
            "POST",
            "/admin/keys",
            &[("content-type", JSON)],
            body.to_string(),
        );
        assert_eq!(
            response.status,
            201,
            "POST /admin/keys: {}",
            response.text()
        );
        let created = response.json();
        let field = |name: &str| {
            created[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {created}"))
                .to_owned()
        };
        (field("id"), field("key"))
    }
}
