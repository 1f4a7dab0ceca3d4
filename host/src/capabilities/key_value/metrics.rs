//! The key-value capability's metrics handles, created once per component
//! and label at startup so the hot path never builds a label set.

use crate::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;

/// Operation counters of one key-value store as one component uses it.
pub struct KeyValueOps {
    pub open: Counter,
    pub get: Counter,
    pub set: Counter,
    pub delete: Counter,
    pub exists: Counter,
    pub get_keys: Counter,
}

impl KeyValueOps {
    pub fn new(metrics: &Metrics, component: &str, label: &str) -> KeyValueOps {
        let op = |operation| metrics.store_operations(component, "key_value", label, operation);
        KeyValueOps {
            open: op("open"),
            get: op("get"),
            set: op("set"),
            delete: op("delete"),
            exists: op("exists"),
            get_keys: op("get_keys"),
        }
    }
}
