//! The small toolkit every service component is built on, so that each service's own crate holds only
//! its domain: one JSON error shape, request reading with limits, timestamps, CloudEvents, SQLite
//! transactions, deadlines for waits, the transactional outbox, the current request's id (`trace`), and what every
//! contract and health endpoint shares.
//!
//! Everything here is plain Rust over `spin-sdk`; nothing is specific to one service.

pub mod api;
pub mod clock;
pub mod cloudevent;
pub mod contract;
pub mod db;
pub mod deadline;
pub mod embedded_document;
pub mod idempotency;
pub mod ids;
pub mod lease;
pub mod outbox;
pub mod outgoing;
pub mod paging;
pub mod reply;
pub mod request;
pub mod trace;

pub use api::{ApiError, ApiResult};
pub use cloudevent::CloudEvent;
