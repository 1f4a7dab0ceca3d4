//! Label resolution: which database serves each label a component declares
//! (runtime config, else the default database), opened once at startup and
//! shared by every component declaring the label.

use super::config::SqliteConfig;
use super::metrics::SqliteOps;
use super::pool::SqliteDatabase;
use crate::capabilities::by_label::ByLabel;
use crate::metrics::Metrics;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// The capability's app-level state: every declared label's database.
pub struct SqliteApp {
    databases: ByLabel<SqliteDatabase, SqliteConfig>,
}

impl SqliteApp {
    /// Opens every database label some component declares, as
    /// `(component, label)`; undefined labels are a startup error listing
    /// each use, as in Spin.
    pub fn open(
        previous: Option<&SqliteApp>,
        declared: impl IntoIterator<Item = (String, String)>,
        configured: &BTreeMap<String, SqliteConfig>,
        state_dir: Option<&Path>,
    ) -> Result<SqliteApp> {
        let mut undefined = Vec::new();
        let databases = ByLabel::open(
            previous.map(|previous| &previous.databases),
            declared,
            configured,
            SqliteConfig::default_database(state_dir),
            |component, label| {
                undefined.push(format!("- Component {component} uses database '{label}'"));
                Ok(())
            },
            |label, config| {
                let database = SqliteDatabase::new(config)
                    .with_context(|| format!("SQLite database '{label}'"))?;
                Ok(Arc::new(database))
            },
        )?;
        if !undefined.is_empty() {
            anyhow::bail!(
                "One or more components use SQLite databases which are not defined.\n\
                 Check the spelling, or pass a runtime configuration file that defines these databases.\n\
                 See https://spinframework.dev/v3/sqlite-api-guide#using-sqlite-in-spin\n{}",
                undefined.join("\n")
            );
        }
        Ok(SqliteApp { databases })
    }

    /// The configuration a declared label resolved to (for change detection).
    pub fn config(&self, label: &str) -> Option<&SqliteConfig> {
        self.databases.config(label)
    }

    /// The databases one component declares, with its operation counters.
    pub fn for_component(
        &self,
        component: &str,
        labels: &[String],
        metrics: &Metrics,
    ) -> SqliteComponent {
        let databases = self
            .databases
            .for_component(labels, |label, database| DeclaredDatabase {
                database,
                ops: Arc::new(SqliteOps::new(metrics, component, label)),
            });
        SqliteComponent { databases }
    }
}

/// The capability's per-component state. Only the labels the component
/// declares are here: others are `access-denied`.
pub struct SqliteComponent {
    pub(super) databases: HashMap<String, DeclaredDatabase>,
}

/// A database as one component sees it: the storage (shared by every
/// component declaring the label) and this component's operation counters.
pub(super) struct DeclaredDatabase {
    pub(super) database: Arc<SqliteDatabase>,
    pub(super) ops: Arc<SqliteOps>,
}
