//! `runtime-config.toml`: the top-level keys, each capability's tables
//! handed to that capability's parser, and the host settings (`state_dir`,
//! `log_dir`, `max_instance_memory`).

use crate::capabilities::key_value::KeyValueConfig;
use crate::capabilities::sqlite::SqliteConfig;
use crate::capabilities::variables::VariableProviderConfig;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub key_value_stores: BTreeMap<String, KeyValueConfig>,
    pub sqlite_databases: BTreeMap<String, SqliteConfig>,
    pub variable_providers: Vec<VariableProviderConfig>,
    pub state_dir: Option<String>,
    pub log_dir: Option<String>,
    pub max_instance_memory: Option<u64>,
    /// A line for the startup banner, as Spin prints it.
    pub summary: Option<String>,
}

const KNOWN_KEYS: &[&str] = &[
    "key_value_store",
    "sqlite_database",
    "variables_provider",
    "config_provider",
    "outbound_http",
    "outbound_networking",
    "client_tls",
    "llm_compute",
    "state_dir",
    "log_dir",
    "max_instance_memory",
];

impl RuntimeConfig {
    /// Loads the file, resolving relative paths as Spin does.
    pub fn load(path: &Path) -> Result<RuntimeConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read runtime config {}", path.display()))?;
        let config_dir = path.parent().unwrap_or(Path::new("."));
        let cwd = std::env::current_dir()?;
        let mut config = Self::parse(&text, config_dir, &cwd)
            .with_context(|| format!("invalid runtime config {}", path.display()))?;
        let kinds: Vec<String> = config
            .key_value_stores
            .iter()
            .map(|(label, c)| format!("key_value_store.{label}: {}", c.kind()))
            .chain(
                config
                    .sqlite_databases
                    .keys()
                    .map(|label| format!("sqlite_database.{label}: spin")),
            )
            .collect();
        config.summary = Some(format!(
            "Using runtime config [{}] from {:?}",
            kinds.join(", "),
            path
        ));
        Ok(config)
    }

    pub fn parse(text: &str, config_dir: &Path, cwd: &Path) -> Result<RuntimeConfig> {
        let table: toml::Table = toml::from_str(text)?;
        let unused: Vec<&str> = table
            .keys()
            .map(String::as_str)
            .filter(|k| !KNOWN_KEYS.contains(k))
            .collect();
        if !unused.is_empty() {
            bail!("unused runtime config key(s): {}", unused.join(", "));
        }
        let mut config = RuntimeConfig::default();
        if let Some(stores) = table.get("key_value_store") {
            for (label, value) in stores
                .as_table()
                .context("`key_value_store` must be a table")?
            {
                let store = store_type(value)
                    .and_then(|kind| KeyValueConfig::parse(kind, value, config_dir))
                    .with_context(|| format!("[key_value_store.{label}]"))?;
                config.key_value_stores.insert(label.clone(), store);
            }
        }
        if let Some(databases) = table.get("sqlite_database") {
            for (label, value) in databases
                .as_table()
                .context("`sqlite_database` must be a table")?
            {
                let database = store_type(value)
                    .and_then(|kind| SqliteConfig::parse(kind, value, cwd))
                    .with_context(|| format!("[sqlite_database.{label}]"))?;
                config.sqlite_databases.insert(label.clone(), database);
            }
        }
        for key in ["variables_provider", "config_provider"] {
            if let Some(providers) = table.get(key) {
                for provider in providers
                    .as_array()
                    .with_context(|| format!("`{key}` must be [[{key}]]"))?
                {
                    config.variable_providers.push(
                        store_type(provider)
                            .and_then(|kind| VariableProviderConfig::parse(kind, provider, cwd))
                            .with_context(|| format!("[[{key}]]"))?,
                    );
                }
            }
        }
        if let Some(dir) = table.get("state_dir") {
            config.state_dir = Some(
                dir.as_str()
                    .context("`state_dir` must be a string")?
                    .to_string(),
            );
        }
        if let Some(dir) = table.get("log_dir") {
            config.log_dir = Some(
                dir.as_str()
                    .context("`log_dir` must be a string")?
                    .to_string(),
            );
        }
        if let Some(max) = table.get("max_instance_memory") {
            let max = max
                .as_integer()
                .context("`max_instance_memory` must be an integer")?;
            config.max_instance_memory =
                Some(u64::try_from(max).context("`max_instance_memory` must be positive")?);
        }
        for unsupported in ["outbound_networking", "client_tls", "llm_compute"] {
            if table.contains_key(unsupported) {
                bail!("`{unsupported}` is not supported by this host");
            }
        }
        Ok(config)
    }
}

fn store_type(value: &toml::Value) -> Result<&str> {
    value
        .get("type")
        .and_then(|t| t.as_str())
        .context("missing field `type`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig> {
        RuntimeConfig::parse(text, Path::new("/cfg"), Path::new("/cwd"))
    }

    #[test]
    fn paths_resolve_like_spin() {
        let config = parse(
            "[key_value_store.cache]\ntype = \"spin\"\npath = \"kv.db\"\n\
             [sqlite_database.visits]\ntype = \"spin\"\npath = \"data/visits.db\"\n",
        )
        .unwrap();
        assert_eq!(
            config.key_value_stores["cache"],
            KeyValueConfig::Spin {
                path: Some("/cfg/kv.db".into())
            }
        );
        assert_eq!(
            config.sqlite_databases["visits"],
            SqliteConfig::Spin {
                path: Some("/cwd/data/visits.db".into()),
                allow_attach_file: false
            }
        );
    }

    #[test]
    fn unknown_top_level_key_is_rejected() {
        let err = parse("nonsense = 1\n").unwrap_err();
        assert!(format!("{err:#}").contains("unused runtime config key(s): nonsense"));
    }

    #[test]
    fn unknown_sqlite_kind_is_rejected() {
        let err = parse("[sqlite_database.x]\ntype = \"oracle\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("Unknown database kind: oracle"));
    }

    #[test]
    fn redis_store_and_providers_parse() {
        let config = parse(
            "[key_value_store.shared]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
             [[variables_provider]]\ntype = \"static\"\nvalues = { token = \"t\" }\n\
             [[variables_provider]]\ntype = \"env\"\nprefix = \"APP\"\n",
        )
        .unwrap();
        assert_eq!(
            config.key_value_stores["shared"],
            KeyValueConfig::Redis {
                url: "redis://127.0.0.1:6379".into()
            }
        );
        assert_eq!(config.variable_providers.len(), 2);
    }
}
