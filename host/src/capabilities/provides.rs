//! What a capability's `link` step reports having added to the linker, so
//! the host's list of provided interfaces follows from what is linked.

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
