//! The variables capability (`fermyon:spin/variables@2.0.0`): application
//! variables, component templates and the providers that resolve them.
//!
//! - `config`: its part of the runtime config (the providers);
//! - `resolver`: app-level state, resolving variables in Spin's order;
//! - `interface`: per-component state, the guest interface and `link`.

mod bindings;
mod config;
mod interface;
mod resolver;

pub use config::VariableProviderConfig;
pub use interface::{link, VariablesComponent, VariablesView};
pub use resolver::VariableResolver;
