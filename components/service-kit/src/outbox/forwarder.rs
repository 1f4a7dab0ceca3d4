//! Forwarding the outbox after a write, by one request at a time.
//!
//! [`super::forward`] publishes everything pending. When every concurrent writer runs it, each
//! event is published once per writer that saw it (the events service drops the duplicates, but
//! pays for each), and the writers queue on each other's deletes: 32 concurrent ticket creations
//! managed about 250/s, less than one writer alone. So writers take turns through a lease (one
//! row in `outbox_forwarder`):
//!
//! - A write claims the lease *inside its own transaction*. It either gets it, or the lease was
//!   held when the write committed.
//! - The holder forwards once its own response is sent (`reply::send_then_forward`): its client
//!   never waits for the publish. It then frees the lease and counts the outbox in one
//!   statement. Any write
//!   that committed while it held the lease is counted there, so the holder forwards again
//!   (claiming anew) until the outbox is empty. Before claiming anew it pauses for
//!   [`HANDOFF_PAUSE`]: under load a new write claims the free lease meanwhile and forwards
//!   those rows itself, so the holder stops (one pass per instance, where a holder that kept
//!   looping competed with the next requests for the write lock and the CPU, and set their tail
//!   latency); when writes stop, nobody claims and the holder finishes the outbox. Nothing waits
//!   for a later write, except when:
//! - The holder stops after [`BUDGET_MS`], bounding one instance's work under endless load; the
//!   next write takes over (or `POST /<service>/outbox/flush`). If the events service fails,
//!   the holder stops at once (the events stay in the outbox) and the next write tries again.
//! - The lease expires after [`LEASE_MS`] (or `outbox_lease_ms`), so a holder that died (a
//!   replica killed mid-forward) blocks nobody for long.
//!
//! Order and exactly-once-in-effect are unchanged: every forward publishes from the oldest
//! pending row, and events ignores ids it already has.

use std::cell::RefCell;

use crate::api::ApiError;
use crate::clock;
use crate::db::{col_int, exec, int, text};
use spin_sdk::sqlite::Connection;

/// How long a claim lasts if its holder never frees it (the `outbox_lease_ms` variable may
/// change it).
pub const LEASE_MS: i64 = 10_000;
/// The variable that sets the lease's length.
pub const LEASE_VARIABLE: &str = "outbox_lease_ms";
/// How long one instance keeps forwarding others' events before leaving them to the next.
pub const BUDGET_MS: i64 = 500;
/// How long a holder leaves the freed lease to a new write before claiming it again.
pub const HANDOFF_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// The lease's table: one row, free when `until` has passed.
pub(crate) const TABLE: &str = "CREATE TABLE IF NOT EXISTS outbox_forwarder (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token TEXT NOT NULL,
        until INTEGER NOT NULL
    )";
pub(crate) const FREE_ROW: &str =
    "INSERT OR IGNORE INTO outbox_forwarder (id, token, until) VALUES (1, '', 0)";

/// A claimed lease: this request forwards the outbox once its write has committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    token: String,
}

/// Claims the lease for the write in progress (call inside its transaction); `None` when
/// another request is forwarding.
pub fn claim(conn: &Connection, now: i64) -> Result<Option<Lease>, ApiError> {
    let token = uuid::Uuid::new_v4().to_string();
    Ok(take(conn, &token, now)?.then_some(Lease { token }))
}

/// Takes the lease for `token` for the lease's length if it is free (or expired); true if taken.
fn take(conn: &Connection, token: &str, now: i64) -> Result<bool, ApiError> {
    let until = now + crate::lease::lease_ms(LEASE_VARIABLE, LEASE_MS);
    let result = exec(
        conn,
        "UPDATE outbox_forwarder SET token = ?, until = ? WHERE id = 1 AND until <= ? RETURNING id",
        &[text(token), int(until), int(now)],
    )?;
    Ok(!result.rows.is_empty())
}

/// Frees the lease if `token` still holds it, and then (same statement, so nothing commits in
/// between) counts the outbox: `None` if the lease had passed to someone else.
fn release(conn: &Connection, token: &str) -> Result<Option<i64>, ApiError> {
    let result = exec(
        conn,
        "UPDATE outbox_forwarder SET until = 0 WHERE id = 1 AND token = ?
         RETURNING (SELECT COUNT(*) FROM outbox) AS pending",
        &[text(token)],
    )?;
    let pending = result.rows().next().map(|row| col_int(&row, "pending"));
    Ok(pending)
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

thread_local! {
    /// The lease this request's write claimed, with its database label: forwarded once the
    /// response is sent ([`forward_deferred`]). One request per instance, so one slot.
    static DEFERRED: RefCell<Option<(Lease, &'static str)>> = const { RefCell::new(None) };
}

/// After the write committed: leaves the forward, if the write claimed the lease, for after the
/// response (the entry point sends it with `reply::send_then_forward`), so the client does not
/// wait for it. `label` is the database the outbox is in.
pub fn forward_after_response(lease: Option<Lease>, label: &'static str) {
    if let Some(lease) = lease {
        DEFERRED.with(|slot| *slot.borrow_mut() = Some((lease, label)));
    }
}

/// Runs the forward left by [`forward_after_response`], if any. Never fails (see
/// [`forward_if_claimed`]).
pub async fn forward_deferred(service: &str) {
    let Some((lease, label)) = DEFERRED.with(|slot| slot.borrow_mut().take()) else {
        return;
    };
    match Connection::open(label) {
        Ok(conn) => forward_if_claimed(&conn, Some(lease), service).await,
        // The lease expires by itself; the next write or a flush forwards instead.
        Err(err) => eprintln!("{service}: outbox: opening {label} to forward: {err}"),
    }
}

/// After the write committed: if it claimed the lease, forward the outbox (see the module docs).
/// Never fails: trouble is logged (as `service`) and the events stay in the outbox for later.
pub async fn forward_if_claimed(conn: &Connection, lease: Option<Lease>, service: &str) {
    let Some(Lease { token }) = lease else { return };
    let started = clock::now_millis();
    loop {
        let forwarded = super::forward(conn).await;
        let left = release(conn, &token);
        let forwarded_ok = match forwarded {
            Ok(report) => match report.error {
                Some(error) => {
                    eprintln!(
                        "{service}: outbox: {} event(s) left for later: {error}",
                        report.pending
                    );
                    false
                }
                None => true,
            },
            Err(err) => {
                eprintln!("{service}: outbox: {err:?}");
                false
            }
        };
        let left = left.unwrap_or_else(|err| {
            eprintln!("{service}: outbox: releasing the forwarder lease: {err:?}");
            None
        });
        if next(forwarded_ok, left, clock::now_millis() - started) == Next::Stop {
            return;
        }
        crate::deadline::sleep(HANDOFF_PAUSE).await;
        match take(conn, &token, clock::now_millis()) {
            Ok(true) => {}
            // Another request holds it now and forwards these too.
            Ok(false) => return,
            Err(err) => {
                eprintln!("{service}: outbox: claiming the forwarder lease: {err:?}");
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
