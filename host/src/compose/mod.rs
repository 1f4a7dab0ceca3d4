//! Component dependencies (`[component.<id>.dependencies]`), composed at
//! load time with `wac-graph`: each dependency is instantiated and its
//! export plugged into the parent's import; the parent's exports are the
//! result's exports, and the dependencies' own imports become its imports.
//!
//! - `plan`: which dependency fills which import (SIP 020's rules);
//! - `rename`: a non-inheriting dependency's capability imports moved aside;
//! - `deny`: the linker's denials for those moved imports.

pub mod deny;
mod plan;
mod rename;

use crate::manifest::DependencyDecl;
use anyhow::{anyhow, Context, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions};

/// Whether `import` is a non-inheriting dependency's capability, moved
/// aside by composition and linked by [`deny::link_denied_imports`].
pub fn is_denied_import(import: &str) -> bool {
    import
        .strip_prefix(rename::DENIED_NAMESPACE)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// A dependency with its wasm read.
pub struct Dependency<'a> {
    pub decl: &'a DependencyDecl,
    pub bytes: &'a [u8],
}

/// `parent` with every import its dependencies fill plugged.
pub fn compose(parent: &[u8], dependencies: &[Dependency<'_>]) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let parent = Package::from_bytes("root:component", None, parent, graph.types_mut())
        .context("cannot read the component's imports")?;
    let imports: Vec<String> = graph.types()[parent.ty()].imports.keys().cloned().collect();
    let decls: Vec<DependencyDecl> = dependencies.iter().map(|d| d.decl.clone()).collect();
    let plugs = plan::plan(&imports, &decls)?;

    let parent_exports: Vec<String> = graph.types()[parent.ty()].exports.keys().cloned().collect();
    let parent = graph.register_package(parent)?;
    let parent_instance = graph.instantiate(parent);
    let mut instances = Vec::new();
    for (index, dependency) in dependencies.iter().enumerate() {
        let name = &dependency.decl.name;
        let bytes = if dependency.decl.inherit {
            dependency.bytes.to_vec()
        } else {
            rename::deny_capabilities(dependency.bytes)
                .with_context(|| format!("dependency \"{name}\": not a valid component"))?
        };
        let package = Package::from_bytes(
            &format!("dependency:number{index}"),
            None,
            bytes,
            graph.types_mut(),
        )
        .with_context(|| format!("dependency \"{name}\": not a valid component"))?;
        let exports: Vec<String> = graph.types()[package.ty()]
            .exports
            .keys()
            .cloned()
            .collect();
        let package = graph.register_package(package)?;
        instances.push((graph.instantiate(package), exports));
    }
    for plug in &plugs {
        let decl = dependencies[plug.dependency].decl;
        let (instance, exports) = &instances[plug.dependency];
        let export = match &plug.export {
            Some(export) => export.clone(),
            None => default_export(&plug.import, exports).ok_or_else(|| {
                anyhow!(
                    "dependency \"{}\" has no export `{}` (it exports: {}); name one with `export`",
                    decl.name,
                    plug.import,
                    exports.join(", ")
                )
            })?,
        };
        let value = graph
            .alias_instance_export(*instance, &export)
            .with_context(|| format!("dependency \"{}\": no export `{export}`", decl.name))?;
        graph
            .set_instantiation_argument(parent_instance, &plug.import, value)
            .with_context(|| {
                format!(
                    "dependency \"{}\": its export `{export}` cannot fill import `{}`",
                    decl.name, plug.import
                )
            })?;
    }
    for name in parent_exports {
        let export = graph.alias_instance_export(parent_instance, &name)?;
        graph.export(export, &name)?;
    }
    graph
        .encode(EncodeOptions::default())
        .context("cannot encode the composed component")
}

/// The export named like `import`, or one at a semver-compatible version.
fn default_export(import: &str, exports: &[String]) -> Option<String> {
    exports
        .iter()
        .find(|e| *e == import)
        .or_else(|| {
            exports
                .iter()
                .find(|e| wac_graph::types::are_semver_compatible(e, import))
        })
        .cloned()
}
