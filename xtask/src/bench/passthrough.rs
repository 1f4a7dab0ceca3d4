//! The composition's own cost: the composed topology with the visits edge swapped for a
//! middleware that passes every request on untouched (the host tests' `deps-middleware`). Its
//! read, beside the composed and direct ones, splits what composing costs (a second component
//! in the instance, the handler call between them) from what the edge's rules cost.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::setup;
use crate::topology::Topology;

/// The crate of the pass-through middleware, and its `.wasm` under the release target dir.
const MIDDLEWARE_CRATE: &str = "deps-middleware";
const MIDDLEWARE_WASM: &str = "deps_middleware.wasm";
/// Where the visits edge takes its code from in `spin.composed.toml`.
const VISITS_EDGE: &str = "[component.visits-edge]";
const EDGE_SOURCE: &str = "source = \"target/wasm32-wasip2/release/edge.wasm\"";

/// Builds the middleware (it is a test component, outside the app's manifests).
pub fn build_middleware() -> Result<()> {
    setup::run(setup::cargo().args([
        "build",
        "--target",
        "wasm32-wasip2",
        "--release",
        "-p",
        MIDDLEWARE_CRATE,
    ]))
}

/// A copy of `spin.composed.toml` in `dir` whose visits edge is the pass-through middleware;
/// sources point at the repository's build output.
pub fn passthrough_manifest(dir: &Path) -> Result<PathBuf> {
    let root = setup::repo_root();
    let composed = Topology::Composed.manifest();
    let manifest = std::fs::read_to_string(&composed)
        .with_context(|| format!("reading {}", composed.display()))?;
    let variant = with_passthrough_visits_edge(&manifest, &root)?;
    let path = dir.join("spin.passthrough.toml");
    std::fs::write(&path, variant).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn with_passthrough_visits_edge(manifest: &str, root: &Path) -> Result<String> {
    let edge = manifest
        .find(VISITS_EDGE)
        .context("spin.composed.toml no longer has the visits-edge component")?;
    let source = manifest[edge..]
        .find(EDGE_SOURCE)
        .map(|offset| edge + offset);
    let next_component = manifest[edge + VISITS_EDGE.len()..]
        .find("[component.")
        .map_or(manifest.len(), |offset| edge + VISITS_EDGE.len() + offset);
    let Some(source) = source.filter(|&source| source < next_component) else {
        bail!(
            "visits-edge in spin.composed.toml no longer takes its code from the edge in the \
             form the benchmark rewrites"
        );
    };
    let middleware = root
        .join("target/wasm32-wasip2/release")
        .join(MIDDLEWARE_WASM);
    let variant = format!(
        "{}source = \"{}\"{}",
        &manifest[..source],
        middleware.display(),
        &manifest[source + EDGE_SOURCE.len()..]
    );
    Ok(variant.replace(
        "source = \"target/",
        &format!("source = \"{}/target/", root.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_visits_edge_becomes_the_pass_through_middleware() {
        let manifest = std::fs::read_to_string(Topology::Composed.manifest()).unwrap();
        let variant = with_passthrough_visits_edge(&manifest, Path::new("/repo")).unwrap();
        let visits_edge = &variant[variant.find(VISITS_EDGE).unwrap()..];
        let visits_edge = &visits_edge[..visits_edge.find("[[trigger").unwrap()];
        assert!(visits_edge
            .contains("source = \"/repo/target/wasm32-wasip2/release/deps_middleware.wasm\""));
        assert!(visits_edge.contains("{ component = \"visits\" }"));
        // The other services keep their edge.
        assert_eq!(
            variant
                .matches("/repo/target/wasm32-wasip2/release/edge.wasm")
                .count(),
            manifest.matches(EDGE_SOURCE).count() - 1
        );
        assert!(!variant.contains("source = \"target/"));
    }

    #[test]
    fn a_manifest_without_the_visits_edge_is_refused() {
        let err = with_passthrough_visits_edge("[component.visits]\n", Path::new("/r"));
        assert!(err.is_err());
    }
}
