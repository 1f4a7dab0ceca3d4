//! `[component.<id>.dependencies]` and the inheritance settings: which
//! components fill which imports, and whether they share the parent's
//! capabilities. Sources this host cannot load are refused here, at startup.

use super::dependency_name::DependencyName;
use super::ComponentDecl;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One dependency of a component.
#[derive(Debug, Clone)]
pub struct DependencyDecl {
    /// The key, as parsed.
    pub name: DependencyName,
    /// The dependency's wasm file; for `{ component = "id" }`, that
    /// component's source (filled in once every component is read).
    pub path: PathBuf,
    /// `{ component = "id" }`: the component whose source it is.
    pub component: Option<String>,
    /// The dependency's export to plug in; by default the export named
    /// like the import it fills.
    pub export: Option<String>,
    /// Whether it shares the parent's capabilities.
    pub inherit: bool,
}

/// Reads the `dependencies` table; `inherit_all` is the component's
/// `dependencies_inherit_configuration`.
pub(super) fn parse(
    table: Option<toml::Value>,
    inherit_all: Option<bool>,
    dir: &Path,
) -> Result<Vec<DependencyDecl>> {
    let Some(table) = table else {
        return Ok(Vec::new());
    };
    let toml::Value::Table(table) = table else {
        bail!("`dependencies` must be a table");
    };
    let mut dependencies = Vec::new();
    for (key, value) in table {
        let dependency = parse_one(&key, value, inherit_all, dir)
            .with_context(|| format!("dependency {key:?}"))?;
        dependencies.push(dependency);
    }
    Ok(dependencies)
}

fn parse_one(
    key: &str,
    value: toml::Value,
    inherit_all: Option<bool>,
    dir: &Path,
) -> Result<DependencyDecl> {
    let name = DependencyName::parse(key)?;
    let mut fields = match value {
        toml::Value::Table(fields) => fields,
        toml::Value::String(_) => bail!(registry_refusal()),
        _ => bail!("a dependency must be a version string or a table"),
    };
    let mut take_string = |field: &str| -> Result<Option<String>> {
        match fields.remove(field) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(_) => bail!("`{field}` must be a string"),
        }
    };
    let path = take_string("path")?;
    let component = take_string("component")?;
    let export = take_string("export")?;
    if fields.contains_key("version") || fields.contains_key("registry") {
        bail!(registry_refusal());
    }
    if fields.contains_key("url") {
        bail!(
            "dependencies downloaded from a URL are not supported by this host; use a local `path`"
        );
    }
    let inherit = match (fields.remove("inherit_configuration"), inherit_all) {
        (Some(_), Some(_)) => bail!(
            "`inherit_configuration` cannot be combined with the component's `dependencies_inherit_configuration`"
        ),
        (Some(toml::Value::Boolean(inherit)), None) => inherit,
        (Some(_), None) => bail!(
            "`inherit_configuration`: only `true` or `false` is supported by this host (not a list of capabilities)"
        ),
        (None, inherit_all) => inherit_all.unwrap_or(false),
    };
    if let Some(field) = fields.keys().next() {
        bail!("unknown field `{field}`, expected one of `path`, `component`, `export`, `inherit_configuration`");
    }
    let (path, component) = match (path, component) {
        (Some(path), None) => (dir.join(path), None),
        (None, Some(id)) => (PathBuf::new(), Some(id)),
        (Some(_), Some(_)) => bail!("a dependency has either a `path` or a `component`, not both"),
        (None, None) => bail!("a dependency needs a `path` or a `component`"),
    };
    Ok(DependencyDecl {
        name,
        path,
        component,
        export,
        inherit,
    })
}

fn registry_refusal() -> &'static str {
    "registry dependencies are not supported by this host; use a local `{ path = \"...\" }` or `{ component = \"id\" }`"
}

