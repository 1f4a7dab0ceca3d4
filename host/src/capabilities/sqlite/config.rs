//! The SQLite capability's part of the runtime config: `[sqlite_database.<label>]`.
//! A relative `path` is resolved against the working directory, as in Spin.

use anyhow::{bail, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default database's file in the state directory.
pub const DEFAULT_DATABASE_FILE: &str = "sqlite_db.db";

#[derive(Debug, Clone, PartialEq)]
pub enum SqliteConfig {
    /// A SQLite file; `None` = every `open` gets a fresh in-memory database.
    Spin {
        path: Option<PathBuf>,
        allow_attach_file: bool,
    },
}

impl SqliteConfig {
    /// The default database: `<state dir>/sqlite_db.db`, or in memory.
    pub fn default_database(state_dir: Option<&Path>) -> SqliteConfig {
        SqliteConfig::Spin {
            path: state_dir.map(|d| d.join(DEFAULT_DATABASE_FILE)),
            allow_attach_file: false,
        }
    }

    /// One `[sqlite_database.<label>]` table of type `kind`.
    pub fn parse(kind: &str, value: &toml::Value, cwd: &Path) -> Result<SqliteConfig> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Spin {
            #[allow(dead_code)]
            r#type: String,
            path: Option<PathBuf>,
            #[serde(default)]
            allow_attach_file: bool,
        }
        match kind {
            "spin" => {
                let spin: Spin = value.clone().try_into()?;
                Ok(SqliteConfig::Spin { path: spin.path.map(|p| cwd.join(p)), allow_attach_file: spin.allow_attach_file })
            }
            "libsql" => bail!("`type = \"libsql\"` needs a libSQL server; this host serves only `type = \"spin\"` databases (use the real Spin for libSQL)"),
            other => bail!("Unknown database kind: {other}"),
        }
    }
}
