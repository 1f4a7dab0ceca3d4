//! A component ready to serve: compiled, pre-instantiated, with its share of
//! every capability and its metrics. Shared by all its requests, and kept
//! as it is by a reload that finds its wasm and settings unchanged.

use crate::capabilities::provides::Interface;
use crate::capability_set::ComponentCapabilities;
use crate::engine;
use crate::instance::InstanceState;
use crate::manifest::ComponentDecl;
use crate::metrics::ComponentMetrics;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::Linker;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// One triggered component, ready for requests.
pub struct ComponentRuntime {
    pub id: String,
    /// The wasm file it was loaded from (watched by `up --watch`).
    pub source: PathBuf,
    /// SHA-256 of the wasm, hex.
    pub digest: String,
    /// [`crate::capability_set::AppCapabilities::settings_digest`] when loaded.
    pub settings: String,
    pub pre: ProxyPre<InstanceState>,
    pub capabilities: Arc<ComponentCapabilities>,
    pub metrics: ComponentMetrics,
}

/// A component's wasm as read from its source file.
pub struct Wasm {
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, hex.
    pub digest: String,
}

impl Wasm {
    /// Reads `decl`'s source.
    pub fn read(decl: &ComponentDecl) -> Result<Wasm> {
        let bytes = std::fs::read(&decl.source).with_context(|| {
            format!(
                "Failed to load component `{}`: cannot read {}",
                decl.id,
                decl.source.display()
            )
        })?;
        let digest = format!("{:x}", Sha256::digest(&bytes));
        Ok(Wasm { bytes, digest })
    }
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
    /// Compiles (or loads from the cache) and pre-instantiates `decl`'s wasm.
    pub fn pre_instantiate(
        &self,
        decl: &ComponentDecl,
        wasm: &Wasm,
    ) -> Result<ProxyPre<InstanceState>> {
        let id = &decl.id;
        let component = engine::load_component(self.engine, &wasm.bytes, self.cache_dir)
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
