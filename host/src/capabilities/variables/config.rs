//! The variables capability's part of the runtime config:
//! `[[variables_provider]]` (or the older `[[config_provider]]`).

use anyhow::{bail, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub enum VariableProviderConfig {
    Static(BTreeMap<String, String>),
    Env {
        prefix: String,
        dotenv_path: Option<PathBuf>,
    },
}

impl VariableProviderConfig {
    /// One provider table of type `kind`; a relative `dotenv_path` is
    /// resolved against the working directory.
    pub fn parse(kind: &str, value: &toml::Value, cwd: &Path) -> Result<VariableProviderConfig> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Static {
            #[allow(dead_code)]
            r#type: String,
            values: BTreeMap<String, String>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Env {
            #[allow(dead_code)]
            r#type: String,
            prefix: Option<String>,
            dotenv_path: Option<PathBuf>,
        }
        match kind {
            "static" => Ok(VariableProviderConfig::Static(
                value.clone().try_into::<Static>()?.values,
            )),
            "env" => {
                let env: Env = value.clone().try_into()?;
                Ok(VariableProviderConfig::Env {
                    prefix: env.prefix.unwrap_or_else(|| "SPIN_VARIABLE".into()),
                    dotenv_path: env.dotenv_path.map(|p| cwd.join(p)),
                })
            }
            other => {
                bail!(
                    "variables provider type '{other}' is not supported by this host (static, env)"
                )
            }
        }
    }
}
