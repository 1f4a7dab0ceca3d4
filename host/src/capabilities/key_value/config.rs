//! The key-value capability's part of the runtime config:
//! `[key_value_store.<label>]`. A relative `path` is resolved against the
//! config file's directory, as in Spin.

use anyhow::{bail, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default store's file in the state directory.
pub const DEFAULT_STORE_FILE: &str = "sqlite_key_value.db";

#[derive(Debug, Clone, PartialEq)]
pub enum KeyValueConfig {
    /// SQLite-backed store; `None` = in memory for the process lifetime.
    Spin {
        path: Option<PathBuf>,
    },
    Redis {
        url: String,
    },
}

impl KeyValueConfig {
    /// The `default` store when runtime config does not redefine it.
    pub fn default_store(state_dir: Option<&Path>) -> KeyValueConfig {
        KeyValueConfig::Spin {
            path: state_dir.map(|d| d.join(DEFAULT_STORE_FILE)),
        }
    }

    /// The store type, for the startup banner.
    pub fn kind(&self) -> &'static str {
        match self {
            KeyValueConfig::Spin { .. } => "spin",
            KeyValueConfig::Redis { .. } => "redis",
        }
    }

    /// One `[key_value_store.<label>]` table of type `kind`.
    pub fn parse(kind: &str, value: &toml::Value, config_dir: &Path) -> Result<KeyValueConfig> {
        #[derive(Deserialize)]
        struct Spin {
            path: Option<PathBuf>,
        }
        #[derive(Deserialize)]
        struct Redis {
            url: String,
        }
        match kind {
            "spin" => {
                let spin: Spin = value.clone().try_into()?;
                Ok(KeyValueConfig::Spin {
                    path: spin.path.map(|p| config_dir.join(p)),
                })
            }
            "redis" => {
                let redis: Redis = value.clone().try_into()?;
                Ok(KeyValueConfig::Redis { url: redis.url })
            }
            other => bail!("the store type '{other}' was not registered with the config resolver"),
        }
    }
}
