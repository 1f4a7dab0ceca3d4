//! Prometheus metrics (`prometheus-client`): per component, invocations,
//! responses by status class, traps, time to the response head and
//! instantiation time; per component and store label, operations; reloads
//! by outcome and component swaps.
//!
//! Everything is always counted (a few atomic adds per request); the figures
//! are only served when `spin-host up --metrics-listen ADDR` is given.
//!
//! The hot path never builds a label set: each component's counters and
//! histograms, and each declared store's operation counters, are created once
//! at startup and handed out as handles (`ComponentMetrics` here, each
//! capability's operation counters there), which share their values with
//! the registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// The `content-type` of `GET /metrics`: the OpenMetrics text format, which
/// `prometheus-client` writes (it ends with `# EOF`) and Prometheus scrapes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    component: String,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    component: String,
    store: &'static str,
    label: String,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type HistogramFamily = Family<ComponentLabels, Histogram, fn() -> Histogram>;

/// Time to the response head: 100 µs doubling to about 52 s (then `+Inf`).
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 20))
}

/// Instantiation: 10 µs doubling to about 0.33 s (then `+Inf`).
fn instantiation_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 2.0, 16))
}

/// The status class label of a response status.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// The registry and the metric families; one per application.
pub struct Metrics {
    registry: Registry,
    invocations: Family<ComponentLabels, Counter>,
    responses: Family<ResponseLabels, Counter>,
    traps: Family<ComponentLabels, Counter>,
    duration: HistogramFamily,
    instantiation: HistogramFamily,
    store_operations: Family<StoreLabels, Counter>,
    reloads: Family<OutcomeLabels, Counter>,
    component_swaps: Family<ComponentLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let invocations = Family::<ComponentLabels, Counter>::default();
        let responses = Family::<ResponseLabels, Counter>::default();
        let traps = Family::<ComponentLabels, Counter>::default();
        let duration = HistogramFamily::new_with_constructor(duration_histogram as fn() -> _);
        let instantiation =
            HistogramFamily::new_with_constructor(instantiation_histogram as fn() -> _);
        let store_operations = Family::<StoreLabels, Counter>::default();
        let reloads = Family::<OutcomeLabels, Counter>::default();
        let component_swaps = Family::<ComponentLabels, Counter>::default();
        // Both outcomes appear at zero, so a scrape can tell "none" from "unknown".
        for outcome in ["ok", "failed"] {
            let _ = reloads.get_or_create(&OutcomeLabels { outcome });
        }
        // Counters get their `_total` suffix and units their `_seconds` one
        // from the encoder.
        registry.register(
            "spin_component_invocations",
            "Requests handed to a component, inbound and chained",
            invocations.clone(),
        );
        registry.register(
            "spin_component_responses",
            "Responses of a component by status class, including the 500 sent for a failed invocation",
            responses.clone(),
        );
        registry.register(
            "spin_component_traps",
            "Invocations that ended abnormally: a trap (before or after the response head), the request deadline, or no response set",
            traps.clone(),
        );
        registry.register_with_unit(
            "spin_component_duration",
            "Time from receiving a request to the response head",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register_with_unit(
            "spin_component_instantiation",
            "Time to instantiate a component for one request",
            Unit::Seconds,
            instantiation.clone(),
        );
        registry.register(
            "spin_store_operations",
            "Key-value and SQLite operations by component, store kind, label and operation",
            store_operations.clone(),
        );
        registry.register(
            "spin_host_reloads",
            "Reloads of the application (SIGHUP or --watch) by outcome; a failed one changed nothing",
            reloads.clone(),
        );
        registry.register(
            "spin_host_component_swaps",
            "Components swapped in by a reload: added, or changed wasm, settings or triggers",
            component_swaps.clone(),
        );
        Metrics {
            registry,
            invocations,
            responses,
            traps,
            duration,
            instantiation,
            store_operations,
            reloads,
            component_swaps,
        }
    }

