//! Lock policy shared by every SQLite connection of the host (databases and
//! the key-value file): a statement on an async worker must not wait for a
//! lock, so there the busy handler gives up at once and the caller retries on
//! the blocking pool, where waiting is allowed.

use std::cell::Cell;
use std::time::Duration;

/// How long a writer waits for the database lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// Whether statements on this thread may wait for a lock (see [`Waiting`]).
    static MAY_WAIT: Cell<bool> = const { Cell::new(true) };
}

/// While alive, statements on this thread do not wait for locks: the busy
/// handler answers "give up", and the statement fails as busy.
pub struct Waiting {
    before: bool,
}

impl Waiting {
    pub fn forbidden() -> Waiting {
        Waiting {
            before: MAY_WAIT.with(|may| may.replace(false)),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        MAY_WAIT.with(|may| may.set(self.before));
    }
}

/// Busy handler: short sleeps first so contended writers get the lock
/// quickly, then longer ones, giving up after about `BUSY_TIMEOUT`; at once
/// where waiting is forbidden.
pub fn wait_for_lock(attempt: i32) -> bool {
    if !MAY_WAIT.with(Cell::get) {
        return false;
    }
    let (sleep, budget_spent) = if attempt < 20 {
        (
            Duration::from_micros(100),
            Duration::from_micros(100) * attempt as u32,
        )
    } else {
        (
            Duration::from_millis(1),
            Duration::from_millis(2) + Duration::from_millis(1) * (attempt as u32 - 20),
        )
    };
    if budget_spent >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(sleep);
    true
}

/// Whether `err` says another connection holds the lock a statement needed.
pub fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error {
                code: rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked,
                ..
            },
            _,
        )
    )
}
