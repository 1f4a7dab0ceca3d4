//! Spin's default key-value backend: a table in a SQLite file (or in memory),
//! with one shared connection per label. As for the SQLite interface, an
//! operation runs on the request's own task unless it would wait (for the
//! connection, or for another writer's lock); then it runs on the blocking pool.
//! Writes first take their turn in the file's write queue, shared with every
//! other label (and SQLite database handle) on the same file in this host.

use super::backend::KeyValueBackend;
use crate::capabilities::sqlite::lock::{is_busy, wait_for_lock, Waiting};
use crate::capabilities::sqlite::write_queue::{WriteQueue, WriteTurn};
use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One label's store in a SQLite file shared with other labels.
pub struct SqliteFileBackend {
    label: String,
    connection: Arc<Mutex<Connection>>,
    /// `None` in memory, where no other connection shares the data.
    writers: Option<Arc<WriteQueue>>,
}

impl SqliteFileBackend {
    pub fn open(label: &str, path: Option<&Path>) -> Result<SqliteFileBackend> {
        let connection = match path {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                let conn = Connection::open(path)
                    .with_context(|| format!("cannot open key-value store {}", path.display()))?;
                // WAL keeps readers and the writer apart; a committed write is
                // in the WAL file before `set` returns, so it survives a crash
                // of the host process.
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn.busy_handler(Some(wait_for_lock))?;
                conn
            }
            None => Connection::open_in_memory()?,
        };
        connection.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY (store, key))",
            [],
        )?;
        Ok(SqliteFileBackend {
            label: label.to_string(),
            connection: Arc::new(Mutex::new(connection)),
            writers: path.map(WriteQueue::for_file),
        })
    }

    /// Waits for this file's write turn (bounded by the busy timeout).
    async fn take_turn(&self) -> Result<Option<WriteTurn>, String> {
        match &self.writers {
            Some(queue) => queue
                .take_turn()
                .await
                .map(Some)
                .map_err(|e| format!("{e:?}")),
            None => Ok(None),
        }
    }

    /// Runs `op` here when the connection is free and no lock must be waited for, else on the
    /// blocking pool, where it may wait.
    async fn with_connection<T: Send + 'static>(
        &self,
        op: impl Fn(&Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, String> {
        if let Ok(conn) = self.connection.try_lock() {
            let _no_waiting = Waiting::forbidden();
            match op(&conn, &self.label) {
                Err(err) if is_busy(&err) => {}
                other => return other.map_err(|e| format!("{e:?}")),
            }
        }
        let connection = self.connection.clone();
        let label = self.label.clone();
        tokio::task::spawn_blocking(move || {
            let conn = connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            op(&conn, &label).map_err(|e| format!("{e:?}"))
        })
        .await
        .map_err(|e| format!("{e:?}"))?
    }
}

#[async_trait::async_trait]
impl KeyValueBackend for SqliteFileBackend {
    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, String> {
        self.with_connection(move |conn, label| {
            conn.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row((label, &key), |row| row.get(0))
                .optional()
        })
        .await
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), String> {
        let _turn = self.take_turn().await?;
        self.with_connection(move |conn, label| {
            conn.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute((label, &key, &value))
            .map(|_| ())
        })
        .await
    }

    async fn delete(&self, key: String) -> Result<(), String> {
        let _turn = self.take_turn().await?;
        self.with_connection(move |conn, label| {
            conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute((label, &key))
                .map(|_| ())
        })
        .await
    }

    async fn exists(&self, key: String) -> Result<bool, String> {
        self.with_connection(move |conn, label| {
            conn.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists((label, &key))
        })
        .await
    }

    async fn get_keys(&self) -> Result<Vec<String>, String> {
        self.with_connection(move |conn, label| {
            let mut stmt =
                conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
            let keys = stmt.query_map([label], |row| row.get(0))?.collect();
            keys
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_missing_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteFileBackend::open("default", Some(&dir.path().join("kv.db"))).unwrap();
        assert_eq!(store.get("k".into()).await.unwrap(), None);
        store.delete("k".into()).await.unwrap();
        store.set("k".into(), b"v".to_vec()).await.unwrap();
        store.set("k".into(), b"w".to_vec()).await.unwrap();
        assert_eq!(store.get("k".into()).await.unwrap(), Some(b"w".to_vec()));
        assert!(store.exists("k".into()).await.unwrap());
        assert_eq!(store.get_keys().await.unwrap(), vec!["k".to_string()]);
    }

    #[tokio::test]
    async fn labels_sharing_a_file_are_separate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.db");
        let a = SqliteFileBackend::open("a", Some(&path)).unwrap();
        let b = SqliteFileBackend::open("b", Some(&path)).unwrap();
        a.set("k".into(), b"1".to_vec()).await.unwrap();
        assert_eq!(b.get("k".into()).await.unwrap(), None);
    }
}
