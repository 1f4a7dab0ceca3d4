//! The guest's handle: a connection to one database, taken from the pool at
//! the first statement (as in Spin, every `open` gets a connection of its own)
//! and given back when the guest drops the handle.

use super::metrics::SqliteOps;
use super::pool::SqliteDatabase;
use super::write_queue::WriteTurn;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};

/// What a guest's `connection` resource is on the host side.
pub struct SqliteHandle {
    pub(super) database: Arc<SqliteDatabase>,
    pub(super) ops: Arc<SqliteOps>,
    /// Shared with a statement retried on the blocking pool.
    pub(super) connection: Arc<Mutex<Option<Connection>>>,
    /// The database's write turn, held from the first write until the
    /// connection is back in autocommit. Declared after `connection` so that
    /// a dropped handle closes the connection (and its lock) first.
    pub(super) turn: Option<WriteTurn>,
}

impl SqliteHandle {
    /// Returns the connection, if one was taken, to the database's pool, then
    /// passes the write turn on (once the lock is surely free).
    pub(super) fn release(self) {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(connection) = connection {
            self.database.checkin(connection);
        }
        drop(self.turn);
    }
}
