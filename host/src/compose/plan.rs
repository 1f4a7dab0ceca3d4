//! Which dependency fills which import of the parent, by SIP 020's rules: a
//! key fills every import it names, no import is named by two keys, and
//! every key names at least one import.

use crate::manifest::DependencyDecl;
use anyhow::{bail, Result};

/// One import of the parent and the dependency (an index into the
/// component's dependencies) whose export fills it.
#[derive(Debug, PartialEq, Eq)]
pub struct Plug {
    pub import: String,
    pub dependency: usize,
    /// The dependency's export to use; `None`: the one named like `import`.
    pub export: Option<String>,
}

/// Matches `dependencies` to the parent's `imports`.
pub fn plan(imports: &[String], dependencies: &[DependencyDecl]) -> Result<Vec<Plug>> {
    let mut plugs: Vec<Plug> = Vec::new();
    for (index, dependency) in dependencies.iter().enumerate() {
        let matched: Vec<&String> = imports
            .iter()
            .filter(|import| dependency.name.matches(import))
            .collect();
        if matched.is_empty() {
            bail!(
                "dependency \"{}\" matches no import of the component",
                dependency.name
            );
        }
        if dependency.export.is_some() && matched.len() > 1 {
            bail!(
                "dependency \"{}\" has an `export` but matches {} imports; name one interface in the key",
                dependency.name,
                matched.len()
            );
        }
        for import in matched {
            if let Some(other) = plugs.iter().find(|p| &p.import == import) {
                bail!(
                    "dependencies \"{}\" and \"{}\" both match import `{import}`",
                    dependencies[other.dependency].name,
                    dependency.name
                );
            }
            plugs.push(Plug {
                import: import.clone(),
                dependency: index,
                export: dependency.export.clone(),
            });
        }
    }
    Ok(plugs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::dependency_name::DependencyName;

    fn dependency(key: &str, export: Option<&str>) -> DependencyDecl {
        DependencyDecl {
            name: DependencyName::parse(key).unwrap(),
            path: "dep.wasm".into(),
            component: None,
            export: export.map(str::to_string),
            inherit: false,
        }
    }

    fn imports() -> Vec<String> {
        [
            "wasi:http/types@0.2.0",
            "wasi:http/incoming-handler@0.2.0",
            "helper",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_package_key_fills_each_of_its_imports() {
        let plugs = plan(&imports(), &[dependency("wasi:http", None)]).unwrap();
        let filled: Vec<_> = plugs.iter().map(|p| p.import.as_str()).collect();
        assert_eq!(
            filled,
            ["wasi:http/types@0.2.0", "wasi:http/incoming-handler@0.2.0"]
        );
    }

    #[test]
    fn two_keys_naming_one_import_are_a_conflict_naming_both() {
        let err = plan(
            &imports(),
            &[
                dependency("wasi:http", None),
                dependency("wasi:http/incoming-handler", None),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"wasi:http\" and \"wasi:http/incoming-handler\""),
            "{err}"
        );
    }

    #[test]
    fn a_key_matching_nothing_is_refused() {
        let err = plan(&imports(), &[dependency("other", None)]).unwrap_err();
        assert!(err.to_string().contains("matches no import"), "{err}");
    }

    #[test]
    fn an_export_needs_a_single_import() {
        assert!(plan(&imports(), &[dependency("wasi:http", Some("x"))]).is_err());
        let plugs = plan(&imports(), &[dependency("helper", Some("x"))]).unwrap();
        assert_eq!(plugs[0].export.as_deref(), Some("x"));
    }
}
