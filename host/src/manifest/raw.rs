//! The manifest as written: serde shapes, strict (unknown keys are errors
//! that name the field). `load` turns them into the model.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    #[serde(alias = "spin_version")]
    pub(super) spin_manifest_version: toml::Value,
    pub(super) application: RawApplication,
    #[serde(default)]
    pub(super) variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    pub(super) trigger: BTreeMap<String, Vec<toml::Table>>,
    #[serde(default)]
    pub(super) component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApplication {
    pub(super) name: String,
    #[serde(default)]
    pub(super) version: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) authors: Vec<String>,
    #[serde(default)]
    pub(super) targets: Vec<String>,
    #[serde(default)]
    pub(super) trigger: Option<toml::Table>,
    #[serde(default)]
    pub(super) tool: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariable {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) default: Option<String>,
    #[serde(default)]
    pub(super) required: bool,
    #[serde(default)]
    pub(super) secret: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawSource {
    Local(String),
    Remote(#[allow(dead_code)] toml::Table),
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawCommand {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    pub(super) command: RawCommand,
    #[serde(default)]
    pub(super) workdir: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) watch: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComponent {
    pub(super) source: RawSource,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) variables: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) environment: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) files: Vec<toml::Value>,
    #[serde(default)]
    pub(super) exclude_files: Vec<String>,
    #[serde(default)]
    pub(super) allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub(super) allowed_http_hosts: Vec<String>,
    #[serde(default)]
    pub(super) key_value_stores: Vec<String>,
    #[serde(default)]
    pub(super) sqlite_databases: Vec<String>,
    #[serde(default)]
    pub(super) ai_models: Vec<String>,
    #[serde(default)]
    pub(super) build: Option<RawBuild>,
    #[serde(default)]
    pub(super) targets: Option<toml::Value>,
    #[serde(default)]
    pub(super) tool: Option<toml::Value>,
    #[serde(default)]
    pub(super) dependencies: Option<toml::Value>,
    #[serde(default)]
    pub(super) dependencies_inherit_configuration: Option<bool>,
    #[serde(default)]
    pub(super) profile: Option<toml::Value>,
}
