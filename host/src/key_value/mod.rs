//! `fermyon:spin/key-value@2.0.0`: stores by label, each served by a backend
//! (a SQLite file as in Spin's default store, or Redis). Which labels a
//! component may open is decided here, once.

mod redis_store;
mod sqlite_store;

use crate::bindings::fermyon::spin::key_value::{self, Error as KvError};
use crate::instance::InstanceState;
use crate::metrics::KeyValueOps;
use crate::runtime_config::KeyValueConfig;
use anyhow::Result;
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::Resource;

/// Largest value (or key listing) a read returns, as in Spin.
pub const MAX_READ_BYTES: usize = 128 * 1024 * 1024;

/// One backend per store label. Errors are backend messages for `other(..)`.
#[async_trait::async_trait]
pub trait KeyValueBackend: Send + Sync {
    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, String>;
    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), String>;
    async fn delete(&self, key: String) -> Result<(), String>;
    async fn exists(&self, key: String) -> Result<bool, String>;
    async fn get_keys(&self) -> Result<Vec<String>, String>;
}

/// Opens the backend a label is configured with.
pub fn open_backend(label: &str, config: &KeyValueConfig) -> Result<Arc<dyn KeyValueBackend>> {
    Ok(match config {
        KeyValueConfig::Spin { path } => {
            Arc::new(sqlite_store::SqliteStore::open(label, path.as_deref())?)
        }
        KeyValueConfig::Redis { url } => Arc::new(redis_store::RedisStore::new(url)?),
    })
}

/// The `default` store when runtime config does not redefine it.
pub fn default_config(state_dir: Option<&Path>) -> KeyValueConfig {
    KeyValueConfig::Spin {
        path: state_dir.map(|d| d.join("sqlite_key_value.db")),
    }
}

fn too_large() -> KvError {
    KvError::Other(format!(
        "query result exceeds limit of {MAX_READ_BYTES} bytes"
    ))
}

/// A store as one component sees it: the backend (shared by every component
/// declaring the label) and this component's operation counters.
#[derive(Clone)]
pub struct KeyValueStore {
    pub backend: Arc<dyn KeyValueBackend>,
    pub ops: Arc<KeyValueOps>,
}

/// The guest's handle to an opened store.
pub struct KeyValueHandle {
    store: KeyValueStore,
}

impl InstanceState {
    /// The backend behind `handle`, counting the operation.
    fn kv_backend(
        &self,
        handle: &Resource<KeyValueHandle>,
        operation: fn(&KeyValueOps) -> &Counter,
    ) -> wasmtime::Result<Arc<dyn KeyValueBackend>> {
        // A dropped or forged handle traps, as in Spin.
        let store = &self.table.get(handle)?.store;
        operation(&store.ops).inc();
        Ok(store.backend.clone())
    }
}

impl key_value::Host for InstanceState {}

impl key_value::HostStore for InstanceState {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KeyValueHandle>, KvError>> {
        // Only labels the component declares are in its map: anything else is
        // `access-denied`, even when the store exists for another component.
        let Some(store) = self.component.key_value.get(&label) else {
            return Ok(Err(KvError::AccessDenied));
        };
        store.ops.open.inc();
        let handle = self.table.push(KeyValueHandle {
            store: store.clone(),
        })?;
        Ok(Ok(handle))
    }

    async fn get(
        &mut self,
        store: Resource<KeyValueHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, KvError>> {
        let backend = self.kv_backend(&store, |ops| &ops.get)?;
        Ok(match backend.get(key).await {
            Ok(Some(value)) if value.len() > MAX_READ_BYTES => Err(too_large()),
            Ok(value) => Ok(value),
            Err(e) => Err(KvError::Other(e)),
        })
    }

    async fn set(
        &mut self,
        store: Resource<KeyValueHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), KvError>> {
        let backend = self.kv_backend(&store, |ops| &ops.set)?;
        Ok(backend.set(key, value).await.map_err(KvError::Other))
    }

    async fn delete(
        &mut self,
        store: Resource<KeyValueHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), KvError>> {
        let backend = self.kv_backend(&store, |ops| &ops.delete)?;
        Ok(backend.delete(key).await.map_err(KvError::Other))
    }

    async fn exists(
        &mut self,
        store: Resource<KeyValueHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, KvError>> {
        let backend = self.kv_backend(&store, |ops| &ops.exists)?;
        Ok(backend.exists(key).await.map_err(KvError::Other))
    }

    async fn get_keys(
        &mut self,
        store: Resource<KeyValueHandle>,
    ) -> wasmtime::Result<Result<Vec<String>, KvError>> {
        let backend = self.kv_backend(&store, |ops| &ops.get_keys)?;
        Ok(match backend.get_keys().await {
            Ok(keys) if keys.iter().map(|k| k.len() + 8).sum::<usize>() > MAX_READ_BYTES => {
                Err(too_large())
            }
            Ok(keys) => Ok(keys),
            Err(e) => Err(KvError::Other(e)),
        })
    }

    async fn drop(&mut self, store: Resource<KeyValueHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

/// Builds the label -> backend map for every label any component declares,
/// failing like Spin for labels that are not defined.
pub fn open_stores(
    declared: impl IntoIterator<Item = (String, String)>,
    configured: &std::collections::BTreeMap<String, KeyValueConfig>,
    state_dir: Option<&Path>,
) -> Result<HashMap<String, Arc<dyn KeyValueBackend>>> {
    let mut stores: HashMap<String, Arc<dyn KeyValueBackend>> = HashMap::new();
    for (component, label) in declared {
        if stores.contains_key(&label) {
            continue;
        }
        let config = match configured.get(&label) {
            Some(config) => config.clone(),
            None if label == "default" => default_config(state_dir),
            None => anyhow::bail!(
                "unknown key_value_stores label {label:?} for component {component:?}: define it in the runtime config as [key_value_store.{label}]"
            ),
        };
        stores.insert(label.clone(), open_backend(&label, &config)?);
    }
    Ok(stores)
}
