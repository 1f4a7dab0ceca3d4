//! The insights database (label `insights`): the schema and every SQL statement of the service.
//!
//! The views are plain tables written through the rules in `projection`: each change reads the
//! stored row's version (or alert state), asks the rule, and writes only if it wins. The
//! `processed` table remembers every applied event id and is written in the same transaction as
//! the view change, so a redelivered event is recognised and changes nothing, even after a crash
//! between the two.

use service_kit::api::ApiError;
use service_kit::clock::now_millis;
use service_kit::db::{
    col_int, col_opt_int, col_opt_text, col_real, col_text, exec, int, opt_int, real, text,
    transaction, with_schema,
};
use spin_sdk::sqlite::{Connection, Row, Value};

use crate::event::{Alert, AlertId, Change, Customer, Ticket};
use crate::projection::{
    alert_supersedes, resolve_millis, supersedes, AlertState, Priority, TicketTotals,
};
use crate::wire::{AlertView, CustomerView, OpenByPriority, Summary};

/// The SQLite label of the service's database.
pub const DATABASE_LABEL: &str = "insights";

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS processed (
        event_id TEXT PRIMARY KEY,
        processed_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS customers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL,
        version INTEGER NOT NULL
    ) WITHOUT ROWID",
    // `open` and `resolve_ms` are derived by the projection rules when the row is written,
    // so the view queries are plain sums.
    "CREATE TABLE IF NOT EXISTS tickets (
        id INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL,
        priority TEXT NOT NULL,
        status TEXT NOT NULL,
        open INTEGER NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        resolved_at INTEGER,
        resolve_ms INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS tickets_by_customer ON tickets (customer_id)",
    // `id` has no declared type: telemetry's ids are kept as given, number or text.
    "CREATE TABLE IF NOT EXISTS alerts (
        id PRIMARY KEY NOT NULL,
        sensor_id TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        celsius REAL NOT NULL,
        threshold REAL,
        last_celsius REAL,
        raised_at INTEGER NOT NULL,
        resolved_at INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS alerts_by_state ON alerts (state, raised_at)",
];

/// The tables a rebuild empties (views and the processed set).
const TABLES: &[&str] = &["processed", "customers", "tickets", "alerts"];

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
}

pub fn open() -> Result<Connection, ApiError> {
    Ok(Connection::open(DATABASE_LABEL)?)
}

/// Applies one event's change, once per event id, in its own transaction.
pub fn record(conn: &Connection, event_id: &str, change: &Change) -> Result<Outcome, ApiError> {
    with_schema(conn, SCHEMA, |conn| {
        transaction(conn, |conn| apply_once(conn, event_id, change))
    })
}

/// Applies a batch of events in one transaction (duplicates skipped); returns how many applied.
pub fn record_all(conn: &Connection, events: &[(String, Change)]) -> Result<usize, ApiError> {
    with_schema(conn, SCHEMA, |conn| {
        transaction(conn, |conn| apply_all(conn, events))
    })
}

/// Empties the views and the processed set and applies `events`, all in one transaction:
/// readers see the old views or the rebuilt ones, never a half-built state.
pub fn replace_all(conn: &Connection, events: &[(String, Change)]) -> Result<usize, ApiError> {
    with_schema(conn, SCHEMA, |conn| {
        transaction(conn, |conn| {
            for table in TABLES {
                exec(conn, &format!("DELETE FROM {table}"), &[])?;
            }
            apply_all(conn, events)
        })
    })
}

fn apply_all(conn: &Connection, events: &[(String, Change)]) -> Result<usize, ApiError> {
    let mut applied = 0;
    for (event_id, change) in events {
        if apply_once(conn, event_id, change)? == Outcome::Applied {
            applied += 1;
        }
    }
    Ok(applied)
}

