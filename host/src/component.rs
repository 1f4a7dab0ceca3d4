//! A component ready to serve: compiled, pre-instantiated, with its share of
//! every capability and its metrics. Shared by all its requests, and kept
//! as it is by a reload that finds its wasm and settings unchanged.

use crate::capabilities::provides::Interface;
use crate::capability_set::ComponentCapabilities;
use crate::compose;
use crate::engine;
use crate::instance::InstanceState;
use crate::manifest::ComponentDecl;
use crate::metrics::ComponentMetrics;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
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
    /// Its dependencies' wasm files (watched too).
    pub dependency_sources: Vec<PathBuf>,
    /// [`Wasm::digest`]: of the wasm, and of its dependencies' if any.
    pub digest: String,
    /// [`crate::capability_set::AppCapabilities::settings_digest`] when loaded.
    pub settings: String,
    pub pre: ProxyPre<InstanceState>,
    pub capabilities: Arc<ComponentCapabilities>,
    pub metrics: ComponentMetrics,
}

/// A component's wasm as read from its source file, with its dependencies'.
pub struct Wasm {
    pub bytes: Vec<u8>,
    /// Each dependency's wasm, in `decl.dependencies` order.
    pub dependencies: Vec<Vec<u8>>,
    /// SHA-256, hex, of `bytes` and, with dependencies, of every input of
    /// the composition (each dependency's key, export, inheritance and
    /// wasm): equal digests compose to the same component.
    pub digest: String,
}

impl Wasm {
    /// Reads `decl`'s source and its dependencies'.
    pub fn read(decl: &ComponentDecl) -> Result<Wasm> {
        let read = |path: &Path| {
            std::fs::read(path).with_context(|| {
                format!(
                    "Failed to load component `{}`: cannot read {}",
                    decl.id,
                    path.display()
                )
            })
        };
        let bytes = read(&decl.source)?;
        let mut digest = Sha256::new();
        digest.update(&bytes);
        let mut dependencies = Vec::new();
        for dependency in &decl.dependencies {
            let wasm = read(&dependency.path)?;
            digest.update(format!(
                "\0{}\0{:?}\0{}\0",
                dependency.name, dependency.export, dependency.inherit
            ));
            digest.update(Sha256::digest(&wasm));
            dependencies.push(wasm);
        }
        let digest = format!("{:x}", digest.finalize());
        Ok(Wasm {
            bytes,
            dependencies,
            digest,
        })
    }

    /// The component to compile: the source itself, or its composition
    /// with its dependencies (read from `cache_dir` when composed before).
    fn composed(&self, decl: &ComponentDecl, cache_dir: Option<&Path>) -> Result<Cow<'_, [u8]>> {
        if decl.dependencies.is_empty() {
            return Ok(Cow::Borrowed(&self.bytes));
        }
        // Another host version may compose differently.
        let version = env!("CARGO_PKG_VERSION");
        let cached =
            cache_dir.map(|dir| dir.join(format!("composed-{version}-{}.wasm", self.digest)));
        if let Some(bytes) = cached.as_ref().and_then(|path| std::fs::read(path).ok()) {
            return Ok(Cow::Owned(bytes));
        }
        let dependencies: Vec<_> = decl
            .dependencies
            .iter()
            .zip(&self.dependencies)
            .map(|(decl, bytes)| compose::Dependency { decl, bytes })
            .collect();
        let bytes = compose::compose(&self.bytes, &dependencies)?;
        if let Some(path) = cached {
            if let Err(e) = engine::write_file_atomically(&path, &bytes) {
                tracing::warn!(
                    "cannot cache composed component at {}: {e:#}",
                    path.display()
                );
            }
        }
        Ok(Cow::Owned(bytes))
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
        let bytes = wasm.composed(decl, self.cache_dir).with_context(|| {
            format!("Failed to load component `{id}`: cannot compose its dependencies")
        })?;
        let component = engine::load_component(self.engine, &bytes, self.cache_dir)
            .with_context(|| format!("Failed to load component `{id}`"))?;
        // Spin links every interface it knows; imports this host lacks
        // trap when called instead of failing instantiation.
        let mut linker = self.linker.clone();
        engine::stub_unknown_imports(&mut linker, &component, self.engine, self.provided)?;
        compose::deny::link_denied_imports(&mut linker, &component, self.engine)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)?;
        ProxyPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component `{id}` does not export wasi:http/incoming-handler"))
    }
}
