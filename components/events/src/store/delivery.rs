//! Delivery: cursors due, the lease, acknowledgements, failures and moves to dead letters.

use service_kit::db::{col_int, col_text, exec, int, opt_int, text, transaction};
use service_kit::ApiError;
use spin_sdk::sqlite::Connection;

use super::{first_int, schema};

/// A cursor to deliver: which subscription, topic and endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub subscription: String,
    pub topic: String,
    pub endpoint: String,
    pub max_attempts: i64,
}

/// Due = behind its head, not leased by a live deliverer, not waiting out a backoff. `?1` = now.
macro_rules! due_cursors {
    ($filter:literal) => {
        concat!(
            "SELECT c.subscription, c.topic, s.endpoint, s.max_attempts FROM cursors c
             JOIN subscriptions s ON s.name = c.subscription
             WHERE ",
            $filter,
            " AND c.delivered < (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = c.topic)
               AND (c.lease_until IS NULL OR c.lease_until < ?1)
               AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?1)"
        )
    };
}

#[derive(Clone, Copy)]
pub enum Due<'a> {
    Topic(&'a str),
    Subscription(&'a str),
    All,
}

pub fn due(conn: &Connection, which: Due<'_>, now: i64) -> Result<Vec<Target>, ApiError> {
    let result = schema(conn, |conn| match which {
        Due::Topic(topic) => exec(conn, due_cursors!("c.topic = ?2"), &[int(now), text(topic)]),
        Due::Subscription(name) => exec(
            conn,
            due_cursors!("c.subscription = ?2"),
            &[int(now), text(name)],
        ),
        Due::All => exec(conn, due_cursors!("1"), &[int(now)]),
    })?;
    Ok(result
        .rows()
        .map(|row| Target {
            subscription: col_text(&row, "subscription"),
            topic: col_text(&row, "topic"),
            endpoint: col_text(&row, "endpoint"),
            max_attempts: col_int(&row, "max_attempts"),
        })
        .collect())
}

/// Whether one cursor is due (a read: cheaper than a claim that fails).
pub fn is_due(conn: &Connection, target: &Target, now: i64) -> Result<bool, ApiError> {
    Ok(exec(
        conn,
        "SELECT 1 AS due FROM cursors c
         WHERE c.subscription = ?1 AND c.topic = ?2 AND c.delivered < (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = c.topic)
           AND (c.lease_until IS NULL OR c.lease_until < ?3)
           AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?3)",
        &[
            text(target.subscription.as_str()),
            text(target.topic.as_str()),
            int(now),
        ],
    )?
    .rows()
    .next()
    .is_some())
}

/// The claimed cursor's position: last delivered offset and failed attempts of the next event.
pub struct Claim {
    pub delivered: i64,
    pub attempts: i64,
}

