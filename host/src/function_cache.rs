//! Cranelift's compiled functions, kept on disk across compiles and host runs.
//!
//! A reload that compiles a changed component took 1-3 s of CPU, and on a busy 2-core machine
//! every compiling thread slows the requests being served, whatever its priority (the cores
//! share caches and execution units). Most of a rebuilt component's functions are the same as
//! before, and Cranelift's incremental cache recognises them: it keys each function by its
//! code with the calls to other functions abstracted away, so functions that only moved to
//! another index still match. Those are reused and only changed ones are compiled.
//!
//! The store is one SQLite file in the cache directory. Every failure (a locked or broken
//! file) is a miss, and the store is left alone for a moment after one: compiling never fails,
//! and is never held up for long, because of this cache.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use wasmtime::CacheStore;

/// The file under the cache directory.
const FILE_NAME: &str = "functions.sqlite";
/// Past this size, the least recently used half is dropped when the store is opened, and
/// again after each reload that compiled.
const MAX_BYTES: i64 = 256 << 20;
/// Another host process writing at the same moment is waited for this long, then skipped.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);
/// After a failure the store is left alone this long: a file locked for seconds (another host
/// vacuuming it) must cost one wait, not one per function compiled meanwhile.
const BACK_OFF: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct FunctionCache {
    /// The file, for the trim's own connection.
    path: PathBuf,
    connection: Mutex<Connection>,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Set by a failure: until then every lookup is a miss and nothing is stored.
    unusable_until: Mutex<Option<Instant>>,
}

impl FunctionCache {
    /// Opens (or creates) the store in `cache_dir`; `None`, with a warning, if it cannot be
    /// used: compiling then works as without it.
    pub fn open_or_warn(cache_dir: &Path) -> Option<FunctionCache> {
        FunctionCache::open(cache_dir)
            .map_err(|err| tracing::warn!("compiling without the function cache: {err:#}"))
            .ok()
    }

    pub fn open(cache_dir: &Path) -> Result<FunctionCache> {
        std::fs::create_dir_all(cache_dir)
            .with_context(|| format!("cannot create {}", cache_dir.display()))?;
        let path = cache_dir.join(FILE_NAME);
        let connection =
            Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // Losing the last entries in a crash only costs their recompilation.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "OFF")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS functions (
                key BLOB PRIMARY KEY,
                value BLOB NOT NULL,
                used INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS functions_by_use ON functions (used);",
        )?;
        // Another process holding the file may make this fail; the store is still usable.
        if let Err(err) = trim_to_size(&connection, MAX_BYTES) {
            tracing::debug!("function cache not trimmed: {err}");
        }
        Ok(FunctionCache {
            path,
            connection: Mutex::new(connection),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            unusable_until: Mutex::new(None),
        })
    }

    /// Functions found and not found since the store was opened.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Keeps the store within its size limit while the host runs: called after a reload that
    /// compiled, so a host reloaded many times between starts does not grow the file unbounded.
    /// A failure (another process holding the file) only leaves the trim to the next time.
    pub fn trim(&self) {
        self.trim_to(MAX_BYTES);
    }

    /// On a connection of its own: a long `VACUUM` then holds the file's lock, which a compile
    /// meanwhile meets as any locked file (one busy wait, then the back-off), rather than the
    /// compile's connection, which it would wait for unbounded.
    fn trim_to(&self, max_bytes: i64) {
        let trimmed = Connection::open(&self.path).and_then(|connection| {
            connection.busy_timeout(BUSY_TIMEOUT)?;
            trim_to_size(&connection, max_bytes)
        });
        if let Err(err) = trimmed {
            tracing::debug!("function cache not trimmed: {err}");
        }
    }

    /// False while backing off after a failure.
    fn usable(&self) -> bool {
        let until = self
            .unusable_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        until.is_none_or(|until| Instant::now() >= until)
    }

    fn back_off(&self, err: &rusqlite::Error) {
        tracing::debug!("function cache unusable for {BACK_OFF:?}: {err}");
        *self
            .unusable_until
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + BACK_OFF);
    }

    fn lookup(&self, key: &[u8]) -> rusqlite::Result<Option<Vec<u8>>> {
        let connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let value = connection
            .prepare_cached("SELECT value FROM functions WHERE key = ?1")?
            .query_row([key], |row| row.get::<_, Vec<u8>>(0))
            .optional()?;
        if value.is_some() {
            connection
                .prepare_cached("UPDATE functions SET used = ?2 WHERE key = ?1")?
                .execute(params![key, now_seconds()])?;
        }
        Ok(value)
    }

    fn store(&self, key: &[u8], value: &[u8]) -> rusqlite::Result<()> {
        let connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        connection
            .prepare_cached(
                "INSERT OR REPLACE INTO functions (key, value, used) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, value, now_seconds()])?;
        Ok(())
    }
}

impl CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let found = if self.usable() {
            self.lookup(key).unwrap_or_else(|err| {
                self.back_off(&err);
                None
            })
        } else {
            None
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found.map(Cow::Owned)
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        self.usable()
            && self
                .store(key, &value)
                .map_err(|err| self.back_off(&err))
                .is_ok()
    }
}

/// Drops the least recently used half of the entries while the store is over `max_bytes`.
fn trim_to_size(connection: &Connection, max_bytes: i64) -> rusqlite::Result<()> {
    let bytes: i64 = connection.query_row(
        "SELECT COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM functions",
        [],
        |row| row.get(0),
    )?;
    if bytes <= max_bytes {
        return Ok(());
    }
    connection.execute(
        "DELETE FROM functions WHERE key IN
            (SELECT key FROM functions ORDER BY used LIMIT (SELECT COUNT(*) / 2 FROM functions))",
        [],
    )?;
    connection.execute_batch("VACUUM")
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64)
}

#[cfg(test)]
mod tests;
