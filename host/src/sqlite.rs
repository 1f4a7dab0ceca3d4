//! `fermyon:spin/sqlite@2.0.0`: SQLite databases by label. As in Spin every
//! `open` gets a connection of its own (taken at the first statement) and
//! only the first statement of an `execute` string runs.
//!
//! Opening a SQLite file costs more than a typical query, so connections a
//! guest has finished with go back to a small per-database pool, but only in
//! the state a new connection would have: no open transaction and no TEMP
//! objects. Anything else is closed, exactly as Spin closes every connection.
//!
//! A typical statement takes microseconds, less than handing it to another
//! thread, so it runs on the request's own task. Only one that would wait for
//! a lock (another writer holds it) goes to the blocking pool, where it may
//! wait: inline, the busy handler gives up at once (see [`Waiting`]).

use crate::bindings::fermyon::spin::sqlite::{
    self, Error as SqlError, QueryResult, RowResult, Value,
};
use crate::instance::InstanceState;
use crate::metrics::SqliteOps;
use crate::runtime_config::SqliteConfig;
use anyhow::{Context, Result};
use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::Resource;

/// Connections one instance may hold open at once, as in Spin.
const MAX_CONNECTIONS_PER_INSTANCE: usize = 256;
/// Largest query result handed to a guest, as in Spin.
const MAX_RESULT_BYTES: usize = 128 * 1024 * 1024;
/// How long a writer waits for the database lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept per database file.
const MAX_IDLE_CONNECTIONS: usize = 64;

/// A database label's backing storage.
#[derive(Debug)]
pub struct SqliteDatabase {
    /// `None`: every connection is a fresh in-memory database.
    path: Option<PathBuf>,
    allow_attach_file: bool,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteDatabase {
    pub fn new(config: &SqliteConfig) -> Result<SqliteDatabase> {
        let SqliteConfig::Spin {
            path,
            allow_attach_file,
        } = config;
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let database = SqliteDatabase {
            path: path.clone(),
            allow_attach_file: *allow_attach_file,
            idle: Mutex::new(Vec::new()),
        };
        // Settle the journal mode once per file, not on every connection.
        if let Some(path) = &database.path {
            let conn = Connection::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // WAL: readers never block the writer, and a commit is durable
            // against a crash of the host once `execute` returns.
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        Ok(database)
    }

    /// The default database: `<state dir>/sqlite_db.db`, or in memory.
    pub fn default_config(state_dir: Option<&Path>) -> SqliteConfig {
        SqliteConfig::Spin {
            path: state_dir.map(|d| d.join("sqlite_db.db")),
            allow_attach_file: false,
        }
    }

    /// A connection for one guest handle: an idle one, or a new one.
    fn checkout(&self) -> rusqlite::Result<Connection> {
        // In-memory databases are fresh on every open, so never pooled.
        if self.path.is_some() {
            if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                return Ok(conn);
            }
        }
        self.connect()
    }

    /// Takes a connection back when the guest drops its handle, if it is as
    /// clean as a new one; otherwise it is closed here.
    fn checkin(&self, conn: Connection) {
        if self.path.is_none() || !conn.is_autocommit() {
            return;
        }
        let has_temp_objects = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM temp.sqlite_schema)")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, bool>(0)))
            .unwrap_or(true);
        if has_temp_objects {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = match &self.path {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        conn.busy_handler(Some(wait_for_lock))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let allow_attach_file = self.allow_attach_file;
        conn.authorizer(Some(move |ctx: AuthContext<'_>| match ctx.action {
            AuthAction::Attach { filename }
                if !allow_attach_file && !matches!(filename, "" | ":memory:") =>
            {
                Authorization::Deny
            }
            _ => Authorization::Allow,
        }));
        Ok(conn)
    }
}

thread_local! {
    /// Whether statements on this thread may wait for a lock (see [`Waiting`]).
    static MAY_WAIT: Cell<bool> = const { Cell::new(true) };
}

/// While alive, statements on this thread do not wait for locks: the busy
/// handler answers "give up", and the statement fails as busy.
pub(crate) struct Waiting {
    before: bool,
}

impl Waiting {
    pub(crate) fn forbidden() -> Waiting {
        Waiting {
            before: MAY_WAIT.with(|may| may.replace(false)),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        MAY_WAIT.with(|may| may.set(self.before));
    }
}

/// Busy handler: short sleeps first so contended writers get the lock
/// quickly, then longer ones, giving up after about `BUSY_TIMEOUT`; at once
/// where waiting is forbidden.
pub(crate) fn wait_for_lock(attempt: i32) -> bool {
    if !MAY_WAIT.with(Cell::get) {
        return false;
    }
    let (sleep, budget_spent) = if attempt < 20 {
        (
            Duration::from_micros(100),
            Duration::from_micros(100) * attempt as u32,
        )
    } else {
        (
            Duration::from_millis(1),
            Duration::from_millis(2) + Duration::from_millis(1) * (attempt as u32 - 20),
        )
    };
    if budget_spent >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(sleep);
    true
}

/// Opens every database label some component declares; undefined labels are
/// a startup error listing each use, as in Spin.
pub fn open_databases(
    declared: impl IntoIterator<Item = (String, String)>,
    configured: &BTreeMap<String, SqliteConfig>,
    state_dir: Option<&Path>,
) -> Result<HashMap<String, Arc<SqliteDatabase>>> {
    let mut databases = HashMap::new();
    let mut undefined = Vec::new();
    for (component, label) in declared {
        if databases.contains_key(&label) {
            continue;
        }
        let config = match configured.get(&label) {
            Some(config) => config.clone(),
            None if label == "default" => SqliteDatabase::default_config(state_dir),
            None => {
                undefined.push(format!("- Component {component} uses database '{label}'"));
                continue;
            }
        };
        let database =
            SqliteDatabase::new(&config).with_context(|| format!("SQLite database '{label}'"))?;
        databases.insert(label, Arc::new(database));
    }
    if !undefined.is_empty() {
        anyhow::bail!(
            "One or more components use SQLite databases which are not defined.\n\
             Check the spelling, or pass a runtime configuration file that defines these databases.\n\
             See https://spinframework.dev/v3/sqlite-api-guide#using-sqlite-in-spin\n{}",
            undefined.join("\n")
        );
    }
    Ok(databases)
}

/// A database as one component sees it: the storage (shared by every
/// component declaring the label) and this component's operation counters.
#[derive(Clone)]
pub struct SqliteStore {
    pub database: Arc<SqliteDatabase>,
    pub ops: Arc<SqliteOps>,
}

/// The guest's handle: a lazily opened connection to one database.
pub struct SqliteHandle {
    database: Arc<SqliteDatabase>,
    ops: Arc<SqliteOps>,
    connection: Arc<Mutex<Option<Connection>>>,
}

impl sqlite::Host for InstanceState {}

impl sqlite::HostConnection for InstanceState {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<SqliteHandle>, SqlError>> {
        let Some(store) = self.component.sqlite.get(&label) else {
            return Ok(Err(SqlError::AccessDenied));
        };
        store.ops.open.inc();
        if self.open_sqlite_connections >= MAX_CONNECTIONS_PER_INSTANCE {
            return Ok(Err(SqlError::Io("too many connections opened".into())));
        }
        self.open_sqlite_connections += 1;
        let handle = SqliteHandle {
            database: store.database.clone(),
            ops: store.ops.clone(),
            connection: Arc::new(Mutex::new(None)),
        };
        Ok(Ok(self.table.push(handle)?))
    }

