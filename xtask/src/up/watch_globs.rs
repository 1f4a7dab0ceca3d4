//! Which files each component's build watches: the `watch` globs of its
//! `[component.<id>.build]` in spin.toml, relative to the build's `workdir` (else the
//! manifest's directory), as `spin watch` reads them.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use glob::{MatchOptions, Pattern};
use serde::Deserialize;

/// `*` and `?` stop at `/`; only `**` crosses directories.
const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// One component's `watch` globs.
pub struct ComponentWatch {
    pub id: String,
    /// The globs as spin.toml writes them, for messages.
    pub globs: Vec<String>,
    /// The same, made absolute.
    patterns: Vec<Pattern>,
}

impl ComponentWatch {
    /// Whether this component's build watches `file` (an absolute path).
    pub fn matches(&self, file: &Path) -> bool {
        self.patterns
            .iter()
            .any(|pattern| pattern.matches_path_with(file, MATCH))
    }

    /// The files the globs match now.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for pattern in &self.patterns {
            if let Ok(paths) = glob::glob_with(pattern.as_str(), MATCH) {
                files.extend(paths.flatten().filter(|path| path.is_file()));
            }
        }
        files
    }
}

/// The components whose builds watch any of `files`, in id order.
pub fn watching<'a>(watches: &'a [ComponentWatch], files: &[PathBuf]) -> Vec<&'a ComponentWatch> {
    watches
        .iter()
        .filter(|watch| files.iter().any(|file| watch.matches(file)))
        .collect()
}

/// The watches of `manifest`'s components, in id order; components without a build
/// command or without `watch` globs have none (like `spin watch`, which then only
/// watches their wasm; here the host does that).
pub fn read(manifest: &Path) -> Result<Vec<ComponentWatch>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("could not read {}", manifest.display()))?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    parse(&text, dir)
        .with_context(|| format!("could not read the `watch` globs of {}", manifest.display()))
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    component: BTreeMap<String, Component>,
}

#[derive(Deserialize)]
struct Component {
    build: Option<Build>,
}

#[derive(Deserialize)]
struct Build {
    workdir: Option<String>,
    #[serde(default)]
    watch: Vec<String>,
}

