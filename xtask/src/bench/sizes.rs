//! The size of every component the benchmark serves, as built: each distinct local `source` of
//! the application's manifests (both topologies). Issue 13 holds each one under 500 KB: size
//! costs compile time, memory and per-instance initialisation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use toml::Value;

use crate::{setup, topology::Topology};

/// The most a component may weigh, in bytes (500 KB, decimal).
pub const LIMIT_BYTES: u64 = 500_000;

/// One built component.
pub struct ComponentSize {
    /// The file's name, e.g. `visits.wasm`.
    pub file: String,
    pub bytes: u64,
}

/// The sizes of the components the application's manifests load, by file name.
pub fn measure() -> Result<Vec<ComponentSize>> {
    let mut sources = BTreeMap::new();
    for topology in Topology::ALL {
        let manifest = topology.manifest();
        if manifest.is_file() {
            for source in local_sources(&manifest)? {
                let file = source
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_else(|| source.display().to_string());
                sources.insert(file, source);
            }
        }
    }
    sources
        .into_iter()
        .map(|(file, path)| {
            let bytes = std::fs::metadata(&path)
                .with_context(|| format!("could not read the size of {}", path.display()))?
                .len();
            Ok(ComponentSize { file, bytes })
        })
        .collect()
}

/// The local `source` files of a manifest's components (registry and URL sources are tables).
fn local_sources(manifest: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("could not read {}", manifest.display()))?;
    let parsed: Value =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", manifest.display()))?;
    let root = setup::repo_root();
    Ok(parsed
        .get("component")
        .and_then(Value::as_table)
        .into_iter()
        .flat_map(|components| components.values())
        .filter_map(|component| component.get("source").and_then(Value::as_str))
        .map(|source| root.join(source))
        .collect())
}

/// The table: one line per component, the largest first, each over the limit marked.
pub fn print(sizes: &[ComponentSize]) {
    println!();
    println!(
        "component sizes (release .wasm; limit {} KB each):",
        LIMIT_BYTES / 1000
    );
    let mut sorted: Vec<&ComponentSize> = sizes.iter().collect();
    sorted.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.file.cmp(&b.file)));
    for size in sorted {
        let mark = if size.bytes > LIMIT_BYTES {
            "  OVER THE LIMIT"
        } else {
            ""
        };
        println!(
            "  {:<16} {:>8.1} KB{mark}",
            size.file,
            size.bytes as f64 / 1000.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_sources_are_listed() {
        let dir = std::env::temp_dir().join(format!("xtask-sizes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("spin.toml");
        std::fs::write(
            &manifest,
            "spin_manifest_version = 2\n\
             [component.a]\nsource = \"target/a.wasm\"\n\
             [component.b]\nsource = { url = \"https://example.com/b.wasm\", digest = \"x\" }\n",
        )
        .unwrap();
        let sources = local_sources(&manifest).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(sources, vec![setup::repo_root().join("target/a.wasm")]);
    }

    #[test]
    fn the_application_lists_every_service_and_the_edge() {
        let mut files = Vec::new();
        for topology in Topology::ALL {
            for source in local_sources(&topology.manifest()).unwrap() {
                files.push(source.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        for expected in ["gateway.wasm", "visits.wasm", "events.wasm", "edge.wasm"] {
            assert!(
                files.iter().any(|file| file == expected),
                "{expected}: {files:?}"
            );
        }
    }
}