/// Points every `{ component = "id" }` dependency at that component's source.
pub(super) fn resolve_components(components: &mut BTreeMap<String, ComponentDecl>) -> Result<()> {
    let sources: BTreeMap<String, PathBuf> = components
        .iter()
        .map(|(id, c)| (id.clone(), c.source.clone()))
        .collect();
    for (id, component) in components.iter_mut() {
        for dependency in &mut component.dependencies {
            let Some(target) = &dependency.component else {
                continue;
            };
            if target == id {
                bail!(
                    "component `{id}`: dependency \"{}\" names the component itself",
                    dependency.name
                );
            }
            let Some(source) = sources.get(target) else {
                bail!(
                    "component `{id}`: dependency \"{}\" names component `{target}`, which is not in the app",
                    dependency.name
                );
            };
            dependency.path = source.clone();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::manifest::App;
    use anyhow::Result;
    use std::path::Path;

    fn parse(dependencies: &str, extra: &str) -> Result<App> {
        let text = format!(
            r#"spin_manifest_version = 2
[application]
name = "demo"
[[trigger.http]]
route = "/..."
component = "api"
[component.api]
source = "api.wasm"
{extra}
[component.api.dependencies]
{dependencies}
[component.lib]
source = "lib/lib.wasm"
"#
        );
        App::parse(&text, Path::new("/app"))
    }

    fn error(dependencies: &str, extra: &str) -> String {
        format!("{:#}", parse(dependencies, extra).unwrap_err())
    }

    #[test]
    fn paths_resolve_against_the_manifest_and_components_to_their_source() {
        let app = parse(
            r#""a:b/c" = { path = "deps/c.wasm", export = "a:b/d" }
"a:e" = { component = "lib" }"#,
            "dependencies_inherit_configuration = true",
        )
        .unwrap();
        let deps = &app.components["api"].dependencies;
        assert_eq!(deps[0].path, Path::new("/app/deps/c.wasm"));
        assert_eq!(deps[0].export.as_deref(), Some("a:b/d"));
        assert_eq!(deps[1].path, Path::new("/app/lib/lib.wasm"));
        assert!(deps.iter().all(|d| d.inherit));
    }

    #[test]
    fn inheritance_is_off_unless_asked_for() {
        let app = parse(
            r#""a:b" = { path = "x.wasm" }
"a:c" = { path = "x.wasm", inherit_configuration = true }"#,
            "",
        )
        .unwrap();
        let inherit: Vec<bool> = app.components["api"]
            .dependencies
            .iter()
            .map(|d| d.inherit)
            .collect();
        assert_eq!(inherit, [false, true]);
    }

    #[test]
    fn unsupported_or_contradictory_dependencies_are_refused() {
        for (dependencies, extra, expected) in [
            (
                r#""a:b" = "1.0.0""#,
                "",
                "registry dependencies are not supported",
            ),
            (
                r#""a:b" = { version = "1.0.0" }"#,
                "",
                "registry dependencies",
            ),
            (r#""a:b" = { url = "https://x/y.wasm" }"#, "", "URL"),
            (
                r#""a:b" = { path = "x.wasm", component = "lib" }"#,
                "",
                "not both",
            ),
            (r#""a:b" = {}"#, "", "needs a `path` or a `component`"),
            (
                r#""a:b" = { path = "x.wasm", colour = 1 }"#,
                "",
                "unknown field `colour`",
            ),
            (r#""a:b" = { component = "ghost" }"#, "", "not in the app"),
            (
                r#""a:b" = { component = "api" }"#,
                "",
                "the component itself",
            ),
            (
                r#""Not_kebab" = { path = "x.wasm" }"#,
                "",
                "invalid dependency name",
            ),
            (
                r#""a:b" = { path = "x.wasm", inherit_configuration = true }"#,
                "dependencies_inherit_configuration = false",
                "cannot be combined",
            ),
            (
                r#""a:b" = { path = "x.wasm", inherit_configuration = ["variables"] }"#,
                "",
                "only `true` or `false`",
            ),
        ] {
            let message = error(dependencies, extra);
            assert!(message.contains(expected), "{dependencies}: {message}");
        }
    }
}
