//! The log: topics, appends (idempotent on id), reads and heads.

use serde_json::value::RawValue;
use service_kit::db::{col_int, col_text, exec, int, text, transaction};
use service_kit::ApiError;
use spin_sdk::sqlite::Connection;

use crate::domain::{any_matches, NewEvent};
use crate::wire::{LoggedEvent, TopicView};

use super::{first_int, schema};

/// What a publisher needs to know about a topic first: `None` if it does not exist yet, else
/// whether any subscription has a cursor on it (if none, there is nothing to push).
pub fn topic_state(conn: &Connection, topic: &str) -> Result<Option<bool>, ApiError> {
    schema(conn, |conn| {
        let result = exec(
            conn,
            "SELECT EXISTS (SELECT 1 FROM cursors WHERE topic = ?1) AS subscribed FROM topics WHERE name = ?1",
            &[text(topic)],
        )?;
        let state = result
            .rows()
            .next()
            .map(|row| col_int(&row, "subscribed") != 0);
        Ok(state)
    })
}

/// Appends `events` to `topic`; a known id keeps its original offset. A batch is one
/// transaction. The hot case, one event to a `known` topic, is a single statement (atomic on
/// its own), so the write lock is held for one call only. A new topic gets a cursor for every
/// subscription whose patterns match it, in the transaction that creates it.
pub fn publish(
    conn: &Connection,
    topic: &str,
    events: &[NewEvent],
    now: i64,
    known: bool,
) -> Result<Vec<i64>, ApiError> {
    schema(conn, |conn| {
        if let ([event], true) = (events, known) {
            return Ok(vec![append(conn, topic, event, now)?]);
        }
        transaction(conn, |conn| {
            if !known {
                create_topic(conn, topic, now)?;
            }
            events
                .iter()
                .map(|event| append(conn, topic, event, now))
                .collect()
        })
    })
}

/// Appends one event at the topic's head + 1 (read and written by the same statement, under the
/// write lock), or returns the offset its id already has.
fn append(conn: &Connection, topic: &str, event: &NewEvent, now: i64) -> Result<i64, ApiError> {
    let inserted = exec(
        conn,
        "INSERT INTO events (topic, seq, id, type, event, published_at)
         SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5 FROM events WHERE topic = ?1
         ON CONFLICT (topic, id) DO NOTHING RETURNING seq",
        &[
            text(topic),
            text(event.id.as_str()),
            text(event.event_type.as_str()),
            text(event.json.as_str()),
            int(now),
        ],
    )?;
    if let Some(seq) = inserted.rows().next().map(|row| col_int(&row, "seq")) {
        return Ok(seq);
    }
    first_int(
        conn,
        "SELECT seq FROM events WHERE topic = ?1 AND id = ?2",
        &[text(topic), text(event.id.as_str())],
        "seq",
    )?
    .ok_or_else(|| ApiError::storage("duplicate id without a row"))
}

/// Registers a topic (unless a concurrent publish just did) with its subscriptions' cursors.
fn create_topic(conn: &Connection, topic: &str, now: i64) -> Result<(), ApiError> {
    let created = exec(
        conn,
        "INSERT INTO topics (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING RETURNING name",
        &[text(topic), int(now)],
    )?;
    if created.rows().next().is_none() {
        return Ok(());
    }
    let subscriptions = exec(conn, "SELECT name, patterns FROM subscriptions", &[])?;
    for row in subscriptions.rows() {
        if any_matches(&patterns(&col_text(&row, "patterns")), topic) {
            // Every event of a topic younger than the subscription is "after subscription time".
            exec(
                conn,
                "INSERT INTO cursors (subscription, topic, delivered) VALUES (?1, ?2, 0)",
                &[text(col_text(&row, "name")), text(topic)],
            )?;
        }
    }
    Ok(())
}

pub(super) fn patterns(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The topic's head and up to `limit` events after `after`, in order (unknown topic: 0, none).
pub fn read(
    conn: &Connection,
    topic: &str,
    after: i64,
    limit: i64,
) -> Result<(i64, Vec<LoggedEvent>), ApiError> {
    schema(conn, |conn| {
        let rows = exec(
            conn,
            "SELECT seq, event FROM events WHERE topic = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            &[text(topic), int(after), int(limit)],
        )?;
        // Read after the events, so the head is never below an offset returned.
        let head = first_int(
            conn,
            "SELECT COALESCE(MAX(seq), 0) AS head FROM events WHERE topic = ?1",
            &[text(topic)],
            "head",
        )?
        .unwrap_or(0);
        let events = rows
            .rows()
            .map(|row| {
                Ok(LoggedEvent {
                    offset: col_int(&row, "seq"),
                    event: raw(col_text(&row, "event"))?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok((head, events))
    })
}

pub(super) fn raw(json: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(json)
        .map_err(|err| ApiError::storage(format!("stored event is not JSON: {err}")))
}

pub fn topics(conn: &Connection) -> Result<Vec<TopicView>, ApiError> {
    schema(conn, |conn| {
        let rows = exec(conn, "SELECT name, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = name) AS head FROM topics ORDER BY name", &[])?;
        Ok(rows
            .rows()
            .map(|row| TopicView {
                name: col_text(&row, "name"),
                head: col_int(&row, "head"),
            })
            .collect())
    })
}
