//! The deployment files under `deploy/`: the Redis runtime config serves the real app on our
//! host against a real `redis-server` (needs it installed), and the SpinKube resources are
//! well formed, configure every store label and variable the manifests need, and pass the
//! Kubernetes schemas (with `kubernetes-validate`, when installed; `cargo xtask test`
//! installs it along with schemathesis).
//!
//! What no test here can check (no cluster, no Spin CLI): see "What was checked and how" in
//! deploy/README.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::{main_app_spec, repo_root, Credentials, RedisServer, TestApp, JSON};
use serde::Deserialize;
use serde_json::{json, Value};

/// The local Redis the repository's Redis runtime config names; tests swap in their own.
const LOCAL_REDIS: &str = "redis://127.0.0.1:6379";

/// The SpinApp spec fields of SpinKube's CRD (`spinapps.core.spinkube.dev`, v1alpha1).
const SPINAPP_SPEC_FIELDS: &[&str] = &[
    "checks",
    "components",
    "deploymentAnnotations",
    "enableAutoscaling",
    "executor",
    "image",
    "imagePullSecrets",
    "podAnnotations",
    "podLabels",
    "replicas",
    "resources",
    "runtimeConfig",
    "serviceAnnotations",
    "variables",
    "volumeMounts",
    "volumes",
];

// ---------------------------------------------------------------------------------------------
// What the manifests need

/// The store labels and required variables of the app's manifests (chained and composed).
#[derive(Default)]
struct Needs {
    key_value: BTreeSet<String>,
    sqlite: BTreeSet<String>,
    required_variables: BTreeSet<String>,
    variables: BTreeSet<String>,
}

fn manifest_needs() -> Needs {
    let mut needs = Needs::default();
    for manifest in ["spin.toml", "spin.composed.toml"] {
        let path = repo_root().join(manifest);
        if !path.exists() {
            continue;
        }
        let manifest = read_toml(&path);
        let components = manifest["component"].as_table().expect("[component.*]");
        for component in components.values() {
            for (key, labels) in [
                ("key_value_stores", &mut needs.key_value),
                ("sqlite_databases", &mut needs.sqlite),
            ] {
                for label in component
                    .get(key)
                    .and_then(|l| l.as_array())
                    .into_iter()
                    .flatten()
                {
                    labels.insert(label.as_str().expect("label").to_owned());
                }
            }
        }
        let variables = manifest.get("variables").and_then(|v| v.as_table());
        for (name, spec) in variables.into_iter().flatten() {
            needs.variables.insert(name.clone());
            if spec.get("required").and_then(|r| r.as_bool()) == Some(true) {
                needs.required_variables.insert(name.clone());
            }
        }
    }
    assert!(
        !needs.key_value.is_empty() && !needs.sqlite.is_empty(),
        "the manifests declare no stores?"
    );
    needs
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `[<kind>.<label>]` tables of a runtime config, by label.
fn stores<'a>(config: &'a toml::Table, kind: &str) -> BTreeMap<&'a str, &'a toml::Table> {
    config
        .get(kind)
        .and_then(|t| t.as_table())
        .into_iter()
        .flatten()
        .map(|(label, store)| (label.as_str(), store.as_table().expect("store table")))
        .collect()
}

fn field<'a>(store: &'a toml::Table, name: &str) -> &'a str {
    store
        .get(name)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no string `{name}` in {store:?}"))
}

