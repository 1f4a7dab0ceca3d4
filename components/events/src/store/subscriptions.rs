//! Subscriptions and their cursors, as stored and as shown.

use service_kit::clock::format_millis;
use service_kit::db::{col_int, col_opt_int, col_opt_text, col_text, exec, int, text, transaction};
use service_kit::ApiError;
use spin_sdk::sqlite::{Connection, Value};

use crate::domain::{any_matches, StartFrom, SubscriptionSpec};
use crate::wire::{CursorView, SubscriptionView};

use super::log::patterns;
use super::{schema, snapshot};

/// Creates or updates a subscription and its cursors; `true` if it was created.
pub fn put_subscription(
    conn: &Connection,
    name: &str,
    spec: &SubscriptionSpec,
    now: i64,
) -> Result<bool, ApiError> {
    schema(conn, |conn| {
        transaction(conn, |conn| upsert_subscription(conn, name, spec, now))
    })
}

pub(super) fn upsert_subscription(
    conn: &Connection,
    name: &str,
    spec: &SubscriptionSpec,
    now: i64,
) -> Result<bool, ApiError> {
    let patterns_json = serde_json::to_string(&spec.topics).map_err(ApiError::storage)?;
    let existing = exec(
        conn,
        "SELECT endpoint FROM subscriptions WHERE name = ?1",
        &[text(name)],
    )?;
    let old_endpoint = existing.rows().next().map(|row| col_text(&row, "endpoint"));
    let created = old_endpoint.is_none();
    if created {
        exec(
            conn,
            "INSERT INTO subscriptions (name, patterns, endpoint, max_attempts, start_from, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            &[
                text(name),
                text(patterns_json),
                text(spec.endpoint.as_str()),
                int(spec.max_attempts),
                text(spec.from.as_str()),
                int(now),
            ],
        )?;
    } else {
        exec(
            conn,
            "UPDATE subscriptions SET patterns = ?1, endpoint = ?2, max_attempts = ?3, start_from = ?4, updated_at = ?5
             WHERE name = ?6",
            &[
                text(patterns_json),
                text(spec.endpoint.as_str()),
                int(spec.max_attempts),
                text(spec.from.as_str()),
                int(now),
                text(name),
            ],
        )?;
        if old_endpoint.as_deref() != Some(spec.endpoint.as_str()) {
            // A new endpoint deserves a try now, not after the old one's backoff.
            exec(
                conn,
                "UPDATE cursors SET attempts = 0, next_attempt_at = NULL WHERE subscription = ?1",
                &[text(name)],
            )?;
        }
    }
    // Cursors follow the patterns: new matches start per `from`, lost matches are dropped.
    let cursors = exec(
        conn,
        "SELECT topic FROM cursors WHERE subscription = ?1",
        &[text(name)],
    )?;
    let have: Vec<String> = cursors.rows().map(|row| col_text(&row, "topic")).collect();
    let topics = exec(conn, "SELECT name, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = name) AS head FROM topics", &[])?;
    for row in topics.rows() {
        let topic = col_text(&row, "name");
        let matches = any_matches(&spec.topics, &topic);
        let has = have.contains(&topic);
        if matches && !has {
            let start = match spec.from {
                StartFrom::Earliest => 0,
                StartFrom::Latest => col_int(&row, "head"),
            };
            exec(
                conn,
                "INSERT INTO cursors (subscription, topic, delivered) VALUES (?1, ?2, ?3)",
                &[text(name), text(topic.as_str()), int(start)],
            )?;
        } else if !matches && has {
            exec(
                conn,
                "DELETE FROM cursors WHERE subscription = ?1 AND topic = ?2",
                &[text(name), text(topic.as_str())],
            )?;
        }
    }
    Ok(created)
}

/// Deletes a subscription with its cursors and dead letters; `false` if there was none.
pub fn delete_subscription(conn: &Connection, name: &str) -> Result<bool, ApiError> {
    schema(conn, |conn| {
        transaction(conn, |conn| {
            let deleted = exec(
                conn,
                "DELETE FROM subscriptions WHERE name = ?1 RETURNING name",
                &[text(name)],
            )?;
            if deleted.rows().next().is_none() {
                return Ok(false);
            }
            exec(
                conn,
                "DELETE FROM cursors WHERE subscription = ?1",
                &[text(name)],
            )?;
            exec(
                conn,
                "DELETE FROM dead_letters WHERE subscription = ?1",
                &[text(name)],
            )?;
            Ok(true)
        })
    })
}

