//! The host's capabilities, one folder each, shaped like Spin's factors: a
//! capability owns its part of the runtime config, its app-level state
//! (opened once at startup), its per-component and per-instance state, its
//! implementation of the interface, its metrics handles and a `link` step.
//! `link` returns the interfaces it added, so what the host provides follows
//! from what is linked.
//!
//! Capabilities know nothing of the instance they serve: `link` takes a
//! getter from the instance state to the capability's view, and
//! `crate::instance` composes them.

pub mod key_value;
pub mod outbound_http;
pub mod sqlite;
pub mod variables;
pub mod wasi;

/// An interface a capability provides.
#[derive(Debug, Clone, Copy)]
pub enum Interface {
    /// Exactly this versioned name.
    Exact(&'static str),
    /// A WASI package by prefix (`wasi:io/`), at any 0.2.x version.
    Wasi(&'static str),
}

impl Interface {
    pub fn matches(&self, import: &str) -> bool {
        match self {
            Interface::Exact(name) => *name == import,
            Interface::Wasi(prefix) => import.starts_with(prefix) && import.contains("@0.2."),
        }
    }
}
