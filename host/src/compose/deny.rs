//! The host side of a non-inheriting dependency's capabilities: the imports
//! `rename` moved under their own namespace are linked to functions that
//! deny with the call's own error value. Opening a store or database answers
//! `access-denied` (as Spin 4.0.2 was observed to), an outbound request
//! `HTTP-request-denied`, a variable `other(...)`; the environment is empty.
//! A call whose type has no such answer traps.

use anyhow::Result;
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, Linker, ResourceType, Type, Val};
use wasmtime::Engine;

/// A resource of a denied interface; never created, as opening one fails.
struct DeniedResource;

/// Links every denied import of `component` into `linker`.
pub fn link_denied_imports<T: 'static>(
    linker: &mut Linker<T>,
    component: &Component,
    engine: &Engine,
) -> Result<()> {
    let component_type = component.component_type();
    let imports: Vec<_> = component_type.imports(engine).collect();
    let is_denied = super::is_denied_import;
    // Resources a denied interface only `use`s belong to another import.
    let mut known: Vec<ResourceType> = Vec::new();
    for (name, item) in &imports {
        if let (false, ComponentItem::ComponentInstance(instance)) = (is_denied(name), &item.ty) {
            for (_, export) in instance.exports(engine) {
                if let ComponentItem::Resource(resource) = export.ty {
                    known.push(resource);
                }
            }
        }
    }
    for (name, item) in imports {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if !is_denied(name) {
            continue;
        }
        let mut scope = linker.instance(name).map_err(anyhow::Error::from)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let qualified = format!("{name}#{export}");
                    scope
                        .func_new(export, move |_, ty, _, results| {
                            deny(&qualified, &ty, results).map_err(|e| wasmtime::format_err!("{e}"))
                        })
                        .map_err(anyhow::Error::from)?;
                }
                ComponentItem::Resource(resource) if !known.contains(&resource) => {
                    known.push(resource);
                    scope
                        .resource(
                            export,
                            ResourceType::host::<DeniedResource>(),
                            |_, _| Ok(()),
                        )
                        .map_err(anyhow::Error::from)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Fills `results` with the function's denial, or traps without one.
fn deny(qualified: &str, ty: &ComponentFunc, results: &mut [Val]) -> Result<()> {
    let denial = ty.results().next().as_ref().and_then(denial);
    match (denial, results) {
        (Some(value), [slot]) => {
            *slot = value;
            Ok(())
        }
        _ => anyhow::bail!(
            "`{qualified}`: denied, as the dependency does not inherit the component's configuration"
        ),
    }
}

/// The value that says "denied" in type `ty`, if it has one.
fn denial(ty: &Type) -> Option<Val> {
    match ty {
        Type::Result(result) => {
            let error = denied_error(&result.err()?)?;
            Some(Val::Result(Err(Some(Box::new(error)))))
        }
        Type::List(_) => Some(Val::List(Vec::new())),
        Type::Option(_) => Some(Val::Option(None)),
        _ => None,
    }
}

fn denied_error(ty: &Type) -> Option<Val> {
    const REASON: &str =
        "access denied: the dependency does not inherit the component's configuration";
    match ty {
        Type::Variant(variant) => {
            let cases: Vec<_> = variant.cases().collect();
            let plain = |name: &str| cases.iter().any(|c| c.name == name && c.ty.is_none());
            if let Some(name) = ["access-denied", "HTTP-request-denied"]
                .into_iter()
                .find(|name| plain(name))
            {
                return Some(Val::Variant(name.into(), None));
            }
            cases
                .iter()
                .find(|c| c.name == "other" && matches!(c.ty, Some(Type::String)))
                .map(|_| Val::Variant("other".into(), Some(Box::new(Val::String(REASON.into())))))
        }
        Type::Enum(names) => names
            .names()
            .find(|name| *name == "access-denied")
            .map(|name| Val::Enum(name.into())),
        _ => None,
    }
}
