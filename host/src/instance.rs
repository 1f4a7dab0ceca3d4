//! What one request's wasm instance owns: its resource table, limits and
//! each capability's per-instance state, composed here and nowhere else.
//! Built fresh for every request.

use crate::capabilities::key_value::{self, KeyValueView};
use crate::capabilities::outbound_http::{self, OutboundInstance, ServiceChain};
use crate::capabilities::provides::Interface;
use crate::capabilities::sqlite::{self, SqliteInstance, SqliteView};
use crate::capabilities::variables::{self, VariablesView};
use crate::capabilities::wasi;
use crate::capability_set::ComponentCapabilities;
use anyhow::Result;
use std::sync::Arc;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtxView, WasiHttpView};

/// The `T` of each request's `Store<T>`.
pub struct InstanceState {
    component: Arc<ComponentCapabilities>,
    table: ResourceTable,
    pub limits: StoreLimits,
    wasi: WasiCtx,
    http: OutboundInstance,
    sqlite: SqliteInstance,
}

impl InstanceState {
    pub fn new(
        component: Arc<ComponentCapabilities>,
        chain: Arc<dyn ServiceChain>,
        limits: StoreLimits,
    ) -> InstanceState {
        InstanceState {
            wasi: component.wasi.new_instance(),
            http: OutboundInstance::new(&component.outbound, chain),
            sqlite: SqliteInstance::default(),
            table: ResourceTable::new(),
            limits,
            component,
        }
    }

    /// Whether the instance holds a database's write turn (other writers wait for it).
    pub fn holds_write_turn(&self) -> bool {
        self.sqlite.holds_write_turn()
    }

    /// Links every capability, each served on its view of this state.
    /// Returns the interfaces they provide.
    pub fn link(linker: &mut Linker<InstanceState>) -> Result<Vec<Interface>> {
        let provided = [
            wasi::link(linker)?,
            outbound_http::link(linker)?,
            key_value::link(linker, InstanceState::key_value)?,
            sqlite::link(linker, InstanceState::sqlite)?,
            variables::link(linker, InstanceState::variables)?,
        ];
        Ok(provided.concat())
    }

    fn key_value(&mut self) -> KeyValueView<'_> {
        KeyValueView {
            component: &self.component.key_value,
            table: &mut self.table,
        }
    }

    fn sqlite(&mut self) -> SqliteView<'_> {
        SqliteView {
            component: &self.component.sqlite,
            instance: &mut self.sqlite,
            table: &mut self.table,
        }
    }

    fn variables(&mut self) -> VariablesView<'_> {
        VariablesView {
            component: &self.component.variables,
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.http.view(&mut self.table)
    }
}
