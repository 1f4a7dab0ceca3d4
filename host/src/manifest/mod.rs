//! A Spin manifest (`spin.toml`, version 2): the model the host works from,
//! a leaf that depends on no other host module.
//!
//! - `raw`: the serde shapes, strict like Spin's;
//! - `load`: `App::load`, turning them into this model with Spin's validation;
//! - `names`, `route_syntax`, `template`: the pure rules it validates by;
//! - `select`: the subset `up -c` runs;
//! - `dependencies`, `dependency_name`: `[component.<id>.dependencies]`.

mod dependencies;
pub mod dependency_name;
mod load;
mod names;
mod raw;
pub mod route_syntax;
mod select;
pub mod template;

pub use dependencies::DependencyDecl;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A validated application: what the host needs from `spin.toml`.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub version: String,
    /// Directory holding the manifest; relative paths resolve against it.
    pub dir: PathBuf,
    pub variables: BTreeMap<String, VariableDecl>,
    pub components: BTreeMap<String, ComponentDecl>,
    /// In manifest order.
    pub http_triggers: Vec<HttpTrigger>,
}

#[derive(Debug, Clone, Default)]
pub struct VariableDecl {
    pub default: Option<String>,
    pub required: bool,
    /// Spin gives `secret` no runtime effect; kept for completeness.
    #[allow(dead_code)]
    pub secret: bool,
}

#[derive(Debug, Clone)]
pub struct ComponentDecl {
    pub id: String,
    pub description: String,
    pub source: PathBuf,
    /// Component variable name -> template text.
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub allowed_outbound_hosts: Vec<String>,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    pub build: Option<BuildDecl>,
    /// `[component.<id>.dependencies]`, composed into it at load time.
    pub dependencies: Vec<DependencyDecl>,
}

#[derive(Debug, Clone)]
pub struct BuildDecl {
    pub commands: Vec<String>,
    pub workdir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub id: String,
    pub route: RouteDecl,
    pub target: TriggerTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDecl {
    /// The route string exactly as written in the manifest.
    Public(String),
    /// `route = { private = true }`: reachable only by service chaining.
    Private,
}

#[derive(Debug, Clone)]
pub enum TriggerTarget {
    Component(String),
    Static(StaticResponse),
}

#[derive(Debug, Clone)]
pub struct StaticResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl App {
    /// Components that some trigger uses; the only ones Spin loads.
    pub fn triggered_components(&self) -> impl Iterator<Item = &ComponentDecl> {
        self.components.values().filter(|c| {
            self.http_triggers
                .iter()
                .any(|t| matches!(&t.target, TriggerTarget::Component(id) if id == &c.id))
        })
    }
}
