//! The key-value capability (`fermyon:spin/key-value@2.0.0`): stores by
//! label, each served by a backend (a SQLite file as in Spin's default store,
//! or Redis). Which labels a component may open is decided here, once.
//!
//! - `config`: its part of the runtime config;
//! - `labels`: app-level state, the backend behind each declared label;
//! - `store`: a component's stores and the guest's handle;
//! - `backend`, `sqlite_backend`, `redis_backend`: what serves a store;
//! - `interface`: the guest interface and `link`;
//! - `metrics`: its operation counters.

mod backend;
mod bindings;
mod config;
mod interface;
mod labels;
mod metrics;
mod redis_backend;
mod sqlite_backend;
mod store;

pub use config::{KeyValueConfig, DEFAULT_STORE_FILE};
pub use interface::{link, KeyValueView};
pub use labels::KeyValueApp;
pub use store::KeyValueComponent;
