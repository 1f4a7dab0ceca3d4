//! The application as loaded from one reading of `spin.toml` and the runtime
//! config: routes, components and the capabilities' app-level state. The
//! runtime serves one at a time; a reload builds the next from the current
//! one, keeping every component whose wasm and settings are unchanged (same
//! compiled code, same pre-instantiation, same open stores).

use crate::capability_set::{AppCapabilities, CapabilityOptions};
use crate::component::{ComponentRuntime, Loader, Wasm};
use crate::manifest::App;
use crate::metrics::Metrics;
use crate::routes::Router;
use crate::runtime_config::RuntimeConfig;
use anyhow::Result;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One version of the application, immutable once built.
pub struct LoadedApp {
    pub name: String,
    pub version: String,
    pub router: Router,
    pub components: HashMap<String, Arc<ComponentRuntime>>,
    /// Component descriptions, for the startup listing.
    pub descriptions: HashMap<String, String>,
    /// Kept so that the next version can reuse its open stores.
    capabilities: AppCapabilities,
}

/// What the new version changes about one component.
#[derive(Debug)]
pub struct ComponentChange {
    pub id: String,
    /// The wasm digest before; `None` for an added component.
    pub old_digest: Option<String>,
    /// The wasm digest after; `None` for a removed component.
    pub new_digest: Option<String>,
    /// Reading, compiling and pre-instantiating it.
    pub took: Duration,
}

/// What a new version is built from.
pub struct Inputs<'a> {
    pub app: App,
    pub runtime_config: &'a RuntimeConfig,
    pub options: CapabilityOptions,
    pub loader: Loader<'a>,
    pub metrics: &'a Metrics,
}

impl LoadedApp {
    /// Validates, opens stores and loads components, reusing what `previous`
    /// holds unchanged. Returns the new version, the warnings Spin would log
    /// at startup, and what changed (every component, without `previous`).
    /// Fails without side effects on the running version.
    pub fn load(
        inputs: Inputs<'_>,
        previous: Option<&LoadedApp>,
    ) -> Result<(LoadedApp, Vec<String>, Vec<ComponentChange>)> {
        let Inputs {
            app,
            runtime_config,
            options,
            loader,
            metrics,
        } = inputs;
        let (router, warnings) = Router::build(&app)?;
        let triggered: Vec<_> = app.triggered_components().cloned().collect();
        for component in &triggered {
            if !component.source.is_file() {
                anyhow::bail!(
                    "Failed to load component `{}`: source file {} does not exist (build it first: `cargo xtask build`)",
                    component.id,
                    component.source.display()
                );
            }
            for dependency in &component.dependencies {
                if !dependency.path.is_file() {
                    anyhow::bail!(
                        "Failed to load component `{}`: dependency \"{}\" source file {} does not exist",
                        component.id,
                        dependency.name,
                        dependency.path.display()
                    );
                }
            }
        }
        let capabilities = AppCapabilities::open(
            previous.map(|p| &p.capabilities),
            &app,
            &triggered,
            runtime_config,
            options,
        )?;

        let mut components = HashMap::new();
        let mut changes = Vec::new();
        for decl in &triggered {
            let started = Instant::now();
            let wasm = Wasm::read(decl)?;
            let settings = capabilities.settings_digest(decl)?;
            // Made for every component, so a reload validates exactly what a
            // start does; dropped again when the old share is kept.
            let share = capabilities.for_component(decl, metrics)?;
            let old = previous.and_then(|p| p.components.get(&decl.id));
            if let Some(old) = old.filter(|o| o.digest == wasm.digest && o.settings == settings) {
                components.insert(decl.id.clone(), old.clone());
                continue;
            }
            let pre = loader.pre_instantiate(decl, &wasm)?;
            let runtime = ComponentRuntime {
                id: decl.id.clone(),
                source: decl.source.clone(),
                dependency_sources: decl.dependencies.iter().map(|d| d.path.clone()).collect(),
                digest: wasm.digest.clone(),
                settings,
                pre,
                capabilities: Arc::new(share),
                metrics: metrics.component(&decl.id),
            };
            components.insert(decl.id.clone(), Arc::new(runtime));
            changes.push(ComponentChange {
                id: decl.id.clone(),
                old_digest: old.map(|o| o.digest.clone()),
                new_digest: Some(wasm.digest),
                took: started.elapsed(),
            });
        }
        let removed = previous
            .into_iter()
            .flat_map(|p| p.components.values())
            .filter(|old| !components.contains_key(&old.id));
        changes.extend(removed.map(|old| ComponentChange {
            id: old.id.clone(),
            old_digest: Some(old.digest.clone()),
            new_digest: None,
            took: Duration::ZERO,
        }));
        changes.sort_by(|a, b| a.id.cmp(&b.id));

        let descriptions = app
            .components
            .values()
            .map(|c| (c.id.clone(), c.description.clone()))
            .collect();
        let loaded = LoadedApp {
            name: app.name,
            version: app.version,
            router,
            components,
            descriptions,
            capabilities,
        };
        Ok((loaded, warnings, changes))
    }
}