/// Every key-value label of `config` is a Redis store with a URL starting `url_prefix` and its
/// own database number (labels sharing one would list each other's keys); returns the numbers.
fn assert_redis_labels(config: &toml::Table, needs: &Needs, url_prefix: &str) -> Vec<String> {
    let key_value = stores(config, "key_value_store");
    let labels: BTreeSet<String> = key_value.keys().map(|l| l.to_string()).collect();
    assert_eq!(
        labels, needs.key_value,
        "key-value labels configured vs used"
    );
    let mut databases = Vec::new();
    for (label, store) in key_value {
        assert_eq!(field(store, "type"), "redis", "[key_value_store.{label}]");
        let url = field(store, "url");
        let database = url
            .strip_prefix(url_prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or_else(|| panic!("{label}: {url} is not {url_prefix}/<database>"));
        assert!(
            database.parse::<u8>().is_ok(),
            "{label}: database {database:?}"
        );
        assert!(
            !databases.contains(&database.to_owned()),
            "{label} shares database {database}"
        );
        databases.push(database.to_owned());
    }
    databases
}

fn assert_sqlite_labels(config: &toml::Table, needs: &Needs) -> BTreeMap<String, toml::Table> {
    let sqlite = stores(config, "sqlite_database");
    let labels: BTreeSet<String> = sqlite.keys().map(|l| l.to_string()).collect();
    assert_eq!(labels, needs.sqlite, "SQLite labels configured vs used");
    sqlite
        .into_iter()
        .map(|(label, store)| (label.to_owned(), store.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// deploy/runtime-config.redis.toml

fn redis_runtime_config_path() -> PathBuf {
    repo_root().join("deploy/runtime-config.redis.toml")
}

#[test]
fn redis_runtime_config_puts_every_kv_label_in_one_redis_and_sqlite_in_local_files() {
    let needs = manifest_needs();
    let config = read_toml(&redis_runtime_config_path());
    assert_redis_labels(&config, &needs, LOCAL_REDIS);
    for (label, store) in assert_sqlite_labels(&config, &needs) {
        assert_eq!(field(&store, "type"), "spin", "[sqlite_database.{label}]");
        // Relative to the working directory: every process run from the repository root shares
        // the file, the same one runtime-config.toml names.
        assert_eq!(field(&store, "path"), format!(".spin/{label}.db"));
    }
}

/// The repository's Redis runtime config for a test: its Redis at `redis`, its SQLite files in
/// the test's temp dir (`{tmp}`); everything else as written.
fn redis_runtime_config_for(redis: &RedisServer) -> String {
    let text = std::fs::read_to_string(redis_runtime_config_path()).expect("read config");
    let needs = manifest_needs();
    assert_eq!(
        text.matches(&format!("url = \"{LOCAL_REDIS}/")).count(),
        needs.key_value.len()
    );
    assert_eq!(text.matches("path = \".spin/").count(), needs.sqlite.len());
    text.replace(
        &format!("url = \"{LOCAL_REDIS}/"),
        &format!("url = \"{}/", redis.url()),
    )
    .replace("path = \".spin/", "path = \"{tmp}/")
}

/// The keys of one Redis database.
fn redis_keys(redis: &RedisServer, database: u8) -> String {
    redis.command(&format!("SELECT {database}\r\nKEYS *"))
}

#[test]
fn the_app_serves_with_its_key_value_in_redis() {
    let redis = RedisServer::start();
    let mut spec = main_app_spec(&[]);
    spec.runtime_config = redis_runtime_config_for(&redis);
    let app = TestApp::start(spec);

    // The gateway's keys live in Redis database 0 (label `gateway`).
    let (key_id, key) = app.create_key("deploy", &["telemetry:read", "telemetry:write"], 600);
    let gateway_keys = redis_keys(&redis, 0);
    assert!(
        gateway_keys.contains(&format!("key/{key_id}")),
        "{gateway_keys}"
    );
    assert!(gateway_keys.contains("hash/"), "{gateway_keys}");

    // A hot reading opens an alert, which telemetry caches in database 1 (label `telemetry`).
    let reading = json!({"sensor_id": "deploy-freezer", "celsius": 50.0}).to_string();
    let answer = app.request_as(
        Credentials::Key(&key),
        "POST",
        "/telemetry/readings",
        &[("content-type", JSON)],
        reading,
    );
    assert_eq!(answer.status, 202, "{}", answer.text());
    let sensor = app.get_as(Credentials::Key(&key), "/telemetry/sensors/deploy-freezer");
    assert_eq!(sensor.status, 200, "{}", sensor.text());
    assert_eq!(sensor.json()["state"], "warning");
    let telemetry_keys = redis_keys(&redis, 1);
    assert!(
        telemetry_keys.contains("sensor:deploy-freezer"),
        "{telemetry_keys}"
    );
    assert!(
        !telemetry_keys.contains("key/"),
        "labels must not share: {telemetry_keys}"
    );

    // The gateway authenticates from Redis, not from a copy of its own: emptied there, the key
    // is gone.
    assert_eq!(redis.command("SELECT 0\r\nFLUSHDB"), "+OK\r\n+OK\r\n");
    let refused = app.get_as(Credentials::Key(&key), "/telemetry/sensors/deploy-freezer");
    assert_eq!(refused.status, 401, "{}", refused.text());
}

// ---------------------------------------------------------------------------------------------
// deploy/spinkube/

/// One Kubernetes resource and the file it came from.
struct Resource {
    file: PathBuf,
    value: Value,
}

impl Resource {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Every document of every YAML file under deploy/spinkube (dev/ included).
fn spinkube_resources() -> Vec<Resource> {
    let mut resources = Vec::new();
    for file in yaml_files(&repo_root().join("deploy/spinkube")) {
        let text = std::fs::read_to_string(&file).expect("read yaml");
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{}: not valid YAML: {e}", file.display()));
            if !value.is_null() {
                resources.push(Resource {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    assert!(!resources.is_empty(), "no resources under deploy/spinkube");
    resources
}

fn the_one<'a>(resources: &'a [Resource], kind: &str) -> &'a Resource {
    let found: Vec<&Resource> = resources.iter().filter(|r| r.kind() == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found[0]
}

fn secret<'a>(resources: &'a [Resource], name: &str) -> &'a Value {
    let found = resources
        .iter()
        .find(|r| r.kind() == "Secret" && r.name() == name)
        .unwrap_or_else(|| panic!("no Secret {name:?} in deploy/spinkube"));
    &found.value["stringData"]
}

#[test]
fn every_spinkube_resource_has_a_known_kind_and_a_name() {
    let known = [
        ("core.spinkube.dev/v1alpha1", "SpinApp"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
    ];
    for resource in spinkube_resources() {
        let api_version = resource.value["apiVersion"].as_str().unwrap_or_default();
        assert!(
            known.contains(&(api_version, resource.kind())),
            "{}: unexpected {api_version} {}",
            resource.file.display(),
            resource.kind()
        );
        assert!(
            !resource.name().is_empty(),
            "{}: no name",
            resource.file.display()
        );
        if resource.kind() == "Secret" {
            assert!(
                resource.value["stringData"].is_object(),
                "{}",
                resource.name()
            );
        }
    }
}

#[test]
fn the_spinapp_autoscales_through_an_hpa_on_its_deployment() {
    let resources = spinkube_resources();
    let app = the_one(&resources, "SpinApp");
    let spec = &app.value["spec"];
    for (name, _) in spec.as_object().expect("spec") {
        assert!(
            SPINAPP_SPEC_FIELDS.contains(&name.as_str()),
            "SpinApp spec.{name} is not in the CRD"
        );
    }
    assert!(
        spec["image"].as_str().is_some_and(|i| !i.is_empty()),
        "spec.image"
    );
    assert_eq!(spec["executor"], "containerd-shim-spin");
    // SpinKube: with enableAutoscaling the replica count belongs to the autoscaler, and
    // `replicas` may not be set; the HPA's CPU target is relative to the pods' requests.
    assert_eq!(spec["enableAutoscaling"], true);
    assert!(
        spec.get("replicas").is_none(),
        "replicas with enableAutoscaling"
    );
    assert!(
        spec["resources"]["requests"]["cpu"].is_string(),
        "resources.requests.cpu"
    );

    let hpa = &the_one(&resources, "HorizontalPodAutoscaler").value["spec"];
    assert_eq!(
        hpa["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": app.name()}),
        "the operator's Deployment is named like the SpinApp"
    );
    let min = hpa["minReplicas"].as_u64().expect("minReplicas");
    assert!(
        min >= 2,
        "at least two replicas, so that one lost pod is no outage"
    );
    assert!(hpa["maxReplicas"].as_u64().expect("maxReplicas") > min);
}

#[test]
fn the_spinkube_runtime_config_secret_configures_every_label() {
    let resources = spinkube_resources();
    let needs = manifest_needs();
    let app = the_one(&resources, "SpinApp");
    let secret_name = app.value["spec"]["runtimeConfig"]["loadFromSecret"]
        .as_str()
        .expect("spec.runtimeConfig.loadFromSecret");
    // The operator reads the key `runtime-config.toml`.
    let text = secret(&resources, secret_name)["runtime-config.toml"]
        .as_str()
        .expect("the Secret's runtime-config.toml");
    let config: toml::Table = toml::from_str(text).expect("runtime-config.toml is TOML");
    for key in config.keys() {
        assert!(
            ["key_value_store", "sqlite_database"].contains(&key.as_str()),
            "{key}"
        );
    }
    assert_redis_labels(&config, &needs, "redis://redis:6379");
    for (label, store) in assert_sqlite_labels(&config, &needs) {
        assert_eq!(field(&store, "type"), "libsql", "[sqlite_database.{label}]");
        assert!(field(&store, "url").starts_with("https://"), "{label}: url");
        assert!(!field(&store, "token").is_empty(), "{label}: token");
        let keys: BTreeSet<&str> = store.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["type", "url", "token"]), "{label}");
    }
}

#[test]
fn the_spinapp_provides_every_required_variable_from_a_secret() {
    let resources = spinkube_resources();
    let needs = manifest_needs();
    let app = the_one(&resources, "SpinApp");
    let variables = app.value["spec"]["variables"]
        .as_array()
        .expect("spec.variables");
    let mut provided = BTreeSet::new();
    for variable in variables {
        let name = variable["name"].as_str().expect("variable name");
        assert!(
            needs.variables.contains(name),
            "{name} is not a variable of spin.toml"
        );
        provided.insert(name.to_owned());
        if let Some(reference) = variable["valueFrom"].get("secretKeyRef") {
            let secret_name = reference["name"].as_str().expect("secretKeyRef.name");
            let key = reference["key"].as_str().expect("secretKeyRef.key");
            assert!(
                secret(&resources, secret_name)[key].is_string(),
                "Secret {secret_name} has no {key}"
            );
        }
    }
    for required in &needs.required_variables {
        let variable = variables.iter().find(|v| v["name"] == required.as_str());
        assert!(
            variable.is_some(),
            "required variable {required} not provided"
        );
        assert!(
            variable.unwrap()["valueFrom"]["secretKeyRef"].is_object(),
            "{required} is a secret: bind it from a Secret, not a literal"
        );
    }
}

/// `python3 -m kubernetes_validate` when installed.
fn kubernetes_validate() -> Option<Command> {
    let mut probe = Command::new("python3");
    probe.args(["-m", "kubernetes_validate", "--version"]);
    let installed = probe.output().is_ok_and(|out| out.status.success());
    installed.then(|| {
        let mut command = Command::new("python3");
        command.args(["-m", "kubernetes_validate"]);
        command
    })
}

#[test]
fn kubernetes_resources_pass_the_kubernetes_schemas() {
    let Some(mut validate) = kubernetes_validate() else {
        println!(
            "skipped: kubernetes-validate is not installed \
             (`python3 -m pip install kubernetes-validate==1.37.0`; `cargo xtask test` installs it)"
        );
        return;
    };
    let resources = spinkube_resources();
    let files = yaml_files(&repo_root().join("deploy/spinkube"));
    let output = validate
        .arg("--strict")
        .args(&files)
        .output()
        .expect("run kubernetes-validate");
    let report = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    for resource in &resources {
        let line = format!("{}/{}", resource.kind().to_lowercase(), resource.name());
        if resource.kind() == "SpinApp" {
            // A custom resource: the tool has no schema for it (checked above instead).
            assert!(
                report.contains("Couldn't find schema for kind SpinApp"),
                "{report}"
            );
        } else {
            assert!(
                report.contains(&format!("passed for resource {line}")),
                "{line}: {report}"
            );
        }
    }
}

#[test]
fn kubernetes_validate_rejects_a_misspelt_field() {
    let Some(mut validate) = kubernetes_validate() else {
        println!("skipped: kubernetes-validate is not installed (see the test above)");
        return;
    };
    // The validator must be able to fail: the HPA with one field misspelt.
    let hpa = std::fs::read_to_string(repo_root().join("deploy/spinkube/hpa.yaml")).unwrap();
    let broken = hpa.replace("minReplicas:", "minReplica:");
    assert_ne!(broken, hpa);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hpa.yaml");
    std::fs::write(&file, broken).expect("write");
    let output = validate.arg("--strict").arg(&file).output().expect("run");
    assert!(!output.status.success(), "a misspelt field passed");
}
