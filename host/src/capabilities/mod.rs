//! The host's capabilities, one folder each, shaped like Spin's factors: a
//! capability owns its part of the runtime config, its app-level state
//! (opened once at startup), its per-component and per-instance state, its
//! implementation of the interface, its metrics handles and a `link` step.
//! `link` returns the interfaces it added, so what the host provides follows
//! from what is linked.
//!
//! Capabilities know nothing of the instance they serve: `link` takes a
//! getter from the instance state to the capability's view, and the
//! instance state (`instance.rs`) composes them.

mod by_label;
pub mod key_value;
pub mod outbound_http;
pub mod provides;
pub mod sqlite;
pub mod variables;
pub mod wasi;
