//! Requests per key per minute, in fixed wall-clock windows, counted in the gateway's own SQLite
//! database (label `gateway`). One upsert both counts and reads the count, and SQLite runs it
//! under its write lock, so concurrent requests (on any number of instances) are counted exactly.

use service_kit::db::{col_int, exec, int, text, with_schema};
use service_kit::ApiError;
use spin_sdk::sqlite::Connection;

const LABEL: &str = "gateway";
const WINDOW_MILLIS: i64 = 60_000;

const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS rate_windows (
    key_id TEXT NOT NULL,
    window INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key_id, window)
) WITHOUT ROWID"];

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub limit: u64,
    /// Requests left in this window after this one.
    pub remaining: u64,
    /// `Some(seconds until the next window)` when this request is over the limit.
    pub retry_after: Option<u64>,
}

/// The window `now_millis` falls in.
pub fn window_of(now_millis: i64) -> i64 {
    now_millis.div_euclid(WINDOW_MILLIS)
}

/// Whole seconds until the window after `now_millis` starts (1 to 60).
pub fn seconds_to_next_window(now_millis: i64) -> u64 {
    let left = WINDOW_MILLIS - now_millis.rem_euclid(WINDOW_MILLIS);
    (left as u64).div_ceil(1000).max(1)
}

/// The verdict for the `count`-th request of a window with `limit`.
pub fn judge(count: u64, limit: u64, now_millis: i64) -> Verdict {
    Verdict {
        limit,
        remaining: limit.saturating_sub(count),
        retry_after: (count > limit).then(|| seconds_to_next_window(now_millis)),
    }
}

/// Counts one request of `key_id` and judges it.
pub fn count_request(key_id: &str, limit: u64, now_millis: i64) -> Result<Verdict, ApiError> {
    let conn = Connection::open(LABEL)?;
    let window = window_of(now_millis);
    let count = with_schema(&conn, SCHEMA, |conn| {
        let result = exec(
            conn,
            "INSERT INTO rate_windows (key_id, window, count) VALUES (?, ?, 1)
             ON CONFLICT (key_id, window) DO UPDATE SET count = count + 1
             RETURNING count",
            &[text(key_id), int(window)],
        )?;
        let count = result.rows().next().map(|row| col_int(&row, "count"));
        Ok(count.unwrap_or(1))
    })?;
    if count == 1 {
        // The key's first request of a window: its older windows are done with.
        exec(
            &conn,
            "DELETE FROM rate_windows WHERE key_id = ? AND window < ?",
            &[text(key_id), int(window)],
        )?;
    }
    Ok(judge(count.max(0) as u64, limit, now_millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_wall_clock_minutes() {
        assert_eq!(window_of(0), 0);
        assert_eq!(window_of(59_999), 0);
        assert_eq!(window_of(60_000), 1);
        assert_eq!(seconds_to_next_window(0), 60);
        assert_eq!(seconds_to_next_window(59_001), 1);
        assert_eq!(seconds_to_next_window(59_999), 1);
        assert_eq!(seconds_to_next_window(30_500), 30);
    }

    #[test]
    fn the_request_after_the_limit_is_refused() {
        assert_eq!(
            judge(3, 3, 10_000),
            Verdict {
                limit: 3,
                remaining: 0,
                retry_after: None
            }
        );
        assert_eq!(judge(4, 3, 10_000).retry_after, Some(50));
        assert_eq!(judge(1, 3, 10_000).remaining, 2);
    }
}
