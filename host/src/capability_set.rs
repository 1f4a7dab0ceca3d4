//! Every capability together: their app-level states, opened once at
//! startup, and each component's share of them. The runtime asks this module,
//! not each capability, so it never knows a capability's layout.

use crate::capabilities::key_value::{KeyValueApp, KeyValueComponent};
use crate::capabilities::outbound_http::{OutboundApp, OutboundComponent};
use crate::capabilities::sqlite::{SqliteApp, SqliteComponent};
use crate::capabilities::variables::{VariableResolver, VariablesComponent};
use crate::capabilities::wasi::{WasiApp, WasiComponent};
use crate::manifest::{App, ComponentDecl};
use crate::metrics::Metrics;
use crate::runtime_config::RuntimeConfig;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the capabilities' app-level state comes from, besides the manifest
/// and the runtime config.
pub struct CapabilityOptions {
    pub state_dir: Option<PathBuf>,
    /// Where guest stdout/stderr are logged per component; `None` = not logged.
    pub log_dir: Option<PathBuf>,
    /// `-e KEY=VALUE`: added to every component's environment.
    pub env_overrides: Vec<(String, String)>,
    /// `--variable name=value`.
    pub cli_variables: BTreeMap<String, String>,
}

/// Each capability's app-level state.
pub struct AppCapabilities {
    wasi: WasiApp,
    key_value: KeyValueApp,
    sqlite: SqliteApp,
    variables: Arc<VariableResolver>,
    outbound: OutboundApp,
}

impl AppCapabilities {
    /// Opens every capability for the triggered components, failing as
    /// Spin does for missing variables and undefined labels.
    pub fn open(
        app: &App,
        triggered: &[ComponentDecl],
        runtime_config: &RuntimeConfig,
        options: CapabilityOptions,
    ) -> Result<AppCapabilities> {
        let variables = Arc::new(VariableResolver::new(
            app,
            &runtime_config.variable_providers,
            options.cli_variables,
        )?);
        let state_dir = options.state_dir.as_deref();
        let declared = |labels: fn(&ComponentDecl) -> &Vec<String>| {
            triggered
                .iter()
                .flat_map(move |c| labels(c).iter().map(|l| (c.id.clone(), l.clone())))
        };
        let key_value = KeyValueApp::open(
            declared(|c| &c.key_value_stores),
            &runtime_config.key_value_stores,
            state_dir,
        )?;
        let sqlite = SqliteApp::open(
            declared(|c| &c.sqlite_databases),
            &runtime_config.sqlite_databases,
            state_dir,
        )?;
        Ok(AppCapabilities {
            wasi: WasiApp::new(options.env_overrides, options.log_dir),
            key_value,
            sqlite,
            variables,
            outbound: OutboundApp::new(app.components.keys().cloned().collect()),
        })
    }

    /// One component's share of every capability.
    pub fn for_component(
        &self,
        decl: &ComponentDecl,
        metrics: &Metrics,
    ) -> Result<ComponentCapabilities> {
        let id = &decl.id;
        let hosts = decl
            .allowed_outbound_hosts
            .iter()
            .map(|h| self.variables.render_for_startup(h))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("component `{id}`: allowed_outbound_hosts"))?;
        let outbound = self
            .outbound
            .for_component(id, &hosts)
            .with_context(|| format!("component `{id}`"))?;
        Ok(ComponentCapabilities {
            wasi: self.wasi.for_component(decl)?,
            key_value: self
                .key_value
                .for_component(id, &decl.key_value_stores, metrics),
            sqlite: self
                .sqlite
                .for_component(id, &decl.sqlite_databases, metrics),
            variables: VariablesComponent::new(self.variables.clone(), id),
            outbound,
        })
    }
}

/// Each capability's per-component state, shared by the component's requests.
pub struct ComponentCapabilities {
    pub wasi: WasiComponent,
    pub key_value: KeyValueComponent,
    pub sqlite: SqliteComponent,
    pub variables: VariablesComponent,
    pub outbound: Arc<OutboundComponent>,
}
