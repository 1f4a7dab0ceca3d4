//! Moves a non-inheriting dependency's capability imports to names of their
//! own, so that composing it does not merge them with the parent's (which
//! would hand it the parent's stores, variables and outbound hosts); the
//! host links those names to denials (see `deny`).
//!
//! Only the names in the component's top-level import section change: the
//! types, and every other byte, are copied as they are.

use anyhow::{Context, Result};
use std::borrow::Cow;
use wasm_encoder::reencode::{component_utils, RoundtripReencoder};
use wasm_encoder::{ComponentExternName, ComponentImportSection, RawSection};
use wasmparser::{Chunk, ComponentImportSectionReader, Parser, Payload};

/// The namespace the moved imports live under.
pub const DENIED_NAMESPACE: &str = "spin-host-denied";

/// Interfaces that reach a capability the manifest grants per component
/// (`key_value_stores`, `sqlite_databases`, `variables`,
/// `allowed_outbound_hosts`, `environment`).
fn is_capability(import: &str) -> bool {
    const CAPABILITIES: &[&str] = &[
        "fermyon:spin/",
        "spin:",
        "wasi:http/outgoing-handler@",
        "wasi:keyvalue/",
        "wasi:config/",
        "wasi:cli/environment@",
    ];
    CAPABILITIES.iter().any(|prefix| import.starts_with(prefix))
}

/// `ns:pkg/iface@v` -> `spin-host-denied:ns-pkg/iface@v`: still a valid
/// interface name, unique per original name.
pub fn denied_name(import: &str) -> Option<String> {
    let (namespace, rest) = import.split_once(':')?;
    let (package, rest) = rest.split_once('/')?;
    Some(format!("{DENIED_NAMESPACE}:{namespace}-{package}/{rest}"))
}

/// `component` with every capability import renamed by [`denied_name`].
pub fn deny_capabilities(component: &[u8]) -> Result<Vec<u8>> {
    if !Parser::is_component(component) {
        anyhow::bail!("not a WebAssembly component");
    }
    let mut out = wasm_encoder::Component::new();
    let mut parser = Parser::new(0);
    let mut offset = 0;
    loop {
        let Chunk::Parsed { consumed, payload } = parser.parse(&component[offset..], true)? else {
            anyhow::bail!("truncated component");
        };
        offset += consumed;
        match payload {
            Payload::Version { .. } => {}
            Payload::End(_) => break,
            Payload::ComponentImportSection(reader) => {
                out.section(&renamed_imports(reader)?);
            }
            other => {
                let (id, range) = other
                    .as_section()
                    .context("unexpected payload in a component")?;
                let range = range.start as usize..range.end as usize;
                if matches!(
                    other,
                    Payload::ModuleSection { .. } | Payload::ComponentSection { .. }
                ) {
                    // Nested code is copied whole, not walked: the parser
                    // returned only its header.
                    offset = range.end;
                }
                out.section(&RawSection {
                    id,
                    data: &component[range],
                });
            }
        }
    }
    Ok(out.finish())
}

fn renamed_imports(reader: ComponentImportSectionReader<'_>) -> Result<ComponentImportSection> {
    let mut section = ComponentImportSection::new();
    for import in reader {
        let import = import?;
        let name = match is_capability(import.name.name).then(|| denied_name(import.name.name)) {
            Some(Some(renamed)) => Cow::Owned(renamed),
            _ => Cow::Borrowed(import.name.name),
        };
        let ty = component_utils::component_type_ref(&mut RoundtripReencoder, import.ty)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let name = ComponentExternName {
            name,
            implements: import.name.implements.map(Cow::Borrowed),
            version_suffix: import.name.version_suffix.map(Cow::Borrowed),
            external_id: import.name.external_id.map(Cow::Borrowed),
        };
        section.import(name, ty);
    }
    Ok(section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_imports_get_a_denied_name() {
        assert_eq!(
            denied_name("fermyon:spin/sqlite@2.0.0").as_deref(),
            Some("spin-host-denied:fermyon-spin/sqlite@2.0.0")
        );
        assert!(is_capability("wasi:http/outgoing-handler@0.2.0"));
        assert!(is_capability("fermyon:spin/key-value@2.0.0"));
        assert!(!is_capability("wasi:http/types@0.2.0"));
        assert!(!is_capability("wasi:io/streams@0.2.0"));
    }
}
