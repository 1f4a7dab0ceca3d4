//! Application variables: the providers that resolve them, in Spin's order,
//! and each component's templates rendered with them.

use super::bindings::fermyon::spin::variables::Error as VarError;
use super::config::VariableProviderConfig;
use crate::manifest::template::Template;
use crate::manifest::{App, VariableDecl};
use anyhow::{bail, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

enum Provider {
    Static(BTreeMap<String, String>),
    Env {
        prefix: String,
        dotenv: BTreeMap<String, String>,
    },
}

/// Resolves application variables and renders component templates.
pub struct VariableResolver {
    cli_values: BTreeMap<String, String>,
    providers: Vec<Provider>,
    /// `.env` in the working directory, read once at start as in Spin.
    cwd_dotenv: BTreeMap<String, String>,
    declared: BTreeMap<String, VariableDecl>,
    /// component id -> component variable -> template
    templates: HashMap<String, HashMap<String, Template>>,
}

impl VariableResolver {
    pub fn new(
        app: &App,
        providers: &[VariableProviderConfig],
        cli_values: BTreeMap<String, String>,
    ) -> Result<VariableResolver> {
        let mut templates = HashMap::new();
        for component in app.components.values() {
            let mut map = HashMap::new();
            for (key, text) in &component.variables {
                map.insert(key.clone(), Template::parse(text)?);
            }
            templates.insert(component.id.clone(), map);
        }
        let providers = providers
            .iter()
            .map(|p| match p {
                VariableProviderConfig::Static(values) => Provider::Static(values.clone()),
                VariableProviderConfig::Env {
                    prefix,
                    dotenv_path,
                } => Provider::Env {
                    prefix: prefix.clone(),
                    dotenv: dotenv_path.as_deref().map(read_dotenv).unwrap_or_default(),
                },
            })
            .collect();
        let resolver = VariableResolver {
            cli_values,
            providers,
            cwd_dotenv: read_dotenv(Path::new(".env")),
            declared: app.variables.clone(),
            templates,
        };
        resolver.check_required()?;
        Ok(resolver)
    }

    /// Spin refuses to start when a required variable has no value.
    fn check_required(&self) -> Result<()> {
        let missing: Vec<&str> = self
            .declared
            .iter()
            .filter(|(name, decl)| decl.required && self.lookup(name).is_none())
            .map(|(name, _)| name.as_str())
            .collect();
        if !missing.is_empty() {
            bail!("no provider resolved required variable(s): {missing:?}");
        }
        Ok(())
    }

    /// First hit wins: --variable, runtime-config providers, SPIN_VARIABLE_* env,
    /// `.env`, then the manifest default. The environment is re-read every call.
    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(v) = self.cli_values.get(name) {
            return Some(v.clone());
        }
        let upper = name.to_ascii_uppercase();
        for provider in &self.providers {
            match provider {
                Provider::Static(values) => {
                    if let Some(v) = values.get(name) {
                        return Some(v.clone());
                    }
                }
                Provider::Env { prefix, dotenv } => {
                    let key = format!("{prefix}_{upper}");
                    if let Some(v) = std::env::var(&key)
                        .ok()
                        .or_else(|| dotenv.get(&key).cloned())
                    {
                        return Some(v);
                    }
                }
            }
        }
        let key = format!("SPIN_VARIABLE_{upper}");
        std::env::var(&key)
            .ok()
            .or_else(|| self.cwd_dotenv.get(&key).cloned())
            .or_else(|| self.declared.get(name).and_then(|d| d.default.clone()))
    }

    /// Renders an expression for startup-time uses (e.g. outbound host templates).
    pub fn render_for_startup(&self, text: &str) -> Result<String> {
        let template = Template::parse(text)?;
        template
            .render(|name| {
                self.lookup(name)
                    .ok_or_else(|| format!("no value for variable {name:?}"))
            })
            .map_err(anyhow::Error::msg)
    }

    /// The guest-facing `get`: the component's template, rendered now.
    pub fn get(&self, component_id: &str, name: &str) -> Result<String, VarError> {
        check_key(name).map_err(VarError::InvalidName)?;
        let template = self
            .templates
            .get(component_id)
            .and_then(|t| t.get(name))
            .ok_or_else(|| {
                VarError::Undefined(format!("no variable for {component_id:?}.{name:?}"))
            })?;
        template
            .render(|var| {
                self.lookup(var)
                    .ok_or_else(|| format!("no provider resolved required variable {var:?}"))
            })
            .map_err(VarError::Provider)
    }
}

fn read_dotenv(path: &Path) -> BTreeMap<String, String> {
    match dotenvy::from_path_iter(path) {
        Ok(iter) => iter.filter_map(|item| item.ok()).collect(),
        Err(_) => BTreeMap::new(),
    }
}

/// Spin's runtime key rules for `get`.
fn check_key(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!("{name:?}: invalid character {c:?}. Variable names may contain only lower-case letters, numbers, and underscores."));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("{name:?}: must start with a letter"));
    }
    if name.ends_with('_') {
        return Err(format!("{name:?}: must end with a letter or number"));
    }
    if name.contains("__") {
        return Err(format!(
            "{name:?}: must not contain multiple consecutive underscores"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_key_rules() {
        assert!(check_key("api_key").is_ok());
        assert!(check_key("Api")
            .unwrap_err()
            .contains("invalid character 'A'"));
        assert!(check_key("a__b").is_err());
        assert!(check_key("a_").is_err());
        assert!(check_key("1a").is_err());
    }
}
