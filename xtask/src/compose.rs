//! `cargo xtask compose`: the composed topology's compositions as standalone components (what
//! `wac plug` writes), for running them elsewhere. Every component of `spin.composed.toml`
//! that names another component as the dependency for `wasi:http/incoming-handler` is its
//! `source` (the edge) with that component's `source` (the service) plugged into it; the result
//! goes to `target/composed/<service>.wasm`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use toml::Value;

use crate::setup;

/// The manifest of the composed topology, beside `spin.toml`.
pub const MANIFEST: &str = "spin.composed.toml";

pub fn run(options: &[String], passthrough: &[String]) -> Result<()> {
    let mut options = options.to_vec();
    let skip_build = crate::take_flag(&mut options, "--no-build");
    crate::reject_unknown("compose", &options, None)?;
    crate::reject_passthrough("compose", passthrough)?;
    let (manifest, pairs) = read_pairs()?;
    if !skip_build {
        build(&manifest, &pairs)?;
    }
    let out_dir = setup::target_dir().join("composed");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("could not create {}", out_dir.display()))?;
    for pair in &pairs {
        let written = compose(&manifest, pair, &out_dir)?;
        println!(
            "Composed {} into {}: {} ({} KB)",
            pair.service,
            pair.middleware,
            relative(&written.0),
            written.1 / 1024
        );
    }
    Ok(())
}

fn read_pairs() -> Result<(Value, Vec<Pair>)> {
    let manifest = read_manifest(&setup::repo_root().join(MANIFEST))?;
    let pairs = plugged_pairs(&manifest)?;
    if pairs.is_empty() {
        bail!(
            "{MANIFEST} plugs no component into another (no `[component.X.dependencies]` with \"{}\" = {{ component = \"...\" }})",
            plug::HTTP_HANDLER
        );
    }
    Ok((manifest, pairs))
}

/// A component of the manifest whose incoming-handler import is another component.
pub struct Pair {
    /// The component whose `source` is the middleware (e.g. `visits-edge`).
    pub middleware: String,
    /// The component plugged into it (e.g. `visits`).
    pub service: String,
}

fn read_manifest(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))
}

fn components(manifest: &Value) -> Result<&toml::map::Map<String, Value>> {
    manifest
        .get("component")
        .and_then(Value::as_table)
        .with_context(|| format!("{MANIFEST} declares no [component.*]"))
}

/// Every middleware/service pair of the manifest, by component id.
pub fn plugged_pairs(manifest: &Value) -> Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for (id, component) in components(manifest)? {
        let Some(dependency) = component
            .get("dependencies")
            .and_then(|deps| deps.get(plug::HTTP_HANDLER))
        else {
            continue;
        };
        let Some(service) = dependency.get("component").and_then(Value::as_str) else {
            bail!("[component.{id}.dependencies] \"{}\": only {{ component = \"...\" }} is composed here", plug::HTTP_HANDLER);
        };
        pairs.push(Pair {
            middleware: id.clone(),
            service: service.to_owned(),
        });
    }
    Ok(pairs)
}

/// Runs each distinct build command of the components involved once, from the repository root
/// (as `spin build` runs them).
fn build(manifest: &Value, pairs: &[Pair]) -> Result<()> {
    let mut commands = BTreeSet::new();
    for id in pairs
        .iter()
        .flat_map(|pair| [&pair.middleware, &pair.service])
    {
        if let Some(command) = component(manifest, id)?
            .get("build")
            .and_then(|build| build.get("command"))
            .and_then(Value::as_str)
        {
            commands.insert(command.to_owned());
        }
    }
    for command in commands {
        println!("Building: {command}");
        setup::run(
            Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(setup::repo_root()),
        )?;
    }
    Ok(())
}

fn component<'a>(manifest: &'a Value, id: &str) -> Result<&'a Value> {
    components(manifest)?
        .get(id)
        .with_context(|| format!("{MANIFEST} has no [component.{id}]"))
}

fn source(manifest: &Value, id: &str) -> Result<PathBuf> {
    let source = component(manifest, id)?
        .get("source")
        .and_then(Value::as_str)
        .with_context(|| format!("[component.{id}] has no local `source` file"))?;
    Ok(setup::repo_root().join(source))
}

/// Writes one composition; returns its path and size.
fn compose(manifest: &Value, pair: &Pair, out_dir: &Path) -> Result<(PathBuf, usize)> {
    let read = |id: &str| -> Result<Vec<u8>> {
        let path = source(manifest, id)?;
        std::fs::read(&path).with_context(|| {
            format!(
                "could not read {} (the source of {id}; build it or drop --no-build)",
                path.display()
            )
        })
    };
    let (middleware, service) = (read(&pair.middleware)?, read(&pair.service)?);
    let composed = plug::plug(
        plug::Component {
            name: &pair.middleware,
            bytes: &middleware,
        },
        plug::Component {
            name: &pair.service,
            bytes: &service,
        },
    )?;
    let path = out_dir.join(format!("{}.wasm", pair.service));
    std::fs::write(&path, &composed)
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok((path, composed.len()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(setup::repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Value {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn each_component_dependency_on_the_handler_is_a_pair() {
        let pairs = plugged_pairs(&manifest(
            r#"
            [component.visits]
            source = "visits.wasm"
            [component.visits-edge]
            source = "edge.wasm"
            [component.visits-edge.dependencies]
            "wasi:http/incoming-handler@0.2.0" = { component = "visits" }
            "#,
        ))
        .unwrap();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|pair| (pair.middleware.as_str(), pair.service.as_str()))
            .collect();
        assert_eq!(pairs, [("visits-edge", "visits")]);
    }

    #[test]
    fn a_dependency_that_is_no_component_of_the_app_is_refused() {
        let err = plugged_pairs(&manifest(
            r#"
            [component.edge]
            source = "edge.wasm"
            [component.edge.dependencies]
            "wasi:http/incoming-handler@0.2.0" = { path = "other.wasm" }
            "#,
        ))
        .err()
        .expect("a path dependency is not composed here");
        assert!(
            err.to_string().contains("component.edge.dependencies"),
            "{err}"
        );
    }

    #[test]
    fn the_repositorys_composed_manifest_pairs_every_service() {
        let (manifest, pairs) = read_pairs().unwrap();
        assert_eq!(pairs.len(), 7);
        for pair in &pairs {
            assert_eq!(pair.middleware, format!("{}-edge", pair.service));
            assert!(source(&manifest, &pair.service).is_ok());
        }
    }
}