/// The dedupe check, the view change and the processed mark; call inside a transaction.
fn apply_once(conn: &Connection, event_id: &str, change: &Change) -> Result<Outcome, ApiError> {
    let seen = exec(
        conn,
        "SELECT 1 FROM processed WHERE event_id = ?",
        &[text(event_id)],
    )?;
    if seen.rows().next().is_some() {
        return Ok(Outcome::Duplicate);
    }
    match change {
        Change::Customer(customer) => apply_customer(conn, customer)?,
        Change::Ticket(ticket) => apply_ticket(conn, ticket)?,
        Change::Alert(alert) => apply_alert(conn, alert)?,
    }
    exec(
        conn,
        "INSERT INTO processed (event_id, processed_at) VALUES (?, ?)",
        &[text(event_id), int(now_millis())],
    )?;
    Ok(Outcome::Applied)
}

fn stored_version(conn: &Connection, sql: &str, key: Value) -> Result<Option<i64>, ApiError> {
    let result = exec(conn, sql, &[key])?;
    let version = result.rows().next().map(|row| col_int(&row, "version"));
    Ok(version)
}

fn apply_customer(conn: &Connection, customer: &Customer) -> Result<(), ApiError> {
    let stored = stored_version(
        conn,
        "SELECT version FROM customers WHERE id = ?",
        text(&customer.id),
    )?;
    if !supersedes(stored, customer.version) {
        return Ok(());
    }
    exec(
        conn,
        "INSERT INTO customers (id, name, tier, version) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = ?2, tier = ?3, version = ?4",
        &[
            text(&customer.id),
            text(&customer.name),
            text(&customer.tier),
            int(customer.version),
        ],
    )?;
    Ok(())
}

fn apply_ticket(conn: &Connection, ticket: &Ticket) -> Result<(), ApiError> {
    let stored = stored_version(
        conn,
        "SELECT version FROM tickets WHERE id = ?",
        int(ticket.id),
    )?;
    if !supersedes(stored, ticket.version) {
        return Ok(());
    }
    exec(
        conn,
        "INSERT INTO tickets (id, customer_id, priority, status, open, version, created_at, resolved_at, resolve_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET customer_id = ?2, priority = ?3, status = ?4, open = ?5,
             version = ?6, created_at = ?7, resolved_at = ?8, resolve_ms = ?9",
        &[
            int(ticket.id),
            text(&ticket.customer_id),
            text(ticket.priority.as_str()),
            text(ticket.status.as_str()),
            int(i64::from(ticket.status.is_open())),
            int(ticket.version),
            int(ticket.created_at),
            opt_int(ticket.resolved_at),
            opt_int(resolve_millis(ticket)),
        ],
    )?;
    Ok(())
}

fn alert_key(id: &AlertId) -> Value {
    match id {
        AlertId::Number(n) => int(*n),
        AlertId::Text(t) => text(t),
    }
}

fn apply_alert(conn: &Connection, alert: &Alert) -> Result<(), ApiError> {
    let result = exec(
        conn,
        "SELECT state FROM alerts WHERE id = ?",
        &[alert_key(&alert.id)],
    )?;
    let stored = result
        .rows()
        .next()
        .and_then(|row| AlertState::parse(&col_text(&row, "state")));
    if !alert_supersedes(stored, alert.state) {
        return Ok(());
    }
    exec(
        conn,
        "INSERT INTO alerts (id, sensor_id, state, reason, celsius, threshold, last_celsius, raised_at, resolved_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET sensor_id = ?2, state = ?3, reason = ?4, celsius = ?5,
             threshold = ?6, last_celsius = ?7, raised_at = ?8, resolved_at = ?9",
        &[
            alert_key(&alert.id),
            text(&alert.sensor_id),
            text(alert.state.as_str()),
            text(&alert.reason),
            real(alert.celsius),
            alert.threshold.map_or(Value::Null, real),
            alert.last_celsius.map_or(Value::Null, real),
            int(alert.raised_at),
            opt_int(alert.resolved_at),
        ],
    )?;
    Ok(())
}

