//! The visits database: its schema and every SQL statement of the service.
//!
//! Each request opens its own connection to the SQLite label `visits` (as Spin does). Every `execute` runs
//! exactly one statement (Spin ignores anything after the first). The table is created lazily: a statement
//! that fails with "no such table" creates it and is retried once (service-kit's `db::with_schema`), so the
//! hot path runs no schema statement.

use service_kit::{db, ApiError};
use spin_sdk::sqlite::{Connection, QueryResult, RowResult, Value};

use crate::domain::{DayRange, EventDay, EventId, VisitRow, MAX_DAY_TOTAL};

/// The SQLite label of the service's database (declared in spin.toml, defined in runtime-config.toml).
pub const DATABASE_LABEL: &str = "visits";

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS visits (
    event_id TEXT NOT NULL,
    event_day INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    PRIMARY KEY (event_id, event_day)
) WITHOUT ROWID";

/// The service's schema, created by service-kit's `db::with_schema` on first use.
const SCHEMA: &[&str] = &[CREATE_TABLE];

const SELECT_EVENT_DAYS: &str = "SELECT event_id, event_day, event_count FROM visits
    WHERE event_id = ?1 AND event_day BETWEEN ?2 AND ?3
    ORDER BY event_day";

/// Adds to a day's count in one autocommit statement; returns no row when the total would pass ?4.
const ADD_TO_DAY: &str = "INSERT INTO visits (event_id, event_day, event_count) VALUES (?1, ?2, ?3)
    ON CONFLICT (event_id, event_day) DO UPDATE
        SET event_count = visits.event_count + excluded.event_count
        WHERE visits.event_count <= ?4 - excluded.event_count
    RETURNING event_id, event_day, event_count";

/// Rows per bulk statement: 3 parameters each stays under SQLite's historic 999-parameter limit.
const ROWS_PER_SET_STATEMENT: usize = 300;

/// Sets the counts of `rows` days (replacing what was there) in one statement.
fn set_days_statement(rows: usize) -> String {
    let values = vec!["(?, ?, ?)"; rows].join(", ");
    format!(
        "INSERT INTO visits (event_id, event_day, event_count) VALUES {values}
    ON CONFLICT (event_id, event_day) DO UPDATE SET event_count = excluded.event_count"
    )
}

/// A connection to the visits database.
pub struct VisitsStore {
    db: Connection,
}

impl VisitsStore {
    pub fn open() -> Result<Self, ApiError> {
        let db = Connection::open(DATABASE_LABEL)?;
        Ok(VisitsStore { db })
    }

    /// The event's counts on the days of `range`, in day order.
    pub fn event_days(
        &self,
        event_id: &EventId,
        range: DayRange,
    ) -> Result<Vec<VisitRow>, ApiError> {
        let start = range.start.map_or(0, |day| i64::from(day.as_u32()));
        let end = range.end.map_or(i64::MAX, |day| i64::from(day.as_u32()));
        let params = [text(event_id), Value::Integer(start), Value::Integer(end)];
        let result = self.execute(SELECT_EVENT_DAYS, &params)?;
        result.rows.iter().map(visit_row).collect()
    }

    /// Adds `count` visits to the day and returns its new total; `None` if that would pass `MAX_DAY_TOTAL`
    /// (nothing is changed then).
    pub fn add_to_day(
        &self,
        event_id: &EventId,
        day: EventDay,
        count: i64,
    ) -> Result<Option<VisitRow>, ApiError> {
        let params = [
            text(event_id),
            day_value(day),
            Value::Integer(count),
            Value::Integer(MAX_DAY_TOTAL),
        ];
        let result = self.execute(ADD_TO_DAY, &params)?;
        result.rows.first().map(visit_row).transpose()
    }

    /// Sets the count of every given day, all or nothing (one `BEGIN IMMEDIATE` transaction, so the
    /// load never fails half-way on a lock upgrade).
    pub fn set_days(&self, rows: &[VisitRow]) -> Result<(), ApiError> {
        if rows.is_empty() {
            return Ok(());
        }
        db::with_schema(&self.db, SCHEMA, |conn| {
            db::transaction(conn, |conn| {
                rows.chunks(ROWS_PER_SET_STATEMENT).try_for_each(|chunk| {
                    let params: Vec<Value> = chunk
                        .iter()
                        .flat_map(|row| {
                            [
                                text(&row.event_id),
                                day_value(row.event_day),
                                Value::Integer(row.event_count),
                            ]
                        })
                        .collect();
                    conn.execute(&set_days_statement(chunk.len()), &params)?;
                    Ok(())
                })
            })
        })
    }

    /// Runs one statement, creating the table first if it does not exist yet.
    fn execute(&self, statement: &str, params: &[Value]) -> Result<QueryResult, ApiError> {
        db::with_schema(
            &self.db,
            SCHEMA,
            |conn| Ok(conn.execute(statement, params)?),
        )
    }
}

fn text(event_id: &EventId) -> Value {
    Value::Text(event_id.as_str().to_owned())
}

fn day_value(day: EventDay) -> Value {
    Value::Integer(i64::from(day.as_u32()))
}

/// Reads a row of (event_id, event_day, event_count).
fn visit_row(row: &RowResult) -> Result<VisitRow, ApiError> {
    let bad_row = || ApiError::storage(format!("unexpected row in visits table: {:?}", row.values));
    let event_id = row
        .get::<&str>(0)
        .and_then(|id| EventId::parse(id).ok())
        .ok_or_else(bad_row)?;
    let event_day = row
        .get::<i64>(1)
        .and_then(|day| EventDay::from_yyyymmdd(day).ok())
        .ok_or_else(bad_row)?;
    let event_count = row.get::<i64>(2).ok_or_else(bad_row)?;
    Ok(VisitRow {
        event_id,
        event_day,
        event_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_hide_their_detail() {
        let io = spin_sdk::sqlite::Error::Io("disk I/O error at /secret/path".into());
        let err = ApiError::from(io);
        assert_eq!(err.status, 500);
        assert_eq!(err.message, "storage error");
    }

    #[test]
    fn a_set_statement_has_three_parameters_per_row() {
        let statement = set_days_statement(2);
        assert!(
            statement.contains("VALUES (?, ?, ?), (?, ?, ?)\n"),
            "{statement}"
        );
        assert_eq!(statement.matches('?').count(), 6);
        assert_eq!(
            set_days_statement(ROWS_PER_SET_STATEMENT)
                .matches('?')
                .count(),
            900
        );
    }

    #[test]
    fn every_statement_is_a_single_statement() {
        for statement in [
            CREATE_TABLE,
            SELECT_EVENT_DAYS,
            ADD_TO_DAY,
            &set_days_statement(3),
        ] {
            assert!(!statement.contains(';'), "{statement}");
        }
    }
}
