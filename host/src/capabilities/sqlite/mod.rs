//! The SQLite capability (`fermyon:spin/sqlite@2.0.0`): databases by label.
//!
//! - `config`: its part of the runtime config;
//! - `labels`: app-level state, the database behind each declared label;
//! - `pool`: a database's storage and idle connections;
//! - `lock`: when a statement may wait for another writer's lock;
//! - `write_queue`: this host's writers to one file, first come first served;
//! - `checkpoint`: WAL checkpoints beside the writers, not in their queue;
//! - `connection`: the guest's handle; `execute`: running a statement;
//! - `interface`: the guest interface, per-instance state and `link`;
//! - `metrics`: its operation counters.

mod bindings;
mod checkpoint;
mod config;
mod connection;
mod execute;
mod interface;
mod labels;
pub mod lock;
mod metrics;
mod pool;
pub mod write_queue;

pub use config::{SqliteConfig, DEFAULT_DATABASE_FILE};
pub use interface::{link, SqliteInstance, SqliteView};
pub use labels::{SqliteApp, SqliteComponent};
