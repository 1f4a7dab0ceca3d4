//! What one request's wasm instance owns: its WASI context, resource table,
//! limits and the component's capabilities. Built fresh for every request.

use crate::guest_output::GuestOutput;
use crate::key_value::KeyValueStore;
use crate::metrics::ComponentMetrics;
use crate::outbound::{OutboundHooks, OutboundRules};
use crate::sqlite::SqliteStore;
use crate::variables::VariableResolver;
use std::collections::HashMap;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// A component ready to serve: compiled, pre-instantiated, with the stores
/// and hosts it may use. Shared by all its requests.
pub struct ComponentRuntime {
    pub id: String,
    pub pre: ProxyPre<InstanceState>,
    pub environment: Vec<(String, String)>,
    pub stdout: GuestOutput,
    pub stderr: GuestOutput,
    /// Only the labels the component declares: others are `access-denied`.
    pub key_value: HashMap<String, KeyValueStore>,
    pub sqlite: HashMap<String, SqliteStore>,
    pub variables: Arc<VariableResolver>,
    pub outbound: Arc<OutboundRules>,
    pub metrics: ComponentMetrics,
}

/// The `T` of each request's `Store<T>`.
pub struct InstanceState {
    pub component: Arc<ComponentRuntime>,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub open_sqlite_connections: usize,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
}

impl InstanceState {
    pub fn new(
        component: Arc<ComponentRuntime>,
        hooks: OutboundHooks,
        limits: StoreLimits,
    ) -> InstanceState {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(component.stdout.clone())
            .stderr(component.stderr.clone())
            .envs(&component.environment);
        InstanceState {
            component,
            table: ResourceTable::new(),
            limits,
            open_sqlite_connections: 0,
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks,
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
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
