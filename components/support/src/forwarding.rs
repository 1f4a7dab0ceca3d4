//! Forwarding the outbox after a write, by one request at a time.
//!
//! service-kit's `outbox::forward` publishes everything pending. When every concurrent writer runs
//! it, each event is published once per writer that saw it (the events service drops the
//! duplicates, but pays for each), and the writers queue on each other's deletes: 32 concurrent
//! ticket creations managed about 250/s, less than one writer alone. So writers take turns
//! through a lease (one row in `outbox_forwarder`):
//!
//! - A write claims the lease *inside its own transaction*. It either gets it, or the lease was
//!   held when the write committed.
//! - The holder forwards, then frees the lease and counts the outbox in one statement. Any write
//!   that committed while it held the lease is counted there, so the holder forwards again
//!   (claiming anew) until the outbox is empty. Nothing waits for a later write, except when:
//! - The holder stops after [`BUDGET_MS`] so its own client is not kept waiting under endless
//!   load; the next write takes over (or `POST /support/outbox/flush`). If the events service
//!   fails, the holder stops at once, as `forward_quietly` does, and the next write tries again.
//! - The lease expires after [`LEASE_MS`], so a holder that died blocks nobody for long.
//!
//! Order and exactly-once-in-effect are unchanged: every forward publishes from the oldest
//! pending row, and events ignores ids it already has.

use service_kit::{clock, outbox};
use spin_sdk::sqlite::Connection;

use crate::handlers::SERVICE;
use crate::store;

/// How long a claim lasts if its holder never frees it.
pub const LEASE_MS: i64 = 10_000;
/// How long one request keeps forwarding others' events before leaving them to the next.
pub const BUDGET_MS: i64 = 500;

/// Claims the lease for the write in progress (call inside its transaction); the token to pass
/// to [`forward_if_claimed`], or `None` when another request is forwarding.
pub fn claim(
    conn: &Connection,
    token: &str,
    now: i64,
) -> Result<Option<String>, service_kit::ApiError> {
    Ok(store::claim_forwarder(conn, token, now, LEASE_MS)?.then(|| token.to_owned()))
}

/// What the holder does after a forward and the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Claim again and forward what came in meanwhile.
    Again,
    Stop,
}

/// `forwarded_ok`: the forward reached the end without an error; `left`: the count taken with the
/// release (`None`: the lease had expired and passed on); `elapsed_ms` since the first forward.
fn next(forwarded_ok: bool, left: Option<i64>, elapsed_ms: i64) -> Next {
    match left {
        Some(pending) if forwarded_ok && pending > 0 && elapsed_ms < BUDGET_MS => Next::Again,
        _ => Next::Stop,
    }
}

/// After the write committed: if it claimed the lease, forward the outbox (see the module docs).
/// Never fails: trouble is logged and the events stay in the outbox for later.
pub async fn forward_if_claimed(conn: &Connection, token: Option<String>) {
    let Some(token) = token else { return };
    let started = clock::now_millis();
    loop {
        let forwarded = outbox::forward(conn).await;
        let left = store::release_forwarder(conn, &token);
        let forwarded_ok = match forwarded {
            Ok(report) => match report.error {
                Some(error) => {
                    eprintln!(
                        "{SERVICE}: outbox: {} event(s) left for later: {error}",
                        report.pending
                    );
                    false
                }
                None => true,
            },
            Err(err) => {
                eprintln!("{SERVICE}: outbox: {err:?}");
                false
            }
        };
        let left = left.unwrap_or_else(|err| {
            eprintln!("{SERVICE}: outbox: releasing the forwarder lease: {err:?}");
            None
        });
        if next(forwarded_ok, left, clock::now_millis() - started) == Next::Stop {
            return;
        }
        match store::claim_forwarder(conn, &token, clock::now_millis(), LEASE_MS) {
            Ok(true) => {}
            // Another request holds it now and forwards these too.
            Ok(false) => return,
            Err(err) => {
                eprintln!("{SERVICE}: outbox: claiming the forwarder lease: {err:?}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_forwards_again_while_events_came_in() {
        assert_eq!(next(true, Some(3), 10), Next::Again);
    }

    #[test]
    fn the_holder_stops_when_the_outbox_is_empty() {
        assert_eq!(next(true, Some(0), 10), Next::Stop);
    }

    #[test]
    fn the_holder_stops_when_events_fails() {
        assert_eq!(next(false, Some(3), 10), Next::Stop);
    }

    #[test]
    fn the_holder_stops_when_the_lease_passed_on() {
        assert_eq!(next(true, None, 10), Next::Stop);
    }

    #[test]
    fn the_holder_stops_when_its_budget_is_spent() {
        assert_eq!(next(true, Some(3), BUDGET_MS), Next::Stop);
    }
}
