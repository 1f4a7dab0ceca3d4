//! Every capability together: their app-level states, opened once at
//! startup, and each component's share of them. The runtime asks this module,
//! not each capability, so it never knows a capability's layout. A reload
//! opens them again from the previous ones, keeping every store whose
//! configuration is unchanged, and fingerprints each component's settings.

use crate::capabilities::key_value::{KeyValueApp, KeyValueComponent};
use crate::capabilities::outbound_http::{OutboundApp, OutboundComponent};
use crate::capabilities::sqlite::{SqliteApp, SqliteComponent};
use crate::capabilities::variables::{VariableResolver, VariablesComponent};
use crate::capabilities::wasi::{WasiApp, WasiComponent};
use crate::manifest::{App, ComponentDecl};
use crate::metrics::Metrics;
use crate::runtime_config::RuntimeConfig;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the capabilities' app-level state comes from, besides the manifest
/// and the runtime config. Fixed for the life of the process.
#[derive(Clone)]
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
    /// Spin does for missing variables and undefined labels. Stores open in
    /// `previous` stay open for labels whose configuration is unchanged.
    pub fn open(
        previous: Option<&AppCapabilities>,
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
            previous.map(|p| &p.key_value),
            declared(|c| &c.key_value_stores),
            &runtime_config.key_value_stores,
            state_dir,
        )?;
        let sqlite = SqliteApp::open(
            previous.map(|p| &p.sqlite),
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
        let hosts = self.outbound_hosts(decl)?;
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

    fn outbound_hosts(&self, decl: &ComponentDecl) -> Result<Vec<String>> {
        decl.allowed_outbound_hosts
            .iter()
            .map(|h| self.variables.render_for_startup(h))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("component `{}`: allowed_outbound_hosts", decl.id))
    }

    /// A digest of everything a component's share depends on besides its
    /// wasm: its declaration, its variables' values now, the configuration
    /// of its store labels, its rendered outbound hosts and, when they hold
    /// a wildcard, the component ids it expands to. Equal digests mean a
    /// reload may keep the component as it is.
    pub fn settings_digest(&self, decl: &ComponentDecl) -> Result<String> {
        let mut text = format!("{decl:?}\n");
        for name in decl.variables.keys() {
            let value = self.variables.get(&decl.id, name);
            writeln!(text, "variable {name} = {value:?}")?;
        }
        for label in &decl.key_value_stores {
            writeln!(
                text,
                "key_value {label} = {:?}",
                self.key_value.config(label)
            )?;
        }
        for label in &decl.sqlite_databases {
            writeln!(text, "sqlite {label} = {:?}", self.sqlite.config(label))?;
        }
        let hosts = self.outbound_hosts(decl)?;
        writeln!(text, "outbound {hosts:?}")?;
        if hosts.iter().any(|h| h.contains('*')) {
            writeln!(text, "components {:?}", self.outbound.component_ids())?;
        }
        Ok(format!("{:x}", Sha256::digest(text.as_bytes())))
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
