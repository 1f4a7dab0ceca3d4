//! Statement execution: only the first statement of an `execute` string
//! runs, as in Spin. A typical statement takes microseconds, less than
//! handing it to another thread, so it runs on the request's own task; one
//! that would wait for a lock fails as busy there and is retried on the
//! blocking pool (see [`super::lock`]).

use super::bindings::fermyon::spin::sqlite::{Error as SqlError, QueryResult, RowResult, Value};
use super::lock::is_busy;
use super::pool::SqliteDatabase;
use super::write_queue::{begins_transaction, writes};
use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::sync::Mutex;

/// Largest query result handed to a guest, as in Spin.
const MAX_RESULT_BYTES: usize = 128 * 1024 * 1024;

/// Why a statement failed.
pub enum Failure {
    Sqlite(rusqlite::Error),
    TooLarge,
}

impl Failure {
    /// The database lock was taken (nothing was done).
    pub fn is_busy(&self) -> bool {
        matches!(self, Failure::Sqlite(err) if is_busy(err))
    }

    pub fn into_sql_error(self) -> SqlError {
        match self {
            Failure::Sqlite(err) => SqlError::Io(err.to_string()),
            Failure::TooLarge => SqlError::Io(format!(
                "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
            )),
        }
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(err: rusqlite::Error) -> Failure {
        Failure::Sqlite(err)
    }
}

/// Runs the statement on the handle's connection, taking one from the pool at the first.
pub fn run_on(
    database: &SqliteDatabase,
    connection: &Mutex<Option<Connection>>,
    sql: &str,
    parameters: &[Value],
) -> Result<QueryResult, Failure> {
    with_connection(database, connection, |conn| {
        run_first_statement(conn, sql, parameters)
    })
}

/// Whether the statement must wait for the database's write turn before it
/// runs (see [`super::write_queue`]): the database has a queue, the handle
/// holds no turn yet and the statement may take the write lock.
pub fn needs_turn(
    database: &SqliteDatabase,
    connection: &Mutex<Option<Connection>>,
    sql: &str,
) -> Result<bool, Failure> {
    if database.writers.is_none() {
        return Ok(false);
    }
    with_connection(database, connection, |conn| Ok(writes(conn, sql)))
}

/// Whether the statement is a transaction by itself: the connection is in
/// autocommit and the statement does not begin a transaction that stays open.
pub fn stands_alone(connection: &Mutex<Option<Connection>>, sql: &str) -> bool {
    in_autocommit(connection) && !begins_transaction(sql)
}

/// Whether the handle's connection is outside any transaction (no connection
/// yet counts as outside).
pub fn in_autocommit(connection: &Mutex<Option<Connection>>) -> bool {
    let slot = connection.lock().unwrap_or_else(|p| p.into_inner());
    slot.as_ref().is_none_or(Connection::is_autocommit)
}

fn with_connection<T>(
    database: &SqliteDatabase,
    connection: &Mutex<Option<Connection>>,
    work: impl FnOnce(&Connection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut slot = connection.lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        // Opening can meet the lock too (setting WAL mode): kept as the SQLite error, so a
        // busy open is retried where waiting is allowed and any other is the guest's `io`.
        *slot = Some(database.checkout()?);
    }
    work(slot.as_ref().expect("connection just opened"))
}

/// Prepares and runs only the first statement of `sql`; the rest is ignored.
fn run_first_statement(
    conn: &Connection,
    sql: &str,
    parameters: &[Value],
) -> Result<QueryResult, Failure> {
    // The common case, one statement, comes from the connection's statement
    // cache; anything else (several statements, errors) is prepared again
    // statement by statement so that exactly the first one runs or fails.
    if let Ok(mut stmt) = conn.prepare_cached(sql) {
        return run_statement(&mut stmt, parameters);
    }
    let mut batch = rusqlite::Batch::new(conn, sql);
    let Some(mut stmt) = batch.next()? else {
        return Ok(QueryResult {
            columns: vec![],
            rows: vec![],
        });
    };
    run_statement(&mut stmt, parameters)
}

fn run_statement(
    stmt: &mut rusqlite::Statement<'_>,
    parameters: &[Value],
) -> Result<QueryResult, Failure> {
    let expected = stmt.parameter_count();
    if parameters.len() != expected {
        return Err(rusqlite::Error::InvalidParameterCount(parameters.len(), expected).into());
    }
    for (index, value) in parameters.iter().enumerate() {
        let position = index + 1;
        match value {
            Value::Integer(i) => stmt.raw_bind_parameter(position, i),
            Value::Real(f) => stmt.raw_bind_parameter(position, f),
            Value::Text(s) => stmt.raw_bind_parameter(position, s),
            Value::Blob(b) => stmt.raw_bind_parameter(position, b),
            Value::Null => stmt.raw_bind_parameter(position, rusqlite::types::Null),
        }?;
    }
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let column_count = columns.len();
    let mut rows = Vec::new();
    let mut size = 0usize;
    let mut cursor = stmt.raw_query();
    while let Some(row) = cursor.next()? {
        let mut values = Vec::with_capacity(column_count);
        for i in 0..column_count {
            let value = match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            };
            size += match &value {
                Value::Text(t) => t.len() + 16,
                Value::Blob(b) => b.len() + 16,
                _ => 16,
            };
            values.push(value);
        }
        if size > MAX_RESULT_BYTES {
            return Err(Failure::TooLarge);
        }
        rows.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::sqlite::config::SqliteConfig;
    use crate::capabilities::sqlite::lock::Waiting;
    use std::path::Path;
    use std::time::Duration;

    fn run(conn: &Connection, sql: &str, params: Vec<Value>) -> Result<QueryResult, SqlError> {
        run_first_statement(conn, sql, &params).map_err(Failure::into_sql_error)
    }

    #[test]
    fn a_locked_database_fails_as_busy_at_once_where_waiting_is_forbidden() {
        let dir = tempfile::tempdir().unwrap();
        let database = database(dir.path());
        let holder = database.checkout().unwrap();
        holder
            .execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        let waiter = Mutex::new(None);
        let started = std::time::Instant::now();
        let failure = {
            let _no_waiting = Waiting::forbidden();
            run_on(&database, &waiter, "INSERT INTO t VALUES (2)", &[])
                .err()
                .unwrap()
        };
        assert!(failure.is_busy());
        assert!(started.elapsed() < Duration::from_millis(50));
        // Where waiting is allowed, the statement waits for the holder instead.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            holder.execute("COMMIT", []).unwrap();
        });
        assert!(run_on(&database, &waiter, "INSERT INTO t VALUES (2)", &[]).is_ok());
        releaser.join().unwrap();
    }

    fn database(dir: &Path) -> SqliteDatabase {
        SqliteDatabase::new(&SqliteConfig::Spin {
            path: Some(dir.join("db.sqlite")),
            allow_attach_file: false,
        })
        .unwrap()
    }

    #[test]
    fn only_the_first_statement_runs() {
        let dir = tempfile::tempdir().unwrap();
        let conn = database(dir.path()).connect().unwrap();
        let result = run(&conn, "SELECT 1; SELECT 2", vec![]).unwrap();
        assert_eq!(result.rows.len(), 1);
        assert!(matches!(result.rows[0].values[0], Value::Integer(1)));
        let after_garbage = run(&conn, "SELECT 1; SELEC 2", vec![]).unwrap();
        assert_eq!(
            after_garbage.rows.len(),
            1,
            "text after the first statement is ignored, even if invalid"
        );
    }

    #[test]
    fn values_round_trip_by_storage_class() {
        let dir = tempfile::tempdir().unwrap();
        let conn = database(dir.path()).connect().unwrap();
        let params = vec![
            Value::Integer(7),
            Value::Real(1.5),
            Value::Text("t".into()),
            Value::Blob(vec![1, 2]),
            Value::Null,
        ];
        let result = run(&conn, "SELECT ?, ?, ?, ?, ? AS last", params).unwrap();
        assert_eq!(result.columns[4], "last");
        let v = &result.rows[0].values;
        assert!(matches!(v[0], Value::Integer(7)));
        assert!(matches!(v[1], Value::Real(f) if f == 1.5));
        assert!(matches!(&v[2], Value::Text(t) if t == "t"));
        assert!(matches!(&v[3], Value::Blob(b) if b == &vec![1, 2]));
        assert!(matches!(v[4], Value::Null));
    }

    #[test]
    fn errors_are_io_with_sqlite_text() {
        let dir = tempfile::tempdir().unwrap();
        let conn = database(dir.path()).connect().unwrap();
        let err = run(&conn, "SELEC 1", vec![]).unwrap_err();
        assert!(matches!(err, SqlError::Io(m) if m.contains("syntax error")));
        let err = run(&conn, "SELECT ?, ?", vec![Value::Integer(1)]).unwrap_err();
        assert!(matches!(err, SqlError::Io(m) if m.contains("Got 1, needed 2")),);
    }

    #[test]
    fn only_clean_connections_are_pooled() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let clean = db.checkout().unwrap();
        db.checkin(clean);
        let in_transaction = db.checkout().unwrap();
        in_transaction.execute_batch("BEGIN").unwrap();
        db.checkin(in_transaction);
        let with_temp = db.checkout().unwrap();
        with_temp
            .execute_batch("CREATE TEMP TABLE scratch (x)")
            .unwrap();
        db.checkin(with_temp);
        assert_eq!(
            db.idle.lock().unwrap().len(),
            0,
            "connections left in a transaction or with TEMP objects are closed"
        );
        let reused = db.checkout().unwrap();
        let err = run(&reused, "SELECT * FROM scratch", vec![]).unwrap_err();
        assert!(matches!(err, SqlError::Io(m) if m.contains("no such table")));
    }

    #[test]
    fn attaching_a_file_is_not_authorized() {
        let dir = tempfile::tempdir().unwrap();
        let conn = database(dir.path()).connect().unwrap();
        let other = dir.path().join("other.db");
        let sql = format!("ATTACH '{}' AS other", other.display());
        let err = run(&conn, &sql, vec![]).unwrap_err();
        assert!(matches!(err, SqlError::Io(m) if m.contains("not authorized")));
        assert!(run(&conn, "ATTACH ':memory:' AS scratch", vec![]).is_ok());
    }
}
