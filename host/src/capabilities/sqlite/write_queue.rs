//! The write queue: one per database file, so that this host's writers take
//! turns first come, first served instead of racing SQLite's busy handler.
//!
//! A connection takes a turn before its first statement that writes (or a
//! `BEGIN IMMEDIATE`/`EXCLUSIVE`) and keeps it until the connection is back in
//! autocommit, that is for as long as it may hold SQLite's write lock. Turns
//! are awaited on the request's task, never on a worker thread, and for at
//! most the busy timeout; then the statement fails as SQLite's own busy error
//! would. Readers never queue (WAL lets them run beside the writer). SQLite's
//! busy handler still arbitrates with other processes using the same file.

use super::lock::BUSY_TIMEOUT;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// SQLite's text for `SQLITE_BUSY`, which a guest sees when a turn never came.
const BUSY_MESSAGE: &str = "database is locked";

/// The queue of one database file. Tokio's semaphore hands out its permit
/// in the order it was asked for, which is what makes the queue fair.
#[derive(Debug)]
pub struct WriteQueue {
    turn: Arc<Semaphore>,
}

/// The right to write to the file; the next writer's turn comes when it is
/// dropped.
#[derive(Debug)]
pub struct WriteTurn {
    permit: OwnedSemaphorePermit,
}

impl WriteQueue {
    /// The queue of the file at `path`, shared by every database label, key-value
    /// store and application reload that opens the same file in this process.
    pub fn for_file(path: &Path) -> Arc<WriteQueue> {
        static QUEUES: OnceLock<Mutex<HashMap<PathBuf, Weak<WriteQueue>>>> = OnceLock::new();
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut queues = QUEUES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(queue) = queues.get(&key).and_then(Weak::upgrade) {
            return queue;
        }
        queues.retain(|_, queue| queue.strong_count() > 0);
        let queue = Arc::new(WriteQueue {
            turn: Arc::new(Semaphore::new(1)),
        });
        queues.insert(key, Arc::downgrade(&queue));
        queue
    }

    /// The turn, if it is free and nobody is waiting for it.
    pub fn try_take_turn(&self) -> Option<WriteTurn> {
        let permit = self.turn.clone().try_acquire_owned().ok()?;
        Some(WriteTurn { permit })
    }

    /// Waits for this file's next turn, at most the busy timeout; on timeout
    /// the error SQLite gives for a busy database.
    pub async fn take_turn(&self) -> Result<WriteTurn, rusqlite::Error> {
        self.take_turn_within(BUSY_TIMEOUT).await
    }

    async fn take_turn_within(&self, timeout: Duration) -> Result<WriteTurn, rusqlite::Error> {
        match tokio::time::timeout(timeout, self.turn.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(WriteTurn { permit }),
            // Timed out (or, never, closed): the guest sees a busy database.
            _ => Err(busy_error()),
        }
    }
}

impl WriteTurn {
    /// Ends the turn; true if it went straight to a waiting writer.
    pub fn pass_on(self) -> bool {
        let queue = self.permit.semaphore().clone();
        drop(self);
        queue.available_permits() == 0
    }
}

/// Lets the writer just handed the turn run before the rest of this task.
///
/// The waiter's wake-up put it in this worker's next-task slot, but a task
/// woken later in the same poll (say, whoever reads this request's response)
/// takes that slot and sends it to the back of the run queue: the database
/// would then stay idle for a whole pass over every runnable request, once per
/// handover, and queued writers pay those passes one after the other. Waking
/// this task before it returns pending makes tokio requeue it at the back
/// instead, and the worker runs the slot's task, the new turn holder, next.
pub async fn let_next_writer_run() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

/// SQLite's busy error, as a statement that waited for the lock in vain gets it.
pub fn busy_error() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some(BUSY_MESSAGE.to_owned()),
    )
}

/// Whether `sql` starts with `BEGIN` or `SAVEPOINT` (a transaction that stays open after it).
pub fn begins_transaction(sql: &str) -> bool {
    let first = sql
        .split(|c: char| c.is_whitespace() || c == ';')
        .find(|word| !word.is_empty())
        .unwrap_or_default();
    first.eq_ignore_ascii_case("begin") || first.eq_ignore_ascii_case("savepoint")
}

