//! Bootstrap subscriptions: which were applied (created once, so a DELETE sticks).

use service_kit::db::{col_text, exec, int, text, transaction};
use service_kit::ApiError;
use spin_sdk::sqlite::Connection;

use crate::domain::SubscriptionSpec;

use super::schema;
use super::subscriptions::upsert_subscription;

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
