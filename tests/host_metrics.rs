//! Host conformance: Metrics (host-only: `--metrics-listen`): the Prometheus listener's counters and its
//! absence by default.
//!
//! Part of the host conformance suite, split by capability like the host: the behaviours of Spin
//! that our components rely on (see /work/shared/spin-compat.md), checked against a running
//! server with the probe component (tests/components/probe; helpers in the harness's `probe` and
//! `probe_app`). Runs unchanged against the real Spin (`SPIN_BIN=...`) or our host (default);
//! tests of host-only behaviour skip themselves on the real Spin, saying why.
//!
//! Needs the probe built: `cargo build --target wasm32-wasip2 --release -p probe`.

use integration_tests::{
    echo, fetch, is_real_spin, kv_get, kv_set, sql_ok, start_conformance_app,
    start_conformance_app_with,
};
use serde_json::json;

// ---------------------------------------------------------------------------
// Metrics (host-only: `--metrics-listen`)

/// A sample line of `/metrics`: (name, labels, value).
type Sample = (String, Vec<(String, String)>, f64);

/// One scrape of `/metrics`: its sample lines.
struct Scrape(Vec<Sample>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("sample has a value");
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, labels.trim_end_matches('}')),
                    None => (series, ""),
                };
                let labels = labels
                    .split(',')
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').expect("label is k=\"v\"");
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                let value = value
                    .parse()
                    .unwrap_or_else(|_| panic!("value in {line:?}"));
                (name.to_owned(), labels, value)
            })
            .collect();
        Scrape(samples)
    }

    /// The value of the one sample `name` whose labels are exactly `labels`
    /// (any order); 0 if there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<f64> = self
            .0
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && l.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, value)| *value)
            .collect();
        assert!(matching.len() <= 1, "{name} {labels:?} is ambiguous");
        matching.first().copied().unwrap_or(0.0)
    }
}

/// `GET url` of a metrics listener: an OpenMetrics text, parsed.
fn scrape(url: &str) -> Scrape {
    let response = integration_tests::http_get(url);
    assert_eq!(response.status, 200, "{}", response.text());
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "content-type {content_type:?}"
    );
    let text = response.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(&text)
}

#[test]
fn metrics_listener_counts_invocations_responses_traps_and_store_operations() {
    if is_real_spin() {
        eprintln!("skipped: --metrics-listen is a flag of our host only");
        return;
    }
    let metrics_port = integration_tests::free_port();
    let app = start_conformance_app_with(|spec| {
        spec.extra_args.extend([
            "--metrics-listen".into(),
            format!("127.0.0.1:{metrics_port}"),
        ])
    });
    let base = format!("http://127.0.0.1:{metrics_port}");
    assert!(
        app.stderr()
            .contains(&format!("Serving metrics on {base}/metrics")),
        "{}",
        app.stderr()
    );
    let url = format!("{base}/metrics");
    let before = scrape(&url);

    // probe: a 200 (echo), a trap (500), a chained call to echo, one KV
    // set and get, one SQLite statement: 6 invocations, 5 of them 2xx.
    assert_eq!(echo(&app, "/probe/metrics").component(), "probe");
    assert_eq!(app.get("/probe/trap").status, 500);
    let chained = fetch(&app, "http://echo.spin.internal/chained", "GET", &[], "");
    assert_eq!(chained["status"], 200, "{chained}");
    assert_eq!(
        kv_set(&app, "default", "metrics-key", "v"),
        json!({ "ok": null })
    );
    assert_eq!(kv_get(&app, "default", "metrics-key"), json!({ "ok": "v" }));
    sql_ok(&app, "probe_db", "SELECT 1", json!([]));
    // Not a component invocation: the router's own 404.
    assert_eq!(app.get("/nowhere").status, 404);

    let after = scrape(&url);
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    // Per component: (component, `spin_component_<metric>`, response class, change).
    for (component, metric, class, want) in [
        ("probe", "invocations_total", None, 6.0),
        ("probe", "responses_total", Some("2xx"), 5.0),
        ("probe", "responses_total", Some("5xx"), 1.0),
        ("probe", "responses_total", Some("4xx"), 0.0),
        ("probe", "traps_total", None, 1.0),
        ("probe", "duration_seconds_count", None, 6.0),
        ("probe", "instantiation_seconds_count", None, 6.0),
        ("echo", "invocations_total", None, 1.0),
        ("echo", "responses_total", Some("2xx"), 1.0),
        ("echo", "traps_total", None, 0.0),
    ] {
        let mut labels = vec![("component", component)];
        labels.extend(class.map(|class| ("class", class)));
        let name = format!("spin_component_{metric}");
        assert_eq!(delta(&name, &labels), want, "{name} {labels:?}");
    }
    // The probe's store operations: (store kind, label, operation, change).
    for (kind, label, operation, want) in [
        ("key_value", "default", "open", 2.0),
        ("key_value", "default", "set", 1.0),
        ("key_value", "default", "get", 1.0),
        ("key_value", "default", "delete", 0.0),
        ("sqlite", "probe_db", "open", 1.0),
        ("sqlite", "probe_db", "execute", 1.0),
    ] {
        let labels = [
            ("component", "probe"),
            ("store", kind),
            ("label", label),
            ("operation", operation),
        ];
        let got = delta("spin_store_operations_total", &labels);
        assert_eq!(got, want, "{kind} {label} {operation}");
    }
    let duration_sum = delta(
        "spin_component_duration_seconds_sum",
        &[("component", "probe")],
    );
    assert!(duration_sum > 0.0, "duration sum moved");
    // Series of declared but unused stores exist from the start.
    assert!(after
        .0
        .iter()
        .any(|(n, l, _)| n == "spin_store_operations_total"
            && l.iter().any(|(k, v)| k == "label" && v == "other")));

    let other = integration_tests::http_get(&format!("{base}/other"));
    assert_eq!(other.status, 404);
}

#[test]
fn metrics_listener_is_off_by_default() {
    if is_real_spin() {
        eprintln!("skipped: --metrics-listen is a flag of our host only");
        return;
    }
    let app = start_conformance_app();
    assert!(
        !app.stderr().contains("Serving metrics"),
        "{}",
        app.stderr()
    );
    let help = std::process::Command::new(integration_tests::server_binary())
        .args(["up", "--help"])
        .output()
        .expect("spin-host up --help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--metrics-listen"), "{help}");
}
