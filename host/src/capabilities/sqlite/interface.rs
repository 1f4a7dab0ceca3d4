//! The guest interface `fermyon:spin/sqlite@2.0.0`, served on a view of one
//! instance's SQLite state, and the `link` step that adds it to a linker.

use super::bindings::fermyon::spin::sqlite::{self, Error as SqlError, QueryResult, Value};
use super::checkpoint;
use super::connection::SqliteHandle;
use super::execute::{in_autocommit, needs_turn, run_on, stands_alone, Failure};
use super::labels::SqliteComponent;
use super::lock::Waiting;
use super::write_queue::{let_next_writer_run, WriteTurn};
use crate::capabilities::provides::Interface;
use anyhow::Result;
use std::sync::{Arc, Mutex};
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

/// Connections one instance may hold open at once, as in Spin.
const MAX_CONNECTIONS_PER_INSTANCE: usize = 256;

/// The capability's per-instance state.
#[derive(Default)]
pub struct SqliteInstance {
    open_connections: usize,
    /// Handles of this instance that hold their database's write turn.
    write_turns: usize,
}

impl SqliteInstance {
    /// Whether the instance holds a write turn, so that every other writer to
    /// that file waits for it to go on running (see `runtime`'s epoch yield).
    pub fn holds_write_turn(&self) -> bool {
        self.write_turns > 0
    }
}

/// What the interface works on: the component's databases, this instance's
/// state and its resource table.
pub struct SqliteView<'a> {
    pub component: &'a SqliteComponent,
    pub instance: &'a mut SqliteInstance,
    pub table: &'a mut ResourceTable,
}

impl HasData for SqliteView<'static> {
    type Data<'a> = SqliteView<'a>;
}

/// Adds the interface to `linker`, served on the view `get` returns.
pub fn link<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> SqliteView<'_>,
) -> Result<&'static [Interface]> {
    sqlite::add_to_linker::<T, SqliteView<'static>>(linker, get).map_err(anyhow::Error::from)?;
    Ok(&[Interface::Exact("fermyon:spin/sqlite@2.0.0")])
}

impl sqlite::Host for SqliteView<'_> {}

impl sqlite::HostConnection for SqliteView<'_> {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<SqliteHandle>, SqlError>> {
        let Some(declared) = self.component.databases.get(&label) else {
            return Ok(Err(SqlError::AccessDenied));
        };
        declared.ops.open.inc();
        if self.instance.open_connections >= MAX_CONNECTIONS_PER_INSTANCE {
            return Ok(Err(SqlError::Io("too many connections opened".into())));
        }
        self.instance.open_connections += 1;
        let handle = SqliteHandle {
            database: declared.database.clone(),
            ops: declared.ops.clone(),
            connection: Arc::new(Mutex::new(None)),
            turn: None,
        };
        Ok(Ok(self.table.push(handle)?))
    }

    async fn execute(
        &mut self,
        handle: Resource<SqliteHandle>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, SqlError>> {
        let handle = self.table.get_mut(&handle)?;
        handle.ops.execute.inc();
        let held_before = handle.turn.is_some();
        let database = handle.database.clone();
        let connection = handle.connection.clone();
        let run_here = || {
            let _no_waiting = Waiting::forbidden();
            let result = run_on(&database, &connection, &statement, &parameters);
            (result, checkpoint::take_due())
        };
        let mut inline = None;
        if handle.turn.is_none() {
            match needs_turn(&database, &connection, &statement) {
                Ok(true) => {
                    let queue = database.writers.as_ref().expect("checked by needs_turn");
                    if let Some(turn) = queue.try_take_turn() {
                        handle.turn = Some(turn);
                    } else {
                        // A statement that is a whole transaction by itself holds the lock
                        // for microseconds: it may use a gap while the next turn's holder
                        // is not yet running (queueing it there builds a convoy of
                        // one-statement writers); when the lock is really held, it queues.
                        if stands_alone(&connection, &statement) {
                            let attempt = run_here();
                            if !matches!(&attempt.0, Err(failure) if failure.is_busy()) {
                                inline = Some(attempt);
                            }
                        }
                        if inline.is_none() {
                            match queue.take_turn().await {
                                Ok(turn) => handle.turn = Some(turn),
                                Err(busy) => return Ok(Err(Failure::from(busy).into_sql_error())),
                            }
                        }
                    }
                }
                Ok(false) => {}
                Err(failure) => return Ok(Err(failure.into_sql_error())),
            }
        }
        let inline = inline.unwrap_or_else(run_here);
        let (result, checkpoint_due) = match inline {
            (Err(failure), _) if failure.is_busy() => {
                // A lock this host does not queue for (another process, or a
                // write no turn was taken for): wait off the async workers.
                let (database, connection) = (database.clone(), connection.clone());
                tokio::task::spawn_blocking(move || {
                    let result = run_on(&database, &connection, &statement, &parameters);
                    (result, checkpoint::take_due())
                })
                .await?
            }
            other => other,
        };
        let mut handed_over = false;
        if handle.turn.is_some() && in_autocommit(&connection) {
            // Out of its transaction, the connection no longer holds the lock.
            handed_over = handle.turn.take().is_some_and(WriteTurn::pass_on);
        }
        match (held_before, handle.turn.is_some()) {
            (false, true) => self.instance.write_turns += 1,
            (true, false) => self.instance.write_turns -= 1,
            _ => {}
        }
        if let Some(pages) = checkpoint_due {
            database.checkpoint_in_background(pages);
        }
        if handed_over {
            let_next_writer_run().await;
        }
        Ok(result.map_err(Failure::into_sql_error))
    }

    async fn drop(&mut self, handle: Resource<SqliteHandle>) -> wasmtime::Result<()> {
        let handle = self.table.delete(handle)?;
        if handle.turn.is_some() {
            self.instance.write_turns -= 1;
        }
        handle.release();
        self.instance.open_connections = self.instance.open_connections.saturating_sub(1);
        Ok(())
    }
}
