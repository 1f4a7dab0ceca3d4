//! Loading a manifest: the raw shapes turned into the model, with the
//! validation Spin does at trigger start (routes, labels, variables), so the
//! host fails before serving.

use super::names::{check_component_id, check_label, check_variable_name};
use super::raw::{RawCommand, RawComponent, RawManifest, RawSource};
use super::{
    route_syntax, template, App, BuildDecl, ComponentDecl, HttpTrigger, RouteDecl, StaticResponse,
    TriggerTarget, VariableDecl,
};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

impl App {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<App> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Self::parse(&text, &dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; `dir` is where relative paths resolve.
    pub fn parse(text: &str, dir: &Path) -> Result<App> {
        let raw: RawManifest = toml::from_str(text)?;
        match &raw.spin_manifest_version {
            toml::Value::Integer(2) => {}
            toml::Value::String(s) if s == "1" => {
                bail!("manifest version 1 is not supported by this host; use `spin_manifest_version = 2`")
            }
            other => {
                bail!("invalid manifest version {other}: expected `spin_manifest_version = 2`")
            }
        }
        if let Some(trigger) = &raw.application.trigger {
            check_application_trigger(trigger)?;
        }
        let _ = (
            &raw.application.authors,
            &raw.application.targets,
            &raw.application.tool,
        );

        let mut variables = BTreeMap::new();
        for (name, var) in raw.variables {
            check_variable_name(&name).with_context(|| format!("variable `{name}`"))?;
            if var.required == var.default.is_some() {
                bail!("variable `{name}`: must be `required` OR have a `default`");
            }
            variables.insert(
                name,
                VariableDecl {
                    default: var.default,
                    required: var.required,
                    secret: var.secret,
                },
            );
        }

        let mut components = BTreeMap::new();
        for (id, raw_component) in raw.component {
            let component = ComponentDecl::from_raw(&id, raw_component, dir)
                .with_context(|| format!("component `{id}`"))?;
            components.insert(id, component);
        }
        super::dependencies::resolve_components(&mut components)?;

        let mut http_triggers = Vec::new();
        for (kind, entries) in raw.trigger {
            if kind != "http" {
                bail!("trigger type `{kind}` is not supported by this host (only `http`)");
            }
            for (index, entry) in entries.into_iter().enumerate() {
                let trigger = HttpTrigger::from_raw(entry, index, &components)
                    .with_context(|| format!("[[trigger.http]] entry {}", index + 1))?;
                http_triggers.push(trigger);
            }
        }
        if http_triggers.is_empty() {
            bail!("No triggers in app");
        }

        let app = App {
            name: raw.application.name,
            version: raw.application.version,
            dir: dir.to_path_buf(),
            variables,
            components,
            http_triggers,
        };
        app.check_component_variables()?;
        Ok(app)
    }

    fn check_component_variables(&self) -> Result<()> {
        for component in self.triggered_components() {
            for (key, template) in &component.variables {
                let parsed = template::Template::parse(template).with_context(|| {
                    format!(
                        "component `{}` variable `{key}`: invalid variable template",
                        component.id
                    )
                })?;
                for name in parsed.referenced() {
                    if !self.variables.contains_key(name) {
                        bail!(
                            "component `{}` variable `{key}`: invalid variable template: unknown variable `{name}`",
                            component.id
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

impl ComponentDecl {
    fn from_raw(id: &str, raw: RawComponent, dir: &Path) -> Result<ComponentDecl> {
        check_component_id(id)?;
        let source = match raw.source {
            RawSource::Local(path) => dir.join(path),
            RawSource::Remote(_) => {
                bail!("`source`: only local file sources are supported by this host")
            }
        };
        for key in raw.variables.keys() {
            check_variable_name(key).with_context(|| format!("variable `{key}`"))?;
        }
        for label in raw.key_value_stores.iter().chain(&raw.sqlite_databases) {
            check_label(label)?;
        }
        if !raw.files.is_empty() || !raw.exclude_files.is_empty() {
            bail!("`files`: mounting files is not supported by this host yet");
        }
        if !raw.ai_models.is_empty() {
            bail!("`ai_models`: not supported by this host");
        }
        let dependencies = super::dependencies::parse(
            raw.dependencies,
            raw.dependencies_inherit_configuration,
            dir,
        )?;
        let _ = (&raw.targets, &raw.tool, &raw.profile);
        let mut allowed_outbound_hosts = raw.allowed_outbound_hosts;
        for host in raw.allowed_http_hosts {
            tracing::warn!("component `{id}`: `allowed_http_hosts` is deprecated; use `allowed_outbound_hosts`");
            match host.as_str() {
                "insecure:allow-all" => {
                    allowed_outbound_hosts.push("http://*:*".into());
                    allowed_outbound_hosts.push("https://*:*".into());
                }
                "self" => allowed_outbound_hosts.push("http://self".into()),
                other => {
                    allowed_outbound_hosts.push(format!("http://{other}"));
                    allowed_outbound_hosts.push(format!("https://{other}"));
                }
            }
        }
        let build = match raw.build {
            None => None,
            Some(build) => {
                let commands = match build.command {
                    RawCommand::One(c) => vec![c],
                    RawCommand::Many(cs) => cs,
                };
                let workdir = match build.workdir {
                    Some(w) if Path::new(&w).is_absolute() => bail!(
                        "`build.workdir`: The workdir specified in the application file must be relative."
                    ),
                    other => other.map(PathBuf::from),
                };
                Some(BuildDecl { commands, workdir })
            }
        };
        Ok(ComponentDecl {
            id: id.to_string(),
            description: raw.description,
            source,
            variables: raw.variables,
            environment: raw.environment,
            allowed_outbound_hosts,
            key_value_stores: raw.key_value_stores,
            sqlite_databases: raw.sqlite_databases,
            build,
            dependencies,
        })
    }
}

impl HttpTrigger {
    fn from_raw(
        mut entry: toml::Table,
        index: usize,
        components: &BTreeMap<String, ComponentDecl>,
    ) -> Result<HttpTrigger> {
        let route = match entry.remove("route") {
            None => bail!("missing field `route`"),
            Some(toml::Value::String(route)) => {
                route_syntax::check_route_syntax(&route)
                    .with_context(|| format!("invalid route `{route}`"))?;
                RouteDecl::Public(route)
            }
            Some(toml::Value::Table(t))
                if t.len() == 1 && t.get("private") == Some(&toml::Value::Boolean(true)) =>
            {
                RouteDecl::Private
            }
            Some(_) => bail!("route must be a string pattern or '{{ private = true }}'"),
        };
        let component = entry.remove("component");
        let static_response = entry.remove("static_response");
        let id = match entry.remove("id") {
            Some(toml::Value::String(id)) => Some(id),
            None => None,
            Some(_) => bail!("`id` must be a string"),
        };
        match entry.remove("executor") {
            None => {}
            Some(toml::Value::Table(t))
                if matches!(
                    t.get("type").and_then(|v| v.as_str()),
                    Some("http" | "spin")
                ) => {}
            Some(_) => bail!("`executor`: only the `http` executor is supported by this host"),
        }
        if let Some(key) = entry.keys().next() {
            bail!("unknown field `{key}`, expected one of `route`, `component`, `static_response`, `executor`, `id`");
        }
        let target = match (component, static_response) {
            (Some(toml::Value::String(c)), None) => {
                if !components.contains_key(&c) {
                    bail!("no such component {c:?}");
                }
                TriggerTarget::Component(c)
            }
            (Some(toml::Value::Table(_)), None) => {
                bail!("inline components are not supported by this host; declare [component.<id>]")
            }
            (None, Some(toml::Value::Table(t))) => TriggerTarget::Static(parse_static_response(t)?),
            (None, None) => {
                bail!("a trigger must have either a `component` or a `static_response`")
            }
            (Some(_), Some(_)) => {
                bail!("a trigger cannot have both a `component` and a `static_response`")
            }
            _ => bail!("`component` must be a component id string"),
        };
        let id = id.unwrap_or_else(|| match &target {
            TriggerTarget::Component(c) => format!("{c}-http-trigger"),
            TriggerTarget::Static(_) => format!("http-trigger{}", index + 1),
        });
        Ok(HttpTrigger { id, route, target })
    }
}

fn parse_static_response(table: toml::Table) -> Result<StaticResponse> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        status_code: Option<u16>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        body: String,
    }
    let raw: Raw = table.try_into().context("`static_response`")?;
    Ok(StaticResponse {
        status: raw.status_code.unwrap_or(200),
        headers: raw.headers,
        body: raw.body,
    })
}

fn check_application_trigger(trigger: &toml::Table) -> Result<()> {
    for (kind, settings) in trigger {
        if kind != "http" {
            continue;
        }
        if let Some(base) = settings.get("base").and_then(|b| b.as_str()) {
            if base == "/" {
                tracing::warn!("`application.trigger.http.base` is deprecated and has no effect");
            } else {
                bail!("`application.trigger.http.base` is not supported: prefix each route with {base:?} instead");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<App> {
        App::parse(text, Path::new("/app"))
    }

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[[trigger.http]]
route = "/hello"
component = "hello"
[component.hello]
source = "hello.wasm"
"#;

    #[test]
    fn minimal_manifest_loads_with_default_trigger_id() {
        let app = parse(MINIMAL).unwrap();
        assert_eq!(app.name, "demo");
        assert_eq!(app.http_triggers[0].id, "hello-http-trigger");
        assert_eq!(app.components["hello"].source, Path::new("/app/hello.wasm"));
    }

    #[test]
    fn unknown_component_field_is_named() {
        let err = parse(&MINIMAL.replace("source =", "sorce = 1\nsource =")).unwrap_err();
        assert!(format!("{err:#}").contains("sorce"), "{err:#}");
    }

    #[test]
    fn unknown_component_in_trigger_is_rejected() {
        let err =
            parse(&MINIMAL.replace("component = \"hello\"", "component = \"nope\"")).unwrap_err();
        assert!(
            format!("{err:#}").contains("no such component \"nope\""),
            "{err:#}"
        );
    }

    #[test]
    fn bad_route_is_rejected() {
        let err = parse(&MINIMAL.replace("/hello", "/:")).unwrap_err();
        assert!(format!("{err:#}").contains("invalid route"), "{err:#}");
    }

    #[test]
    fn private_route_false_is_rejected() {
        let err = parse(&MINIMAL.replace("\"/hello\"", "{ private = false }")).unwrap_err();
        assert!(format!("{err:#}").contains("private = true"), "{err:#}");
    }

    #[test]
    fn variable_needs_required_or_default() {
        let text = format!("{MINIMAL}\n[variables]\nx = {{ secret = true }}\n");
        let err = parse(&text).unwrap_err();
        assert!(format!("{err:#}").contains("must be `required` OR have a `default`"));
    }

    #[test]
    fn template_naming_undeclared_variable_is_rejected() {
        let text = MINIMAL.replace(
            "source = \"hello.wasm\"",
            "source = \"hello.wasm\"\nvariables = { a = \"{{ nope }}\" }",
        );
        let err = parse(&text).unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown variable `nope`"),
            "{err:#}"
        );
    }

    #[test]
    fn app_without_triggers_is_rejected() {
        let err = parse("spin_manifest_version = 2\n[application]\nname = \"x\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("No triggers"));
    }
}
