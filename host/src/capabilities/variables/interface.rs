//! The guest interface `fermyon:spin/variables@2.0.0`, served on one
//! component's variables, and the `link` step that adds it to a linker.

use super::bindings::fermyon::spin::variables::{self, Error as VarError};
use super::resolver::VariableResolver;
use crate::capabilities::provides::Interface;
use anyhow::Result;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use wasmtime::component::{HasData, Linker};

/// The capability's per-component state: the app's resolver and whose
/// templates `get` renders. Variables keep no per-instance state.
pub struct VariablesComponent {
    resolver: Arc<VariableResolver>,
    component_id: String,
    /// Values already resolved. Every source this host reads is fixed while a component is
    /// loaded (`--variable`, the runtime config, the process environment, `.env` files read at
    /// start), and a reload that changes a value builds the component anew, so a value once
    /// resolved stays right; rendering it again on every `get` cost a few microseconds per
    /// request for the gateway and the edge, which read about ten.
    resolved: RwLock<HashMap<String, String>>,
}

impl VariablesComponent {
    pub fn new(resolver: Arc<VariableResolver>, component_id: &str) -> VariablesComponent {
        VariablesComponent {
            resolver,
            component_id: component_id.to_string(),
            resolved: RwLock::new(HashMap::new()),
        }
    }
}

/// What the interface works on.
pub struct VariablesView<'a> {
    pub component: &'a VariablesComponent,
}

impl HasData for VariablesView<'static> {
    type Data<'a> = VariablesView<'a>;
}

/// Adds the interface to `linker`, served on the view `get` returns.
pub fn link<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> VariablesView<'_>,
) -> Result<&'static [Interface]> {
    variables::add_to_linker::<T, VariablesView<'static>>(linker, get)
        .map_err(anyhow::Error::from)?;
    Ok(&[Interface::Exact("fermyon:spin/variables@2.0.0")])
}

impl variables::Host for VariablesView<'_> {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, VarError>> {
        Ok(self.component.get(&name))
    }
}

impl VariablesComponent {
    /// The variable's value, resolved once (errors are not kept: they are rare and cheap).
    fn get(&self, name: &str) -> Result<String, VarError> {
        let cached = self.resolved.read().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = cached.get(name) {
            return Ok(value.clone());
        }
        drop(cached);
        let value = self.resolver.get(&self.component_id, name)?;
        self.resolved
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), value.clone());
        Ok(value)
    }
}
