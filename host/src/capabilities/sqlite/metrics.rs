//! The SQLite capability's metrics handles, created once per component and
//! label at startup so the hot path never builds a label set.

use crate::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;

/// Operation counters of one SQLite database as one component uses it.
pub struct SqliteOps {
    pub open: Counter,
    pub execute: Counter,
}

impl SqliteOps {
    pub fn new(metrics: &Metrics, component: &str, label: &str) -> SqliteOps {
        let op = |operation| metrics.store_operations(component, "sqlite", label, operation);
        SqliteOps {
            open: op("open"),
            execute: op("execute"),
        }
    }
}
