//! A database label's storage and its connection pool. Opening a SQLite file
//! costs more than a typical query, so connections a guest has finished with
//! go back to a small per-database pool, but only in the state a new
//! connection would have: no open transaction and no TEMP objects. Anything
//! else is closed, exactly as Spin closes every connection.

use super::checkpoint::{note_wal_size, worth_it};
use super::config::SqliteConfig;
use super::lock::{wait_for_lock, BUSY_TIMEOUT};
use super::write_queue::WriteQueue;
use anyhow::{Context, Result};
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

/// Idle connections kept per database file.
const MAX_IDLE_CONNECTIONS: usize = 64;

/// A database label's backing storage.
#[derive(Debug)]
pub struct SqliteDatabase {
    /// `None`: every connection is a fresh in-memory database.
    path: Option<PathBuf>,
    allow_attach_file: bool,
    pub(super) idle: Mutex<Vec<Connection>>,
    /// The file's write queue; `None` in memory, where no two connections share data.
    pub(super) writers: Option<Arc<WriteQueue>>,
    /// A checkpoint is running on the blocking pool (see [`super::checkpoint`]).
    checkpointing: AtomicBool,
    /// The WAL's size, in pages, when the last checkpoint was started.
    checkpointed_at: AtomicI32,
}

impl SqliteDatabase {
    pub fn new(config: &SqliteConfig) -> Result<SqliteDatabase> {
        let SqliteConfig::Spin {
            path,
            allow_attach_file,
        } = config;
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // Settle the journal mode once per file, not on every connection.
        if let Some(path) = path {
            let conn = Connection::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // WAL: readers never block the writer, and a commit is durable
            // against a crash of the host once `execute` returns.
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        Ok(SqliteDatabase {
            path: path.clone(),
            allow_attach_file: *allow_attach_file,
            idle: Mutex::new(Vec::new()),
            writers: path.as_deref().map(WriteQueue::for_file),
            checkpointing: AtomicBool::new(false),
            checkpointed_at: AtomicI32::new(0),
        })
    }

    /// A connection for one guest handle: an idle one, or a new one.
    pub(super) fn checkout(&self) -> rusqlite::Result<Connection> {
        // In-memory databases are fresh on every open, so never pooled.
        if self.path.is_some() {
            if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                return Ok(conn);
            }
        }
        self.connect()
    }

    /// Takes a connection back when the guest drops its handle, if it is as
    /// clean as a new one; otherwise it is closed here.
    pub(super) fn checkin(&self, conn: Connection) {
        if self.path.is_none() || !conn.is_autocommit() {
            return;
        }
        let has_temp_objects = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM temp.sqlite_schema)")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, bool>(0)))
            .unwrap_or(true);
        if has_temp_objects {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }

    /// Runs a passive checkpoint on the blocking pool for a WAL of `pages`, unless one is
    /// running or the last one was started less than a threshold of pages ago.
    pub(super) fn checkpoint_in_background(self: &Arc<Self>, pages: i32) {
        if self.path.is_none()
            || !worth_it(pages, self.checkpointed_at.load(Ordering::Acquire))
            || self.checkpointing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.checkpointed_at.store(pages, Ordering::Release);
        let database = self.clone();
        tokio::task::spawn_blocking(move || {
            // Passive: copies what no reader still needs, never waits for a lock.
            let checkpointed = database.checkout().and_then(|conn| {
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
                database.checkin(conn);
                Ok(())
            });
            if let Err(err) = checkpointed {
                tracing::warn!("SQLite checkpoint failed: {err}");
            }
            database.checkpointing.store(false, Ordering::Release);
        });
    }

    pub(super) fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = match &self.path {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        // Commits note that a checkpoint is due instead of running it themselves.
        conn.wal_hook(Some(note_wal_size));
        conn.busy_handler(Some(wait_for_lock))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // SQLite plans `LIMIT ?` with the bound value and marks the statement to be prepared
        // again whenever that parameter is bound anew, so every paged query (each `LIMIT ?`)
        // was parsed and planned on every run: 15% of the host's CPU on the feed timeline. The
        // query-planner stability guarantee plans without looking at bound values; results are
        // the same, and cached statements stay prepared.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        let allow_attach_file = self.allow_attach_file;
        conn.authorizer(Some(move |ctx: AuthContext<'_>| match ctx.action {
            AuthAction::Attach { filename }
                if !allow_attach_file && !matches!(filename, "" | ":memory:") =>
            {
                Authorization::Deny
            }
            _ => Authorization::Allow,
        }));
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    #[test]
    fn a_paged_query_stays_prepared_across_new_limits() {
        let dir = tempfile::tempdir().unwrap();
        let database = SqliteDatabase::new(&SqliteConfig::Spin {
            path: Some(dir.path().join("db")),
            allow_attach_file: false,
        })
        .unwrap();
        let conn = database.connect().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3);")
            .unwrap();
        let sql = "SELECT n FROM t ORDER BY n LIMIT ? OFFSET ?";
        for (limit, offset, expected) in [(2, 0, vec![1, 2]), (1, 2, vec![3]), (3, 1, vec![2, 3])] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let rows: Vec<i64> = stmt
                .query_map([limit, offset], |row| row.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(rows, expected, "LIMIT {limit} OFFSET {offset}");
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
        }
    }
}
