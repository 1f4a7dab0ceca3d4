//! Every SQL statement of the service, over its own database (label `events`).
//!
//! Tables: `topics` (names), `events` (the log: offsets from 1 per topic, id unique per topic;
//! a topic's head is its largest offset, one index seek), `subscriptions`, `cursors` (one per subscription and matching topic: last
//! delivered offset, retry state and the delivery lease), `dead_letters` and `bootstrap_applied`.
//! Statements are constant strings (the host caches them prepared); times are Unix millis.
//! One module per concern: `log`, `subscriptions`, `bootstrap`, `delivery`, `dead_letters`;
//! this one holds the schema and the helpers they share.

use service_kit::db::{col_int, exec, with_schema};
use service_kit::ApiError;
use spin_sdk::sqlite::{Connection, Value};

mod bootstrap;
mod dead_letters;
mod delivery;
mod log;
mod subscriptions;

pub use bootstrap::*;
pub use dead_letters::*;
pub use delivery::*;
pub use log::*;
pub use subscriptions::*;

pub const LABEL: &str = "events";

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS topics (
        name TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS events (
        topic TEXT NOT NULL,
        seq INTEGER NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        event TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        PRIMARY KEY (topic, seq),
        UNIQUE (topic, id)
    )",
    "CREATE TABLE IF NOT EXISTS subscriptions (
        name TEXT PRIMARY KEY,
        patterns TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        max_attempts INTEGER NOT NULL,
        start_from TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS cursors (
        subscription TEXT NOT NULL,
        topic TEXT NOT NULL,
        delivered INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error TEXT,
        last_error_at INTEGER,
        lease_until INTEGER,
        lease_token TEXT,
        PRIMARY KEY (subscription, topic)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS cursors_by_topic ON cursors (topic)",
    "CREATE TABLE IF NOT EXISTS dead_letters (
        subscription TEXT NOT NULL,
        topic TEXT NOT NULL,
        seq INTEGER NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        failed_at INTEGER NOT NULL,
        PRIMARY KEY (subscription, topic, seq)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS bootstrap_applied (
        name TEXT PRIMARY KEY,
        applied_at INTEGER NOT NULL
    ) WITHOUT ROWID",
];

pub fn open() -> Result<Connection, ApiError> {
    Ok(Connection::open(LABEL)?)
}

/// Runs `op`, creating the schema first if this is the database's first use.
pub fn schema<T>(
    conn: &Connection,
    op: impl FnMut(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    with_schema(conn, SCHEMA, op)
}

/// Runs reads in one deferred transaction, so they all see the same snapshot (a view must not
/// show a dead letter next to a cursor read before it was moved). Takes no write lock.
pub(crate) fn snapshot<T>(
    conn: &Connection,
    reads: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    conn.execute("BEGIN", &[])?;
    let result = reads(conn);
    // Ending a read-only transaction cannot lose anything; ROLLBACK also ends it after an error.
    let _ = conn.execute("ROLLBACK", &[]);
    result
}

pub(crate) fn first_int(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    column: &str,
) -> Result<Option<i64>, ApiError> {
    Ok(exec(conn, sql, params)?
        .rows()
        .next()
        .map(|row| col_int(&row, column)))
}