    /// Counts a reload that swapped in a new version (`ok`) or changed nothing
    /// because it failed.
    pub fn count_reload(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.reloads.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one component swapped in by a reload.
    pub fn count_swap(&self, component: &str) {
        self.component_swaps
            .get_or_create(&ComponentLabels {
                component: component.to_owned(),
            })
            .inc();
    }

    /// The handles for one component (its series appear at zero from now on).
    pub fn component(&self, id: &str) -> ComponentMetrics {
        let labels = ComponentLabels {
            component: id.to_owned(),
        };
        let response = |class| {
            self.responses.get_or_create_owned(&ResponseLabels {
                component: id.to_owned(),
                class,
            })
        };
        ComponentMetrics {
            invocations: self.invocations.get_or_create_owned(&labels),
            responses: [
                response("2xx"),
                response("3xx"),
                response("4xx"),
                response("5xx"),
            ],
            traps: self.traps.get_or_create_owned(&labels),
            duration: self.duration.get_or_create_owned(&labels),
            instantiation: self.instantiation.get_or_create_owned(&labels),
            all_responses: self.responses.clone(),
            id: id.to_owned(),
        }
    }

    /// The counter of one store operation; capabilities build their
    /// operation handles from it.
    pub fn store_operations(
        &self,
        component: &str,
        store: &'static str,
        label: &str,
        operation: &'static str,
    ) -> Counter {
        self.store_operations.get_or_create_owned(&StoreLabels {
            component: component.to_owned(),
            store,
            label: label.to_owned(),
            operation,
        })
    }

    /// Everything, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// One component's metrics, shared by all its requests.
pub struct ComponentMetrics {
    pub invocations: Counter,
    /// 2xx, 3xx, 4xx, 5xx.
    responses: [Counter; 4],
    pub traps: Counter,
    pub duration: Histogram,
    pub instantiation: Histogram,
    /// For the statuses outside 200..=599 (a guest may set any status).
    all_responses: Family<ResponseLabels, Counter>,
    id: String,
}

impl ComponentMetrics {
    /// Counts a response head sent after `elapsed`.
    pub fn record_response(&self, status: u16, elapsed: Duration) {
        match status {
            200..=599 => self.responses[usize::from(status / 100 - 2)].inc(),
            _ => self
                .all_responses
                .get_or_create(&ResponseLabels {
                    component: self.id.clone(),
                    class: status_class(status),
                })
                .inc(),
        };
        self.duration.observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(301), "3xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(500), "5xx");
        assert_eq!(status_class(599), "5xx");
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(600), "other");
        assert_eq!(status_class(0), "other");
    }

    #[test]
    fn responses_count_by_class() {
        let metrics = Metrics::new();
        let component = metrics.component("svc");
        for status in [200, 201, 302, 404, 500, 503, 700] {
            component.record_response(status, Duration::from_millis(1));
        }
        let text = metrics.encode();
        for (class, count) in [("2xx", 2), ("3xx", 1), ("4xx", 1), ("5xx", 2), ("other", 1)] {
            let line = format!(
                "spin_component_responses_total{{component=\"svc\",class=\"{class}\"}} {count}\n"
            );
            assert!(text.contains(&line), "missing {line:?} in:\n{text}");
        }
        assert!(text.contains("spin_component_duration_seconds_count{component=\"svc\"} 7\n"));
    }

    #[test]
    fn encodes_every_family_in_openmetrics_text() {
        let metrics = Metrics::new();
        let component = metrics.component("svc");
        component.invocations.inc();
        component.traps.inc();
        component.instantiation.observe(0.000_05);
        component.record_response(200, Duration::from_micros(150));
        let kv = |operation| metrics.store_operations("svc", "key_value", "default", operation);
        kv("open").inc();
        kv("get_keys").inc();
        kv("set");
        metrics
            .store_operations("svc", "sqlite", "db", "execute")
            .inc();
        let text = metrics.encode();
        for expected in [
            "# TYPE spin_component_invocations counter\n",
            "spin_component_invocations_total{component=\"svc\"} 1\n",
            "spin_component_traps_total{component=\"svc\"} 1\n",
            "spin_component_responses_total{component=\"svc\",class=\"4xx\"} 0\n",
            "# TYPE spin_component_duration_seconds histogram\n",
            "# UNIT spin_component_duration_seconds seconds\n",
            "spin_component_duration_seconds_bucket{le=\"0.0001\",component=\"svc\"} 0\n",
            "spin_component_duration_seconds_bucket{le=\"0.0002\",component=\"svc\"} 1\n",
            "spin_component_duration_seconds_bucket{le=\"+Inf\",component=\"svc\"} 1\n",
            "spin_component_instantiation_seconds_count{component=\"svc\"} 1\n",
            "spin_store_operations_total{component=\"svc\",store=\"key_value\",label=\"default\",operation=\"open\"} 1\n",
            "spin_store_operations_total{component=\"svc\",store=\"key_value\",label=\"default\",operation=\"get_keys\"} 1\n",
            "spin_store_operations_total{component=\"svc\",store=\"key_value\",label=\"default\",operation=\"set\"} 0\n",
            "spin_store_operations_total{component=\"svc\",store=\"sqlite\",label=\"db\",operation=\"execute\"} 1\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn reloads_count_by_outcome_and_swaps_by_component() {
        let metrics = Metrics::new();
        metrics.count_reload(true);
        metrics.count_reload(true);
        metrics.count_swap("chat");
        let text = metrics.encode();
        for expected in [
            "spin_host_reloads_total{outcome=\"ok\"} 2\n",
            "spin_host_reloads_total{outcome=\"failed\"} 0\n",
            "spin_host_component_swaps_total{component=\"chat\"} 1\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn handles_share_values_with_the_registry() {
        let metrics = Metrics::new();
        metrics.component("svc").invocations.inc();
        // A second set of handles for the same component adds to the same series.
        metrics.component("svc").invocations.inc();
        assert!(metrics
            .encode()
            .contains("spin_component_invocations_total{component=\"svc\"} 2\n"));
    }
}
