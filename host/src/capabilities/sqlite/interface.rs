//! The guest interface `fermyon:spin/sqlite@2.0.0`, served on a view of one
//! instance's SQLite state, and the `link` step that adds it to a linker.

use super::bindings::fermyon::spin::sqlite::{self, Error as SqlError, QueryResult, Value};
use super::connection::SqliteHandle;
use super::execute::{run_on, Failure};
use super::labels::SqliteComponent;
use super::lock::Waiting;
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
        self.table.delete(handle)?.release();
        self.instance.open_connections = self.instance.open_connections.saturating_sub(1);
        Ok(())
    }
}
