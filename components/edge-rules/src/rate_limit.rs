//! Requests per key per window, in fixed wall-clock windows (a minute unless
//! `rate_limit_window_seconds` says otherwise), counted in the gateway's own SQLite database
//! (label `gateway`). One upsert both counts and reads the count, and SQLite runs it under its
//! write lock, so concurrent requests (on any number of instances) are counted exactly.

use std::time::Duration;

use service_kit::db::{col_int, exec, int, text, with_schema};
use service_kit::ApiError;
use spin_sdk::sqlite::Connection;

const LABEL: &str = "gateway";

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

/// The window of length `window` that `now_millis` falls in (windows start at the epoch).
pub fn window_of(now_millis: i64, window: Duration) -> i64 {
    now_millis.div_euclid(window_millis(window))
}

/// Whole seconds until the window after `now_millis` starts (1 to the window's length).
pub fn seconds_to_next_window(now_millis: i64, window: Duration) -> u64 {
    let window = window_millis(window);
    let left = window - now_millis.rem_euclid(window);
    (left as u64).div_ceil(1000).max(1)
}

/// The verdict for the `count`-th request of a window with `limit`.
pub fn judge(count: u64, limit: u64, now_millis: i64, window: Duration) -> Verdict {
    Verdict {
        limit,
        remaining: limit.saturating_sub(count),
        retry_after: (count > limit).then(|| seconds_to_next_window(now_millis, window)),
    }
}

/// Counts one request of `key_id` in the current `window` and judges it.
pub fn count_request(
    key_id: &str,
    limit: u64,
    now_millis: i64,
    window: Duration,
) -> Result<Verdict, ApiError> {
    let conn = Connection::open(LABEL)?;
    let window_number = window_of(now_millis, window);
    let count = with_schema(&conn, SCHEMA, |conn| {
        let result = exec(
            conn,
            "INSERT INTO rate_windows (key_id, window, count) VALUES (?, ?, 1)
             ON CONFLICT (key_id, window) DO UPDATE SET count = count + 1
             RETURNING count",
            &[text(key_id), int(window_number)],
        )?;
        let count = result.rows().next().map(|row| col_int(&row, "count"));
        Ok(count.unwrap_or(1))
    })?;
    if count == 1 {
        // The key's first request of a window: its older windows are done with.
        exec(
            &conn,
            "DELETE FROM rate_windows WHERE key_id = ? AND window < ?",
            &[text(key_id), int(window_number)],
        )?;
    }
    Ok(judge(count.max(0) as u64, limit, now_millis, window))
}

/// How a window reads in a message: "minute" for the default, else its length.
pub fn describe_window(window: Duration) -> String {
    match window.as_secs() {
        60 => "minute".to_owned(),
        seconds => format!("{seconds} s"),
    }
}

fn window_millis(window: Duration) -> i64 {
    (window.as_millis() as i64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn windows_are_wall_clock_minutes() {
        assert_eq!(window_of(0, MINUTE), 0);
        assert_eq!(window_of(59_999, MINUTE), 0);
        assert_eq!(window_of(60_000, MINUTE), 1);
        assert_eq!(seconds_to_next_window(0, MINUTE), 60);
        assert_eq!(seconds_to_next_window(59_001, MINUTE), 1);
        assert_eq!(seconds_to_next_window(59_999, MINUTE), 1);
        assert_eq!(seconds_to_next_window(30_500, MINUTE), 30);
    }

    #[test]
    fn shorter_windows_count_from_the_epoch_too() {
        let two = Duration::from_secs(2);
        assert_eq!(window_of(1_999, two), 0);
        assert_eq!(window_of(2_000, two), 1);
        assert_eq!(seconds_to_next_window(2_000, two), 2);
        assert_eq!(seconds_to_next_window(3_500, two), 1);
        assert_eq!(judge(2, 1, 2_200, two).retry_after, Some(2));
        assert_eq!(describe_window(MINUTE), "minute");
        assert_eq!(describe_window(two), "2 s");
    }

    #[test]
    fn the_request_after_the_limit_is_refused() {
        assert_eq!(
            judge(3, 3, 10_000, MINUTE),
            Verdict {
                limit: 3,
                remaining: 0,
                retry_after: None
            }
        );
        assert_eq!(judge(4, 3, 10_000, MINUTE).retry_after, Some(50));
        assert_eq!(judge(1, 3, 10_000, MINUTE).remaining, 2);
    }
}
