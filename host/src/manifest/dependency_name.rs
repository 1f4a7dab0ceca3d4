//! The keys of `[component.<id>.dependencies]` (SIP 020) and which of a
//! component's imports each names.

use anyhow::{bail, Context, Result};
use std::fmt;

/// A dependency key: what part of the parent's imports it satisfies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyName {
    /// A plain kebab-case import name (`my-helper`).
    Plain(String),
    /// `ns:pkg`, `ns:pkg@1.0.0`, `ns:pkg/iface` or `ns:pkg/iface@1.0.0`.
    Package(PackageName),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageName {
    pub namespace: String,
    pub package: String,
    pub interface: Option<String>,
    pub version: Option<semver::Version>,
}

impl DependencyName {
    pub fn parse(key: &str) -> Result<DependencyName> {
        parse_name(key).with_context(|| {
            format!("invalid dependency name {key:?}: expected a kebab-case name, `ns:pkg` or `ns:pkg/interface`, each optionally `@version`")
        })
    }

    /// Whether this key names `import` (an import of the parent component).
    /// A version in the key must equal the import's; without one, any
    /// version of the package or interface matches.
    pub fn matches(&self, import: &str) -> bool {
        match self {
            DependencyName::Plain(name) => import == name,
            DependencyName::Package(key) => {
                let Ok(DependencyName::Package(import)) = parse_name(import) else {
                    return false;
                };
                key.namespace == import.namespace
                    && key.package == import.package
                    && key
                        .interface
                        .as_ref()
                        .is_none_or(|i| Some(i) == import.interface.as_ref())
                    && key
                        .version
                        .as_ref()
                        .is_none_or(|v| Some(v) == import.version.as_ref())
            }
        }
    }
}

impl fmt::Display for DependencyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DependencyName::Plain(name) => f.write_str(name),
            DependencyName::Package(p) => {
                write!(f, "{}:{}", p.namespace, p.package)?;
                if let Some(interface) = &p.interface {
                    write!(f, "/{interface}")?;
                }
                if let Some(version) = &p.version {
                    write!(f, "@{version}")?;
                }
                Ok(())
            }
        }
    }
}

fn parse_name(key: &str) -> Result<DependencyName> {
    let (path, version) = match key.split_once('@') {
        Some((path, version)) => (path, Some(semver::Version::parse(version)?)),
        None => (key, None),
    };
    let Some((namespace, rest)) = path.split_once(':') else {
        if version.is_some() {
            bail!("a plain name cannot have a version");
        }
        check_kebab(path)?;
        return Ok(DependencyName::Plain(path.to_string()));
    };
    let (package, interface) = match rest.split_once('/') {
        Some((package, interface)) => (package, Some(interface)),
        None => (rest, None),
    };
    check_kebab(namespace)?;
    check_kebab(package)?;
    if let Some(interface) = interface {
        check_kebab(interface)?;
    }
    Ok(DependencyName::Package(PackageName {
        namespace: namespace.to_string(),
        package: package.to_string(),
        interface: interface.map(str::to_string),
        version,
    }))
}

/// The component model's kebab-case: `-`-separated words, each a letter
/// then letters or digits, all of one case.
fn check_kebab(name: &str) -> Result<()> {
    let word_ok = |word: &str| {
        let lower = word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let upper = word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        word.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && (lower || upper)
    };
    if !name.split('-').all(word_ok) {
        bail!("{name:?} is not kebab-case");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(key: &str) -> DependencyName {
        DependencyName::parse(key).unwrap()
    }

    #[test]
    fn the_three_forms_parse_and_print_back() {
        for key in [
            "my-helper",
            "wasi:http",
            "wasi:http@0.2.0",
            "wasi:http/incoming-handler",
            "wasi:http/incoming-handler@0.2.0",
        ] {
            assert_eq!(name(key).to_string(), key);
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        for key in [
            "",
            "My_helper",
            "helper@1.0.0",
            "wasi:",
            "wasi:http/",
            "a:b@x",
        ] {
            assert!(DependencyName::parse(key).is_err(), "{key:?}");
        }
    }

    #[test]
    fn a_package_key_matches_every_interface_of_the_package() {
        let key = name("wasi:http");
        assert!(key.matches("wasi:http/incoming-handler@0.2.0"));
        assert!(key.matches("wasi:http/types@0.2.3"));
        assert!(!key.matches("wasi:io/streams@0.2.0"));
        assert!(!key.matches("http"));
    }

    #[test]
    fn versions_and_interfaces_narrow_the_match() {
        let key = name("wasi:http/types@0.2.0");
        assert!(key.matches("wasi:http/types@0.2.0"));
        assert!(!key.matches("wasi:http/types@0.2.3"));
        assert!(!key.matches("wasi:http/incoming-handler@0.2.0"));
        assert!(name("wasi:http/types").matches("wasi:http/types@0.2.3"));
    }

    #[test]
    fn a_plain_key_matches_its_name_only() {
        assert!(name("helper").matches("helper"));
        assert!(!name("helper").matches("helper-two"));
    }
}
