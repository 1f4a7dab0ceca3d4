//! Dead letters: listing, counting, replaying and removing them.

use service_kit::clock::format_millis;
use service_kit::db::{col_int, col_text, exec, int, text};
use service_kit::ApiError;
use spin_sdk::sqlite::Connection;

use super::delivery::outgoing;
use super::log::raw;
use super::Outgoing;
use super::{first_int, schema, snapshot};
use crate::wire::DeadLetterView;

/// A subscription's dead letters (at most `limit`, by topic and offset) and how many there are,
/// from one snapshot.
pub fn dead_letters(
    conn: &Connection,
    name: &str,
    limit: i64,
) -> Result<(i64, Vec<DeadLetterView>), ApiError> {
    snapshot(conn, |conn| {
        Ok((
            dead_letter_count(conn, name)?,
            dead_letter_list(conn, name, limit)?,
        ))
    })
}

fn dead_letter_list(
    conn: &Connection,
    name: &str,
    limit: i64,
) -> Result<Vec<DeadLetterView>, ApiError> {
    let rows = exec(
        conn,
        "SELECT d.topic, d.seq, d.error, d.attempts, d.failed_at, e.event FROM dead_letters d
         JOIN events e ON e.topic = d.topic AND e.seq = d.seq
         WHERE d.subscription = ?1 ORDER BY d.topic, d.seq LIMIT ?2",
        &[text(name), int(limit)],
    )?;
    rows.rows()
        .map(|row| {
            Ok(DeadLetterView {
                topic: col_text(&row, "topic"),
                offset: col_int(&row, "seq"),
                event: raw(col_text(&row, "event"))?,
                error: col_text(&row, "error"),
                attempts: col_int(&row, "attempts"),
                failed_at: format_millis(col_int(&row, "failed_at")),
            })
        })
        .collect()
}

pub fn dead_letter_count(conn: &Connection, name: &str) -> Result<i64, ApiError> {
    Ok(first_int(
        conn,
        "SELECT COUNT(*) AS n FROM dead_letters WHERE subscription = ?1",
        &[text(name)],
        "n",
    )?
    .unwrap_or(0))
}

/// A dead letter to replay: its topic and event.
pub struct Replayable {
    pub topic: String,
    pub event: Outgoing,
}

pub fn replayable(conn: &Connection, name: &str, limit: i64) -> Result<Vec<Replayable>, ApiError> {
    let rows = exec(
        conn,
        "SELECT d.topic, d.seq, e.id, e.type, e.event FROM dead_letters d
         JOIN events e ON e.topic = d.topic AND e.seq = d.seq
         WHERE d.subscription = ?1 ORDER BY d.topic, d.seq LIMIT ?2",
        &[text(name), int(limit)],
    )?;
    Ok(rows
        .rows()
        .map(|row| Replayable {
            topic: col_text(&row, "topic"),
            event: outgoing(&row, "seq"),
        })
        .collect())
}

pub fn remove_dead_letter(
    conn: &Connection,
    name: &str,
    topic: &str,
    offset: i64,
) -> Result<(), ApiError> {
    exec(
        conn,
        "DELETE FROM dead_letters WHERE subscription = ?1 AND topic = ?2 AND seq = ?3",
        &[text(name), text(topic), int(offset)],
    )?;
    Ok(())
}

pub fn replay_failed(
    conn: &Connection,
    name: &str,
    topic: &str,
    offset: i64,
    error: &str,
    now: i64,
) -> Result<(), ApiError> {
    exec(
        conn,
        "UPDATE dead_letters SET error = ?1, attempts = attempts + 1, failed_at = ?2
         WHERE subscription = ?3 AND topic = ?4 AND seq = ?5",
        &[text(error), int(now), text(name), text(topic), int(offset)],
    )?;
    Ok(())
}

/// A subscription's endpoint, if it exists.
pub fn subscription_endpoint(conn: &Connection, name: &str) -> Result<Option<String>, ApiError> {
    schema(conn, |conn| {
        Ok(exec(
            conn,
            "SELECT endpoint FROM subscriptions WHERE name = ?1",
            &[text(name)],
        )?
        .rows()
        .next()
        .map(|row| col_text(&row, "endpoint")))
    })
}
