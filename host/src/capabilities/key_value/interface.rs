//! The guest interface `fermyon:spin/key-value@2.0.0`, served on a view of
//! one instance's key-value state, and the `link` step that adds it to a linker.

use super::backend::KeyValueBackend;
use super::bindings::fermyon::spin::key_value::{self, Error as KvError};
use super::metrics::KeyValueOps;
use super::store::{KeyValueComponent, KeyValueHandle};
use crate::capabilities::provides::Interface;
use anyhow::Result;
use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

/// Largest value (or key listing) a read returns, as in Spin.
pub const MAX_READ_BYTES: usize = 128 * 1024 * 1024;

/// What the interface works on: the component's stores and the instance's
/// resource table (the capability has no other per-instance state).
pub struct KeyValueView<'a> {
    pub component: &'a KeyValueComponent,
    pub table: &'a mut ResourceTable,
}

impl HasData for KeyValueView<'static> {
    type Data<'a> = KeyValueView<'a>;
}

/// Adds the interface to `linker`, served on the view `get` returns.
pub fn link<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> KeyValueView<'_>,
) -> Result<&'static [Interface]> {
    key_value::add_to_linker::<T, KeyValueView<'static>>(linker, get)
        .map_err(anyhow::Error::from)?;
    Ok(&[Interface::Exact("fermyon:spin/key-value@2.0.0")])
}

fn too_large() -> KvError {
    KvError::Other(format!(
        "query result exceeds limit of {MAX_READ_BYTES} bytes"
    ))
}

impl KeyValueView<'_> {
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

impl key_value::Host for KeyValueView<'_> {}

impl key_value::HostStore for KeyValueView<'_> {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KeyValueHandle>, KvError>> {
        // Only labels the component declares are in its map: anything else is
        // `access-denied`, even when the store exists for another component.
        let Some(store) = self.component.stores.get(&label) else {
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
