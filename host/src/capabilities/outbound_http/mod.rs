//! The outbound HTTP capability (`wasi:http/outgoing-handler` and the
//! `wasi:http` types): which hosts a component may reach, and service
//! chaining.
//!
//! - `allowed_hosts`: Spin's `allowed_outbound_hosts` rules, pure;
//! - `hooks`: the per-instance hook that applies them and chains requests,
//!   reaching the application only through the narrow [`ServiceChain`].

mod allowed_hosts;
mod hooks;

use allowed_hosts::OutboundRules;
pub use hooks::{OutboundComponent, ResponseFuture, ServiceChain};

use crate::capabilities::provides::Interface;
use anyhow::Result;
use std::sync::Arc;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The capability's app-level state: the ids `*.spin.internal` expands to.
pub struct OutboundApp {
    component_ids: Vec<String>,
}

impl OutboundApp {
    pub fn new(component_ids: Vec<String>) -> OutboundApp {
        OutboundApp { component_ids }
    }

    /// Every component id of the app, what `*.spin.internal` expands to.
    pub fn component_ids(&self) -> &[String] {
        &self.component_ids
    }

    /// One component's rules, from its `allowed_outbound_hosts` with the
    /// templates already rendered.
    pub fn for_component(&self, id: &str, hosts: &[String]) -> Result<Arc<OutboundComponent>> {
        let rules = OutboundRules::parse(hosts, &self.component_ids)?;
        Ok(Arc::new(OutboundComponent {
            id: id.to_string(),
            rules,
        }))
    }
}

/// The capability's per-instance state: wasi-http's context and the hook.
pub struct OutboundInstance {
    ctx: WasiHttpCtx,
    hooks: hooks::OutboundHooks,
}

impl OutboundInstance {
    pub fn new(component: &Arc<OutboundComponent>, chain: Arc<dyn ServiceChain>) -> Self {
        OutboundInstance {
            ctx: WasiHttpCtx::new(),
            hooks: hooks::OutboundHooks {
                chain,
                component: component.clone(),
            },
        }
    }

    /// wasi-http's view of this instance.
    pub fn view<'a>(&'a mut self, table: &'a mut ResourceTable) -> WasiHttpCtxView<'a> {
        WasiHttpCtxView {
            ctx: &mut self.ctx,
            table,
            hooks: &mut self.hooks,
        }
    }
}

/// Adds `wasi:http` (any 0.2.x version) to `linker`.
pub fn link<T: WasiHttpView + 'static>(linker: &mut Linker<T>) -> Result<&'static [Interface]> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker).map_err(anyhow::Error::from)?;
    Ok(&[Interface::Wasi("wasi:http/")])
}