/// One subscription's view, or every subscription's (by name) when `name` is `None`.
pub fn subscription_views(
    conn: &Connection,
    name: Option<&str>,
) -> Result<Vec<SubscriptionView>, ApiError> {
    schema(conn, |conn| snapshot(conn, |conn| views(conn, name)))
}

fn views(conn: &Connection, name: Option<&str>) -> Result<Vec<SubscriptionView>, ApiError> {
    {
        let filter = [text(name.unwrap_or_default())];
        let (subs_sql, cursors_sql, dead_sql) = if name.is_some() {
            (
                "SELECT * FROM subscriptions WHERE name = ?1",
                "SELECT c.*, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = c.topic) AS head FROM cursors c
                 WHERE c.subscription = ?1 ORDER BY c.topic",
                "SELECT subscription, COUNT(*) AS n FROM dead_letters WHERE subscription = ?1 GROUP BY subscription",
            )
        } else {
            (
                "SELECT * FROM subscriptions ORDER BY name",
                "SELECT c.*, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = c.topic) AS head FROM cursors c ORDER BY c.subscription, c.topic",
                "SELECT subscription, COUNT(*) AS n FROM dead_letters GROUP BY subscription",
            )
        };
        let params: &[Value] = if name.is_some() { &filter } else { &[] };
        let subs = exec(conn, subs_sql, params)?;
        let cursors = exec(conn, cursors_sql, params)?;
        let dead = exec(conn, dead_sql, params)?;
        let cursor_rows: Vec<(String, CursorView)> = cursors
            .rows()
            .map(|row| {
                let head = col_int(&row, "head");
                let delivered = col_int(&row, "delivered");
                let attempts = col_int(&row, "attempts");
                (
                    col_text(&row, "subscription"),
                    CursorView {
                        topic: col_text(&row, "topic"),
                        delivered,
                        head,
                        lag: (head - delivered).max(0),
                        attempts,
                        next_attempt_at: col_opt_int(&row, "next_attempt_at").map(format_millis),
                        last_error: col_opt_text(&row, "last_error"),
                        last_error_at: col_opt_int(&row, "last_error_at"),
                    },
                )
            })
            .collect();
        let dead_counts: Vec<(String, i64)> = dead
            .rows()
            .map(|row| (col_text(&row, "subscription"), col_int(&row, "n")))
            .collect();
        let views = subs
            .rows()
            .map(|row| {
                let name = col_text(&row, "name");
                let cursors: Vec<CursorView> = cursor_rows
                    .iter()
                    .filter(|(sub, _)| *sub == name)
                    .map(|(_, cursor)| cursor.clone())
                    .collect();
                let last_error = cursors
                    .iter()
                    .filter(|c| c.last_error.is_some())
                    .max_by_key(|c| c.last_error_at)
                    .and_then(|c| c.last_error.clone());
                SubscriptionView {
                    lag: cursors.iter().map(|c| c.lag).sum(),
                    last_error,
                    dead_letters: dead_counts
                        .iter()
                        .find(|(sub, _)| *sub == name)
                        .map_or(0, |(_, n)| *n),
                    topics: patterns(&col_text(&row, "patterns")),
                    endpoint: col_text(&row, "endpoint"),
                    max_attempts: col_int(&row, "max_attempts"),
                    from: StartFrom::from_stored(&col_text(&row, "start_from")),
                    created_at: format_millis(col_int(&row, "created_at")),
                    updated_at: format_millis(col_int(&row, "updated_at")),
                    cursors,
                    name,
                }
            })
            .collect();
        Ok(views)
    }
}

pub fn subscription_exists(conn: &Connection, name: &str) -> Result<bool, ApiError> {
    schema(conn, |conn| {
        Ok(exec(
            conn,
            "SELECT 1 AS found FROM subscriptions WHERE name = ?1",
            &[text(name)],
        )?
        .rows()
        .next()
        .is_some())
    })
}