/// Whether the first statement of `sql` may take the write lock: it changes
/// the database, or it begins a transaction that takes the lock at once.
/// A statement that does not prepare is not a write: it fails without one.
pub fn writes(conn: &Connection, sql: &str) -> bool {
    if begins_write_transaction(sql) {
        return true;
    }
    if let Ok(stmt) = conn.prepare_cached(sql) {
        return !stmt.readonly();
    }
    // Several statements (or an error): only the first one counts, as it is the one that runs.
    let mut batch = rusqlite::Batch::new(conn, sql);
    matches!(rusqlite::fallible_iterator::FallibleIterator::next(&mut batch), Ok(Some(stmt)) if !stmt.readonly())
}

/// `BEGIN IMMEDIATE` or `BEGIN EXCLUSIVE` (SQLite counts every `BEGIN` as
/// read-only, since the statement itself changes nothing).
fn begins_write_transaction(sql: &str) -> bool {
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|word| !word.is_empty());
    let first = words.next().unwrap_or_default();
    let second = words.next().unwrap_or_default();
    first.eq_ignore_ascii_case("begin")
        && (second.eq_ignore_ascii_case("immediate") || second.eq_ignore_ascii_case("exclusive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_write_transactions_are_told_from_reads() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        for sql in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET x = 2",
            "DELETE FROM t",
            "CREATE TABLE u (y)",
            "begin immediate",
            "  BEGIN\nEXCLUSIVE TRANSACTION",
            "INSERT INTO t VALUES (1); SELECT 1",
        ] {
            assert!(writes(&conn, sql), "{sql}");
        }
        for sql in [
            "SELECT * FROM t",
            "BEGIN",
            "BEGIN DEFERRED",
            "COMMIT",
            "ROLLBACK",
            "SELECT 1; INSERT INTO t VALUES (1)",
            "SELEC 1",
        ] {
            assert!(!writes(&conn, sql), "{sql}");
        }
    }

    #[test]
    fn statements_that_leave_a_transaction_open_are_told_apart() {
        for sql in ["BEGIN", " begin immediate", "SAVEPOINT a", "begin;"] {
            assert!(begins_transaction(sql), "{sql}");
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "COMMIT",
            "RELEASE a",
            "beginning",
        ] {
            assert!(!begins_transaction(sql), "{sql}");
        }
    }

    #[tokio::test]
    async fn a_turn_is_taken_at_once_only_when_free() {
        let dir = tempfile::tempdir().unwrap();
        let queue = WriteQueue::for_file(&dir.path().join("db"));
        let held = queue.try_take_turn().expect("a free turn");
        assert!(queue.try_take_turn().is_none());
        drop(held);
        assert!(queue.try_take_turn().is_some());
    }

    #[tokio::test]
    async fn turns_come_in_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let queue = WriteQueue::for_file(&dir.path().join("db"));
        let first = queue.take_turn().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for i in 0..5 {
            let (queue, order) = (queue.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let _turn = queue.take_turn().await.unwrap();
                order.lock().unwrap().push(i);
            }));
            // Let waiter `i` ask before waiter `i + 1`.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_turn_passed_on_tells_whether_a_writer_was_waiting_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let queue = WriteQueue::for_file(&dir.path().join("db"));
        assert!(!queue.try_take_turn().unwrap().pass_on(), "nobody waited");
        let first = queue.take_turn().await.unwrap();
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.take_turn().await.map(drop) }
        });
        // One runtime thread: yielding runs the waiter until it waits for the turn.
        tokio::task::yield_now().await;
        assert!(first.pass_on());
        waiter.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_turn_that_never_comes_is_a_busy_error_after_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let queue = WriteQueue::for_file(&dir.path().join("db"));
        let _held = queue.take_turn().await.unwrap();
        let started = std::time::Instant::now();
        let timeout = Duration::from_millis(100);
        let err = queue.take_turn_within(timeout).await.unwrap_err();
        assert!(started.elapsed() >= timeout);
        assert!(super::super::lock::is_busy(&err));
        assert_eq!(err.to_string(), "database is locked");
    }

    #[test]
    fn one_file_has_one_queue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, b"").unwrap();
        let a = WriteQueue::for_file(&path);
        let b = WriteQueue::for_file(&dir.path().join(".").join("db"));
        assert!(Arc::ptr_eq(&a, &b));
    }
}
