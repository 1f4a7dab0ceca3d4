//! `cargo xtask build`: the wasm target, the components (like `spin build`, also those of
//! spin.composed.toml's compositions), the host.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::setup::{self, Profile};
use crate::topology::Topology;

pub fn run(options: &[String], passthrough: &[String]) -> Result<()> {
    let mut options = options.to_vec();
    let profile = if crate::take_flag(&mut options, "--release") {
        Profile::Release
    } else {
        Profile::Dev
    };
    crate::reject_unknown("build", &options, None)?;
    crate::reject_passthrough("build", passthrough)?;
    build(profile, Components::App)
}

/// Which Spin manifests to build the components of.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Components {
    /// The application's manifests (`spin.toml`, `spin.composed.toml`).
    App,
    /// The application's and the test apps' (`tests/apps/*/spin.toml`).
    AppAndTestApps,
}

/// Installs the wasm target if needed, builds the host, then the components
/// with the host's own `spin build` equivalent (`spin-host build`).
pub fn build(profile: Profile, components: Components) -> Result<()> {
    setup::ensure_wasm_target()?;
    warn_if_target_dir_moved();
    setup::build_host(profile)?;

    // Both topologies' manifests: the composed one adds the edge to the same services.
    let mut manifests: Vec<PathBuf> = Topology::ALL
        .iter()
        .map(|topology| topology.manifest())
        .filter(|manifest| manifest.is_file())
        .collect();
    if components == Components::AppAndTestApps {
        manifests.extend(test_app_manifests()?);
    }
    for manifest in &manifests {
        println!("Building the components of {}", display_from_root(manifest));
        setup::run(
            std::process::Command::new(setup::host_binary(profile))
                .arg("build")
                .arg("--from")
                .arg(manifest)
                .current_dir(setup::repo_root()),
        )?;
    }
    Ok(())
}

/// `tests/apps/*/spin.toml`, sorted.
fn test_app_manifests() -> Result<Vec<PathBuf>> {
    let apps_dir = setup::repo_root().join("tests/apps");
    if !apps_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut manifests = Vec::new();
    for entry in std::fs::read_dir(&apps_dir)
        .with_context(|| format!("could not list {}", apps_dir.display()))?
    {
        let manifest = entry?.path().join("spin.toml");
        if manifest.is_file() {
            manifests.push(manifest);
        }
    }
    manifests.sort();
    Ok(manifests)
}

/// Component `source` paths in the manifests point into `<repo>/target`; a different
/// `CARGO_TARGET_DIR` sends the component builds elsewhere.
fn warn_if_target_dir_moved() {
    if setup::target_dir() != setup::repo_root().join("target") {
        eprintln!(
            "warning: CARGO_TARGET_DIR is set ({}); the components are built there, but the \
             manifests load them from target/",
            setup::target_dir().display()
        );
    }
}

fn display_from_root(path: &std::path::Path) -> String {
    let root = setup::repo_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