fn ticket_totals(row: &Row<'_>) -> TicketTotals {
    TicketTotals {
        total: col_int(row, "total"),
        open: col_int(row, "open"),
        resolve_millis_sum: col_int(row, "resolve_sum"),
        resolve_count: col_int(row, "resolve_count"),
    }
}

/// One customer's view (`None`: nothing known). One statement, so one consistent snapshot.
pub fn customer_view(
    conn: &Connection,
    customer_id: &str,
) -> Result<Option<CustomerView>, ApiError> {
    with_schema(conn, SCHEMA, |conn| {
        let result = exec(
            conn,
            "SELECT (SELECT name FROM customers WHERE id = ?1) AS name,
                    (SELECT tier FROM customers WHERE id = ?1) AS tier,
                    COUNT(*) AS total, SUM(open) AS open,
                    SUM(resolve_ms) AS resolve_sum, COUNT(resolve_ms) AS resolve_count
             FROM tickets WHERE customer_id = ?1",
            &[text(customer_id)],
        )?;
        let Some(row) = result.rows().next() else {
            return Ok(None);
        };
        // `name` is NOT NULL in the table, so NULL here means no customer row.
        let details = col_opt_text(&row, "name").map(|name| (name, col_text(&row, "tier")));
        Ok(CustomerView::new(customer_id, details, ticket_totals(&row)))
    })
}

/// The support summary, in one statement.
pub fn summary(conn: &Connection) -> Result<Summary, ApiError> {
    with_schema(conn, SCHEMA, |conn| {
        let result = exec(
            conn,
            "SELECT COUNT(*) AS total,
                    SUM(open AND priority = 'low') AS low,
                    SUM(open AND priority = 'normal') AS normal,
                    SUM(open AND priority = 'high') AS high,
                    SUM(open AND priority = 'urgent') AS urgent,
                    SUM(resolve_ms) AS resolve_sum, COUNT(resolve_ms) AS resolve_count,
                    (SELECT COUNT(*) FROM (SELECT id FROM customers UNION SELECT customer_id FROM tickets))
                        AS customers
             FROM tickets",
            &[],
        )?;
        let row = result.rows().next();
        let mut open = OpenByPriority::default();
        let (totals, customers) = match &row {
            Some(row) => {
                for priority in [
                    Priority::Low,
                    Priority::Normal,
                    Priority::High,
                    Priority::Urgent,
                ] {
                    open.add(priority, col_int(row, priority.as_str()));
                }
                (ticket_totals(row), col_int(row, "customers"))
            }
            None => (TicketTotals::default(), 0),
        };
        Ok(Summary::new(open, totals, customers))
    })
}

/// Active alerts, newest first, at most `limit`.
pub fn active_alerts(conn: &Connection, limit: i64) -> Result<Vec<AlertView>, ApiError> {
    with_schema(conn, SCHEMA, |conn| {
        let result = exec(
            conn,
            "SELECT id, sensor_id, state, reason, celsius, threshold, last_celsius, raised_at, resolved_at
             FROM alerts WHERE state = 'active' ORDER BY raised_at DESC, id DESC LIMIT ?",
            &[int(limit)],
        )?;
        let alerts = result
            .rows()
            .map(|row| AlertView::from(&alert_row(&row)))
            .collect();
        Ok(alerts)
    })
}

fn alert_row(row: &Row<'_>) -> Alert {
    let id = match row.get::<i64>("id") {
        Some(n) => AlertId::Number(n),
        None => AlertId::Text(col_text(row, "id")),
    };
    Alert {
        id,
        sensor_id: col_text(row, "sensor_id"),
        state: AlertState::parse(&col_text(row, "state")).unwrap_or(AlertState::Active),
        reason: col_text(row, "reason"),
        celsius: col_real(row, "celsius").unwrap_or_default(),
        threshold: col_real(row, "threshold"),
        last_celsius: col_real(row, "last_celsius"),
        raised_at: col_int(row, "raised_at"),
        resolved_at: col_opt_int(row, "resolved_at"),
    }
}