/// Parses the manifest `text`; `dir` is the directory the manifest is in.
fn parse(text: &str, dir: &Path) -> Result<Vec<ComponentWatch>> {
    let manifest: Manifest = toml::from_str(text)?;
    let mut watches = Vec::new();
    for (id, component) in manifest.component {
        let Some(build) = component.build else {
            continue;
        };
        if build.watch.is_empty() {
            continue;
        }
        let base = match &build.workdir {
            Some(workdir) => dir.join(workdir),
            None => dir.to_path_buf(),
        };
        // The directory is literal even if its name holds glob characters.
        let base = Pattern::escape(&base.to_string_lossy());
        let patterns = build
            .watch
            .iter()
            .map(|glob| {
                Pattern::new(&format!("{base}/{glob}"))
                    .with_context(|| format!("component `{id}`: bad `watch` glob `{glob}`"))
            })
            .collect::<Result<_>>()?;
        watches.push(ComponentWatch {
            id,
            globs: build.watch,
            patterns,
        });
    }
    Ok(watches)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "app"

[component.visits]
source = "target/visits.wasm"
[component.visits.build]
command = "cargo build -p visits"
watch = ["components/visits/src/**/*.rs", "components/visits/Cargo.toml"]

[component.events]
source = "target/events.wasm"
[component.events.build]
command = "cargo build -p events"
watch = ["components/events/src/**/*.rs", "components/service-kit/src/**/*.rs"]

[component.ui]
source = "ui.wasm"
[component.ui.build]
command = "make"
workdir = "ui"
watch = ["src/*.js"]

[component.prebuilt]
source = "prebuilt.wasm"

[component.unwatched]
source = "unwatched.wasm"
[component.unwatched.build]
command = "make"
"#;

    fn watches() -> Vec<ComponentWatch> {
        parse(MANIFEST, Path::new("/app")).unwrap()
    }

    fn ids(watches: Vec<&ComponentWatch>) -> Vec<&str> {
        watches.into_iter().map(|w| w.id.as_str()).collect()
    }

    fn watch(id: &str) -> ComponentWatch {
        watches().into_iter().find(|w| w.id == id).unwrap()
    }

    #[test]
    fn only_components_with_watch_globs_are_watched() {
        let ids: Vec<_> = watches().into_iter().map(|w| w.id).collect();
        assert_eq!(ids, ["events", "ui", "visits"]);
    }

    #[test]
    fn double_star_matches_any_depth_including_none() {
        let visits = watch("visits");
        assert!(visits.matches(Path::new("/app/components/visits/src/lib.rs")));
        assert!(visits.matches(Path::new("/app/components/visits/src/store/sql.rs")));
        assert!(visits.matches(Path::new("/app/components/visits/Cargo.toml")));
    }

    #[test]
    fn files_outside_the_globs_do_not_match() {
        let visits = watch("visits");
        assert!(!visits.matches(Path::new("/app/components/visits/src/lib.txt")));
        assert!(!visits.matches(Path::new("/app/components/visits/tests/api.rs")));
        assert!(!visits.matches(Path::new("/app/components/events/src/lib.rs")));
        assert!(!visits.matches(Path::new("/elsewhere/components/visits/src/lib.rs")));
    }

    #[test]
    fn a_single_star_stays_in_its_directory() {
        let ui = watch("ui");
        assert!(ui.matches(Path::new("/app/ui/src/main.js")));
        assert!(!ui.matches(Path::new("/app/ui/src/lib/util.js")));
    }

    #[test]
    fn globs_are_relative_to_the_build_workdir() {
        let ui = watch("ui");
        assert!(!ui.matches(Path::new("/app/src/main.js")));
    }

    #[test]
    fn a_shared_file_is_watched_by_every_component_naming_it() {
        let watches = watches();
        let shared = vec![PathBuf::from("/app/components/service-kit/src/lib.rs")];
        assert_eq!(ids(watching(&watches, &shared)), ["events"]);
        let both = vec![
            PathBuf::from("/app/components/visits/src/lib.rs"),
            PathBuf::from("/app/components/events/src/main.rs"),
        ];
        assert_eq!(ids(watching(&watches, &both)), ["events", "visits"]);
        assert!(watching(&watches, &[PathBuf::from("/app/README.md")]).is_empty());
    }

    #[test]
    fn a_directory_with_glob_characters_is_taken_literally() {
        let watches = parse(MANIFEST, Path::new("/work [1]")).unwrap();
        let file = Path::new("/work [1]/components/visits/src/lib.rs");
        assert_eq!(ids(watching(&watches, &[file.to_path_buf()])), ["visits"]);
    }

    #[test]
    fn a_bad_glob_is_an_error_naming_the_component() {
        let manifest = "[component.a.build]\ncommand = \"x\"\nwatch = [\"src/[*.rs\"]\n";
        let err = parse(manifest, Path::new("/app")).err().unwrap();
        assert!(format!("{err:#}").contains("component `a`"), "{err:#}");
    }

    #[test]
    fn files_lists_what_the_globs_match_on_disk() {
        let dir = std::env::temp_dir().join(format!("xtask-watch-globs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("components/visits/src/store")).unwrap();
        for file in [
            "src/lib.rs",
            "src/store/sql.rs",
            "src/notes.md",
            "Cargo.toml",
        ] {
            std::fs::write(dir.join("components/visits").join(file), "").unwrap();
        }
        let visits = parse(MANIFEST, &dir)
            .unwrap()
            .into_iter()
            .find(|w| w.id == "visits")
            .unwrap();
        let mut files = visits.files();
        files.sort();
        let _ = std::fs::remove_dir_all(&dir);
        let expected: Vec<_> = ["src/lib.rs", "src/store/sql.rs", "Cargo.toml"]
            .iter()
            .map(|file| dir.join("components/visits").join(file))
            .collect();
        let mut expected = expected;
        expected.sort();
        assert_eq!(files, expected);
    }
}