    async fn execute(
        &mut self,
        handle: Resource<SqliteHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, SqlError>> {
        let handle = self.table.get(&handle)?;
        handle.ops.execute.inc();
        let database = handle.database.clone();
        let connection = handle.connection.clone();
        let inline = {
            let _no_waiting = Waiting::forbidden();
            run_on(&database, &connection, &statement, &parameters)
        };
        let result = match inline {
            Err(failure) if failure.is_busy() => {
                // Another writer holds the lock: wait for it off the async workers.
                tokio::task::spawn_blocking(move || {
                    run_on(&database, &connection, &statement, &parameters)
                })
                .await?
            }
            other => other,
        };
        Ok(result.map_err(Failure::into_sql_error))
    }

    async fn drop(&mut self, handle: Resource<SqliteHandle>) -> wasmtime::Result<()> {
        let handle = self.table.delete(handle)?;
        let connection = handle
            .connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(connection) = connection {
            handle.database.checkin(connection);
        }
        self.open_sqlite_connections = self.open_sqlite_connections.saturating_sub(1);
        Ok(())
    }
}

/// Whether `err` says another connection holds the lock a statement needed.
pub(crate) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error {
                code: rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked,
                ..
            },
            _,
        )
    )
}

/// Why a statement failed.
enum Failure {
    Sqlite(rusqlite::Error),
    NoConnection,
    TooLarge,
}

impl Failure {
    /// The database lock was taken (nothing was done).
    fn is_busy(&self) -> bool {
        matches!(self, Failure::Sqlite(err) if is_busy(err))
    }

    fn into_sql_error(self) -> SqlError {
        match self {
            Failure::Sqlite(err) => SqlError::Io(err.to_string()),
            Failure::NoConnection => SqlError::InvalidConnection,
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
fn run_on(
    database: &SqliteDatabase,
    connection: &Mutex<Option<Connection>>,
    sql: &str,
    parameters: &[Value],
) -> Result<QueryResult, Failure> {
    let mut slot = connection.lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some(database.checkout().map_err(|_| Failure::NoConnection)?);
    }
    run_first_statement(
        slot.as_ref().expect("connection just opened"),
        sql,
        parameters,
    )
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
