//! The gateway's part in the benchmark: the key on every scripted request, and the same read
//! served directly by the visits component (no gateway hop) to price the hop.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};

use crate::setup;

/// Sends the key with every request of a wrk script.
pub fn with_key(script: &str, key: &str) -> String {
    format!("wrk.headers[\"Authorization\"] = \"Bearer {key}\"\n{script}")
}

/// A copy of `spin.toml` in `dir` where visits also has its public route back, so its reads
/// skip the gateway; sources point at the repository's build output.
pub fn direct_manifest(dir: &Path) -> Result<PathBuf> {
    let root = setup::repo_root();
    let manifest = std::fs::read_to_string(root.join("spin.toml")).context("reading spin.toml")?;
    let private_visits = "route = { private = true }\ncomponent = \"visits\"";
    ensure!(
        manifest.contains(private_visits),
        "spin.toml no longer has visits' private trigger in the form the benchmark rewrites"
    );
    let variant = manifest
        .replace(
            private_visits,
            "route = \"/visits/...\"\ncomponent = \"visits\"",
        )
        .replace(
            "source = \"target/",
            &format!("source = \"{}/target/", root.display()),
        );
    let path = dir.join("spin.direct.toml");
    std::fs::write(&path, variant).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_variant_routes_visits_without_the_gateway() {
        let dir = std::env::temp_dir().join(format!("xtask-direct-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = std::fs::read_to_string(direct_manifest(&dir).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(manifest.contains("route = \"/visits/...\"\ncomponent = \"visits\""));
        assert!(manifest.contains("route = \"/...\"\ncomponent = \"gateway\""));
        assert!(!manifest.contains("source = \"target/"));
    }

    #[test]
    fn scripts_carry_the_key() {
        assert!(with_key("wrk.method = \"POST\"", "gwk_1")
            .starts_with("wrk.headers[\"Authorization\"] = \"Bearer gwk_1\"\n"));
    }
}
