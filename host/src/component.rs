//! A component ready to serve: compiled, pre-instantiated, with its share of
//! every capability and its metrics. Shared by all its requests.

use crate::capabilities::provides::Interface;
use crate::capability_set::ComponentCapabilities;
use crate::engine;
use crate::instance::InstanceState;
use crate::manifest::ComponentDecl;
use crate::metrics::ComponentMetrics;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::Linker;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// One triggered component, ready for requests.
pub struct ComponentRuntime {
    pub id: String,
    pub pre: ProxyPre<InstanceState>,
    pub capabilities: Arc<ComponentCapabilities>,
    pub metrics: ComponentMetrics,
}

/// What every component is loaded with.
pub struct Loader<'a> {
    pub engine: &'a Engine,
    /// Every capability linked.
    pub linker: &'a Linker<InstanceState>,
    /// What the linked capabilities provide.
    pub provided: &'a [Interface],
    pub cache_dir: Option<&'a Path>,
}

impl Loader<'_> {
    /// Compiles (or loads from the cache) and pre-instantiates `decl`'s source.
    pub fn pre_instantiate(&self, decl: &ComponentDecl) -> Result<ProxyPre<InstanceState>> {
        let id = &decl.id;
        let component = engine::load_component(self.engine, &decl.source, self.cache_dir)
            .with_context(|| format!("Failed to load component `{id}`"))?;
        // Spin links every interface it knows; imports this host lacks
        // trap when called instead of failing instantiation.
        let mut linker = self.linker.clone();
        engine::stub_unknown_imports(&mut linker, &component, self.engine, self.provided)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)?;
        ProxyPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component `{id}` does not export wasi:http/incoming-handler"))
    }
}