/// Takes the cursor's lease if it is due and free (one conditional UPDATE, so exactly one
/// deliverer wins); `None` if someone else holds it or nothing is due.
pub fn claim(
    conn: &Connection,
    target: &Target,
    token: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<Claim>, ApiError> {
    let claimed = exec(
        conn,
        "UPDATE cursors SET lease_until = ?1, lease_token = ?2
         WHERE subscription = ?3 AND topic = ?4
           AND (lease_until IS NULL OR lease_until < ?5)
           AND (next_attempt_at IS NULL OR next_attempt_at <= ?5)
           AND delivered < (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = ?4)
         RETURNING delivered, attempts",
        &[
            int(lease_until),
            text(token),
            text(target.subscription.as_str()),
            text(target.topic.as_str()),
            int(now),
        ],
    )?;
    let claim = claimed.rows().next().map(|row| Claim {
        delivered: col_int(&row, "delivered"),
        attempts: col_int(&row, "attempts"),
    });
    Ok(claim)
}

/// An event on its way to a subscriber.
pub struct Outgoing {
    pub offset: i64,
    pub id: String,
    pub event_type: String,
    pub json: String,
}

pub fn events_after(
    conn: &Connection,
    topic: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Outgoing>, ApiError> {
    let rows = exec(
        conn,
        "SELECT seq, id, type, event FROM events WHERE topic = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        &[text(topic), int(after), int(limit)],
    )?;
    Ok(rows.rows().map(|row| outgoing(&row, "seq")).collect())
}

pub(super) fn outgoing(row: &spin_sdk::sqlite::Row<'_>, offset_column: &str) -> Outgoing {
    Outgoing {
        offset: col_int(row, offset_column),
        id: col_text(row, "id"),
        event_type: col_text(row, "type"),
        json: col_text(row, "event"),
    }
}

/// Records an acknowledgement: the cursor advances to `offset`, the retry state is cleared, and
/// the lease is extended to `lease_until` or released (`None`). `false` if the lease was lost.
pub fn ack(
    conn: &Connection,
    target: &Target,
    token: &str,
    offset: i64,
    lease_until: Option<i64>,
) -> Result<bool, ApiError> {
    let result = exec(
        conn,
        "UPDATE cursors SET delivered = ?1, attempts = 0, next_attempt_at = NULL, last_error = NULL,
                last_error_at = NULL, lease_until = ?2,
                lease_token = CASE WHEN ?2 IS NULL THEN NULL ELSE lease_token END
         WHERE subscription = ?3 AND topic = ?4 AND lease_token = ?5 RETURNING delivered",
        &[
            int(offset),
            opt_int(lease_until),
            text(target.subscription.as_str()),
            text(target.topic.as_str()),
            text(token),
        ],
    )?;
    let acknowledged = result.rows().next().is_some();
    Ok(acknowledged)
}

/// Records a failed attempt to be retried at `next_attempt_at`, and releases the lease.
#[allow(clippy::too_many_arguments)]
pub fn fail(
    conn: &Connection,
    target: &Target,
    token: &str,
    delivered: i64,
    attempts: i64,
    next_attempt_at: i64,
    error: &str,
    now: i64,
) -> Result<(), ApiError> {
    exec(
        conn,
        "UPDATE cursors SET attempts = ?1, next_attempt_at = ?2, last_error = ?3, last_error_at = ?4,
                lease_until = NULL, lease_token = NULL, delivered = MAX(delivered, ?8)
         WHERE subscription = ?5 AND topic = ?6 AND lease_token = ?7",
        &[
            int(attempts),
            int(next_attempt_at),
            text(error),
            int(now),
            text(target.subscription.as_str()),
            text(target.topic.as_str()),
            text(token),
            int(delivered),
        ],
    )?;
    Ok(())
}

/// Moves the event at `offset` to the dead letters and advances the cursor past it, in one
/// transaction; `false` (nothing written) if the lease was lost.
#[allow(clippy::too_many_arguments)]
pub fn dead_letter(
    conn: &Connection,
    target: &Target,
    token: &str,
    offset: i64,
    attempts: i64,
    error: &str,
    now: i64,
    lease_until: i64,
) -> Result<bool, ApiError> {
    transaction(conn, |conn| {
        let moved = exec(
            conn,
            "UPDATE cursors SET delivered = ?1, attempts = 0, next_attempt_at = NULL, last_error = ?2,
                    last_error_at = ?3, lease_until = ?4
             WHERE subscription = ?5 AND topic = ?6 AND lease_token = ?7 RETURNING delivered",
            &[
                int(offset),
                text(error),
                int(now),
                int(lease_until),
                text(target.subscription.as_str()),
                text(target.topic.as_str()),
                text(token),
            ],
        )?;
        if moved.rows().next().is_none() {
            return Ok(false);
        }
        exec(
            conn,
            "INSERT INTO dead_letters (subscription, topic, seq, error, attempts, failed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (subscription, topic, seq) DO UPDATE
             SET error = excluded.error, attempts = excluded.attempts, failed_at = excluded.failed_at",
            &[
                text(target.subscription.as_str()),
                text(target.topic.as_str()),
                int(offset),
                text(error),
                int(attempts),
                int(now),
            ],
        )?;
        Ok(true)
    })
}

/// Gives the lease back (e.g. when the time budget ran out), recording `delivered` if the
/// cursor is behind it.
pub fn release(
    conn: &Connection,
    target: &Target,
    token: &str,
    delivered: i64,
) -> Result<(), ApiError> {
    exec(
        conn,
        "UPDATE cursors SET lease_until = NULL, lease_token = NULL, delivered = MAX(delivered, ?1)
         WHERE subscription = ?2 AND topic = ?3 AND lease_token = ?4",
        &[
            int(delivered),
            text(target.subscription.as_str()),
            text(target.topic.as_str()),
            text(token),
        ],
    )?;
    Ok(())
}

/// Events not yet delivered, over every cursor.
pub fn total_lag(conn: &Connection) -> Result<i64, ApiError> {
    schema(conn, |conn| {
        first_int(
            conn,
            "SELECT COALESCE(SUM((SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = c.topic) - c.delivered), 0) AS lag FROM cursors c",
            &[],
            "lag",
        )
    })
    .map(Option::unwrap_or_default)
}
