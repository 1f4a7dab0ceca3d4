//! Label resolution: which backend serves each store label a component
//! declares (runtime config, else the default store), opened once at startup
//! and shared by every component declaring the label.

use super::backend::KeyValueBackend;
use super::config::KeyValueConfig;
use super::metrics::KeyValueOps;
use super::redis_backend::RedisBackend;
use super::sqlite_backend::SqliteFileBackend;
use super::store::{DeclaredStore, KeyValueComponent};
use crate::capabilities::by_label::ByLabel;
use crate::metrics::Metrics;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The capability's app-level state: every declared label's backend.
pub struct KeyValueApp {
    backends: ByLabel<dyn KeyValueBackend, KeyValueConfig>,
}

impl KeyValueApp {
    /// Opens a backend for every label any component declares, as
    /// `(component, label)`, failing like Spin for labels that are not defined.
    pub fn open(
        previous: Option<&KeyValueApp>,
        declared: impl IntoIterator<Item = (String, String)>,
        configured: &BTreeMap<String, KeyValueConfig>,
        state_dir: Option<&Path>,
    ) -> Result<KeyValueApp> {
        let backends = ByLabel::open(
            previous.map(|previous| &previous.backends),
            declared,
            configured,
            KeyValueConfig::default_store(state_dir),
            |component, label| {
                anyhow::bail!(
                    "unknown key_value_stores label {label:?} for component {component:?}: define it in the runtime config as [key_value_store.{label}]"
                )
            },
            open_backend,
        )?;
        Ok(KeyValueApp { backends })
    }

    /// The configuration a declared label resolved to (for change detection).
    pub fn config(&self, label: &str) -> Option<&KeyValueConfig> {
        self.backends.config(label)
    }

    /// The stores one component declares, with its operation counters.
    pub fn for_component(
        &self,
        component: &str,
        labels: &[String],
        metrics: &Metrics,
    ) -> KeyValueComponent {
        let stores = self
            .backends
            .for_component(labels, |label, backend| DeclaredStore {
                backend,
                ops: Arc::new(KeyValueOps::new(metrics, component, label)),
            });
        KeyValueComponent { stores }
    }
}

/// Opens the backend a label is configured with.
fn open_backend(label: &str, config: &KeyValueConfig) -> Result<Arc<dyn KeyValueBackend>> {
    Ok(match config {
        KeyValueConfig::Spin { path } => Arc::new(SqliteFileBackend::open(label, path.as_deref())?),
        KeyValueConfig::Redis { url } => Arc::new(RedisBackend::new(url)?),
    })
}
