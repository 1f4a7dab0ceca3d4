//! Waiting for what happens in the background: [`eventually`] is the tests' only way to wait,
//! never a fixed sleep; [`poll`] is its primitive, for the harness's own startup waits.

use std::thread;
use std::time::{Duration, Instant};

/// The pause between two looks of [`eventually`].
const EVENTUALLY_INTERVAL: Duration = Duration::from_millis(20);

/// Calls `check` until it gives `Ok`, pausing briefly between calls; panics at
/// `limit` with `what` and the last observation (the last `Err`). The tests'
/// only way to wait for something that happens in the background: never a
/// fixed sleep.
pub fn eventually<T>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let mut last = String::new();
    let found = poll(limit, EVENTUALLY_INTERVAL, || {
        check().map_err(|seen| last = seen).ok()
    });
    found.unwrap_or_else(|| panic!("{what}: not within {limit:?}; last seen: {last}"))
}

/// Calls `check` every `interval` until it gives `Some`; `None` once `limit`
/// has passed (`check` runs at least once, and once more at the deadline).
pub(crate) fn poll<T>(
    limit: Duration,
    interval: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(interval);
    }
}

/// Reads `read` until its text contains `needle` (a process's output may reach its file a moment
/// after the response that caused it), for up to 10 s; returns that text.
pub fn eventually_contains(read: impl Fn() -> String, needle: &str) -> String {
    eventually(
        Duration::from_secs(10),
        &format!("output mentioning {needle:?}"),
        || {
            let text = read();
            if text.contains(needle) {
                Ok(text)
            } else {
                Err(text)
            }
        },
    )
}
