//! Every SQL statement of the service, over its own database (label `events`).
//!
//! Tables: `topics` (names), `events` (the log: offsets from 1 per topic, id unique per topic;
//! a topic's head is its largest offset, one index seek), `subscriptions`, `cursors` (one per subscription and matching topic: last
//! delivered offset, retry state and the delivery lease), `dead_letters` and `bootstrap_applied`.
//! Statements are constant strings (the host caches them prepared); times are Unix millis.

use serde::Serialize;
use serde_json::value::RawValue;
use service_kit::clock::format_millis;
use service_kit::db::{
    col_int, col_opt_int, col_opt_text, col_text, exec, int, opt_int, text, transaction,
    with_schema,
};
use service_kit::ApiError;
use spin_sdk::sqlite::{Connection, Value};
use utoipa::ToSchema;

use crate::contract::CloudEventSchema;
use crate::domain::{any_matches, NewEvent, StartFrom, SubscriptionSpec};

pub const LABEL: &str = "events";

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS topics (
        name TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS events (
        topic TEXT NOT NULL,
        seq INTEGER NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        event TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        PRIMARY KEY (topic, seq),
        UNIQUE (topic, id)
    )",
    "CREATE TABLE IF NOT EXISTS subscriptions (
        name TEXT PRIMARY KEY,
        patterns TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        max_attempts INTEGER NOT NULL,
        start_from TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS cursors (
        subscription TEXT NOT NULL,
        topic TEXT NOT NULL,
        delivered INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error TEXT,
        last_error_at INTEGER,
        lease_until INTEGER,
        lease_token TEXT,
        PRIMARY KEY (subscription, topic)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS cursors_by_topic ON cursors (topic)",
    "CREATE TABLE IF NOT EXISTS dead_letters (
        subscription TEXT NOT NULL,
        topic TEXT NOT NULL,
        seq INTEGER NOT NULL,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        failed_at INTEGER NOT NULL,
        PRIMARY KEY (subscription, topic, seq)
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS bootstrap_applied (
        name TEXT PRIMARY KEY,
        applied_at INTEGER NOT NULL
    ) WITHOUT ROWID",
];

pub fn open() -> Result<Connection, ApiError> {
    Ok(Connection::open(LABEL)?)
}

/// Runs `op`, creating the schema first if this is the database's first use.
pub fn schema<T>(
    conn: &Connection,
    op: impl FnMut(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    with_schema(conn, SCHEMA, op)
}

/// Runs reads in one deferred transaction, so they all see the same snapshot (a view must not
/// show a dead letter next to a cursor read before it was moved). Takes no write lock.
fn snapshot<T>(
    conn: &Connection,
    reads: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    conn.execute("BEGIN", &[])?;
    let result = reads(conn);
    // Ending a read-only transaction cannot lose anything; ROLLBACK also ends it after an error.
    let _ = conn.execute("ROLLBACK", &[]);
    result
}

fn first_int(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    column: &str,
) -> Result<Option<i64>, ApiError> {
    Ok(exec(conn, sql, params)?
        .rows()
        .next()
        .map(|row| col_int(&row, column)))
}

// ---------------------------------------------------------------------------------------------
// The log

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

fn patterns(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// An event of the log with its offset in the topic.
#[derive(Serialize, ToSchema)]
pub struct LoggedEvent {
    /// The event's offset: 1 for the topic's first event, one more for each next.
    #[schema(minimum = 1)]
    pub offset: i64,
    /// The event as published (structured mode).
    #[schema(value_type = CloudEventSchema)]
    pub event: Box<RawValue>,
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

fn raw(json: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(json)
        .map_err(|err| ApiError::storage(format!("stored event is not JSON: {err}")))
}

/// A topic and its head.
#[derive(Serialize, ToSchema)]
pub struct TopicView {
    pub name: String,
    /// The topic's last offset (0 while it holds no event).
    #[schema(minimum = 0)]
    pub head: i64,
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

// ---------------------------------------------------------------------------------------------
// Subscriptions

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

fn upsert_subscription(
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

/// A subscription's progress on one topic.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct CursorView {
    pub topic: String,
    /// The last offset acknowledged (or dead-lettered).
    #[schema(minimum = 0)]
    pub delivered: i64,
    /// The topic's last offset.
    #[schema(minimum = 0)]
    pub head: i64,
    /// Events not delivered yet.
    #[schema(minimum = 0)]
    pub lag: i64,
    /// Failed attempts at the next event.
    #[schema(minimum = 0)]
    pub attempts: i64,
    /// When the next attempt is due after a failure (RFC 3339).
    #[schema(required = true, format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// The last failure's message.
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[serde(skip)]
    last_error_at: Option<i64>,
}

/// A subscription, its cursors and its delivery state.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct SubscriptionView {
    pub name: String,
    /// Its topic patterns.
    pub topics: Vec<String>,
    pub endpoint: String,
    pub max_attempts: i64,
    pub from: StartFrom,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// One per matching topic, by topic.
    pub cursors: Vec<CursorView>,
    /// Events not delivered yet, over every cursor.
    #[schema(minimum = 0)]
    pub lag: i64,
    /// The latest failure's message over every cursor.
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// How many dead letters it holds.
    #[schema(minimum = 0)]
    pub dead_letters: i64,
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

// ---------------------------------------------------------------------------------------------
// Bootstrap subscriptions

/// Names of bootstrap subscriptions already applied (created once, so a DELETE sticks).
pub fn applied_bootstrap(conn: &Connection) -> Result<Vec<String>, ApiError> {
    schema(conn, |conn| {
        let rows = exec(conn, "SELECT name FROM bootstrap_applied", &[])?;
        Ok(rows.rows().map(|row| col_text(&row, "name")).collect())
    })
}

/// Applies each entry once: marks it applied and creates the subscription unless one exists.
pub fn apply_bootstrap(
    conn: &Connection,
    entries: &[&(String, SubscriptionSpec)],
    now: i64,
) -> Result<(), ApiError> {
    schema(conn, |conn| {
        transaction(conn, |conn| {
            for (name, spec) in entries.iter().map(|e| (&e.0, &e.1)) {
                let first = exec(
                    conn,
                    "INSERT INTO bootstrap_applied (name, applied_at) VALUES (?1, ?2)
                     ON CONFLICT (name) DO NOTHING RETURNING name",
                    &[text(name.as_str()), int(now)],
                )?;
                let exists = exec(
                    conn,
                    "SELECT 1 AS found FROM subscriptions WHERE name = ?1",
                    &[text(name.as_str())],
                )?
                .rows()
                .next()
                .is_some();
                if first.rows().next().is_some() && !exists {
                    upsert_subscription(conn, name, spec, now)?;
                }
            }
            Ok(())
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Delivery: cursors due, the lease, acknowledgements, failures and dead letters

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

fn outgoing(row: &spin_sdk::sqlite::Row<'_>, offset_column: &str) -> Outgoing {
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

// ---------------------------------------------------------------------------------------------
// Dead letters

/// An event the subscription gave up on, with why.
#[derive(Serialize, ToSchema)]
pub struct DeadLetterView {
    pub topic: String,
    #[schema(minimum = 1)]
    pub offset: i64,
    #[schema(value_type = CloudEventSchema)]
    pub event: Box<RawValue>,
    /// The last attempt's failure.
    pub error: String,
    #[schema(minimum = 1)]
    pub attempts: i64,
    #[schema(format = DateTime)]
    pub failed_at: String,
}

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
