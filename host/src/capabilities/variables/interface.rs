//! The guest interface `fermyon:spin/variables@2.0.0`, served on one
//! component's variables, and the `link` step that adds it to a linker.

use super::bindings::fermyon::spin::variables::{self, Error as VarError};
use super::resolver::VariableResolver;
use crate::capabilities::provides::Interface;
use anyhow::Result;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker};

/// The capability's per-component state: the app's resolver and whose
/// templates `get` renders. Variables keep no per-instance state.
pub struct VariablesComponent {
    resolver: Arc<VariableResolver>,
    component_id: String,
}

impl VariablesComponent {
    pub fn new(resolver: Arc<VariableResolver>, component_id: &str) -> VariablesComponent {
        VariablesComponent {
            resolver,
            component_id: component_id.to_string(),
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
        let component = self.component;
        Ok(component.resolver.get(&component.component_id, &name))
    }
}
