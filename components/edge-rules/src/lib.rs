//! The edge's per-request rules, written once and applied by two Spin components:
//!
//! - the gateway (`components/gateway`), which passes a request on by service chaining, and
//! - the edge middleware (`components/edge`), which hands it to the service composed into it.
//!
//! `guard` is the sequence both run before a service sees a request (preflight, body limit,
//! key and rate count, scope) and the headers their own answers carry; each rule has its own
//! module. Everything here is plain Rust over Spin's stores and variables: the Spin layers
//! that read and write HTTP stay in the components.

pub mod access;
pub mod access_log;
pub mod cache;
pub mod config;
pub mod cors;
pub mod forwarding;
pub mod guard;
pub mod keys;
pub mod keystore;
pub mod rate_limit;
pub mod reply;
pub mod request_id;
pub mod respond;
