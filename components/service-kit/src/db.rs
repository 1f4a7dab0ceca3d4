//! SQLite helpers over Spin's `sqlite` interface: transactions, lazily created schemas, typed columns.

use crate::api::ApiError;
use spin_sdk::sqlite::{Connection, QueryResult, Row, Value};

/// Runs `work` in one `BEGIN IMMEDIATE` transaction: committed if it returns `Ok`, rolled back
/// otherwise, so nothing is half-written. IMMEDIATE takes the write lock up front, so concurrent
/// writers queue (the host's busy handler) instead of failing on a lock upgrade.
pub fn transaction<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    conn.execute("BEGIN IMMEDIATE", &[])?;
    match work(conn) {
        Ok(value) => match conn.execute("COMMIT", &[]) {
            Ok(_) => Ok(value),
            Err(err) => {
                let _ = conn.execute("ROLLBACK", &[]);
                Err(err.into())
            }
        },
        Err(err) => {
            let _ = conn.execute("ROLLBACK", &[]);
            Err(err)
        }
    }
}

/// Runs `op`; if it failed because the schema does not exist yet, creates it (every statement
/// idempotent, in one transaction) and runs `op` once more. The hot path runs no DDL.
pub fn with_schema<T>(
    conn: &Connection,
    schema: &[&str],
    op: impl FnMut(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    with_schema_parts(conn, &[schema], op)
}

/// [`with_schema`] for a schema made of parts (a service's own tables and, say, `outbox::SCHEMA`),
/// created in order in one transaction.
pub fn with_schema_parts<T>(
    conn: &Connection,
    parts: &[&[&str]],
    mut op: impl FnMut(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    match op(conn) {
        Err(err) if is_missing_table(&err) => {
            transaction(conn, |conn| {
                for statement in parts.iter().flat_map(|part| part.iter()) {
                    conn.execute(statement, &[])?;
                }
                Ok(())
            })?;
            op(conn)
        }
        other => other,
    }
}

fn is_missing_table(err: &ApiError) -> bool {
    err.detail
        .as_deref()
        .is_some_and(|d| d.contains("no such table"))
}

/// Runs one statement with parameters.
pub fn exec(conn: &Connection, sql: &str, params: &[Value]) -> Result<QueryResult, ApiError> {
    Ok(conn.execute(sql, params)?)
}

/// Text parameter.
/// Reads the first row of a result, if there is one.
pub fn first_row<T>(result: &QueryResult, read: impl FnOnce(&Row<'_>) -> T) -> Option<T> {
    let row = result.rows().next()?;
    Some(read(&row))
}

pub fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

/// Integer parameter.
pub fn int(value: i64) -> Value {
    Value::Integer(value)
}

/// Real parameter.
pub fn real(value: f64) -> Value {
    Value::Real(value)
}

/// Optional text parameter (NULL when absent).
pub fn opt_text(value: Option<impl Into<String>>) -> Value {
    value.map_or(Value::Null, |v| Value::Text(v.into()))
}

/// Optional integer parameter (NULL when absent).
pub fn opt_int(value: Option<i64>) -> Value {
    value.map_or(Value::Null, Value::Integer)
}

/// A text column (empty when NULL or missing).
pub fn col_text(row: &Row<'_>, column: &str) -> String {
    row.get::<&str>(column).unwrap_or_default().to_owned()
}

/// An optional text column.
pub fn col_opt_text(row: &Row<'_>, column: &str) -> Option<String> {
    row.get::<&str>(column).map(str::to_owned)
}

/// An integer column (0 when NULL or missing).
pub fn col_int(row: &Row<'_>, column: &str) -> i64 {
    row.get::<i64>(column).unwrap_or_default()
}

/// An optional integer column.
pub fn col_opt_int(row: &Row<'_>, column: &str) -> Option<i64> {
    row.get::<i64>(column)
}

/// A real column; integers widen (SQLite stores whole reals as integers after arithmetic).
pub fn col_real(row: &Row<'_>, column: &str) -> Option<f64> {
    row.get::<f64>(column)
        .or_else(|| row.get::<i64>(column).map(|v| v as f64))
}
