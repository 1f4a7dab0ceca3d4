//! Every SQL statement of the service, on its own database (label `telemetry`), the durable
//! truth: readings, sensors (version and latest reading), per-sensor rules, alerts and the
//! outbox. The key-value hot state is derived from these tables and can always be rebuilt from
//! them (`load_hot_states`).

use std::collections::{HashMap, HashSet};

use service_kit::db::{self, col_int, col_real, col_text, exec, int, opt_int, real, text};
use service_kit::{outbox, ApiError};
use spin_sdk::sqlite::{Connection, QueryResult, Row, Value};

use crate::engine::{Alert, HotState, Point, Reason};
use crate::reading::Reading;
use crate::rules::Rules;
use crate::wire::Stats;

/// The whole database schema: the service's tables, then the outbox's.
pub const SCHEMA_PARTS: &[&[&str]] = &[SCHEMA, outbox::SCHEMA];

/// The schema, created lazily (`db::with_schema`) on first use; every statement idempotent.
pub const SCHEMA: &[&str] = &[
    // Clustered by (sensor, time): a re-sent reading is a duplicate, and a sensor's window
    // (latest, last hour, since) is one range scan.
    "CREATE TABLE IF NOT EXISTS readings (
        sensor_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        celsius REAL NOT NULL,
        PRIMARY KEY (sensor_id, at)
    ) WITHOUT ROWID",
    // New readings land here first, appended in arrival order: a batch of one reading for each
    // of 100 sensors then writes a few pages instead of one leaf of `readings` per sensor (the
    // write lock is held, and the WAL grows, per page). Every `FOLD_ROWS` they move to
    // `readings` together, several per sensor's leaf. A reading is in one table or the other.
    "CREATE TABLE IF NOT EXISTS recent_readings (
        sensor_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        celsius REAL NOT NULL,
        UNIQUE (sensor_id, at)
    )",
    // One row per known sensor: its latest (in-order) reading; `version`, which goes up with
    // every change to the sensor's alert or rules, so a cached copy is checked with one lookup;
    // and `plain`: no open alert and the default rules, so there is nothing to look up at all.
    "CREATE TABLE IF NOT EXISTS sensors (
        sensor_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        plain INTEGER NOT NULL,
        latest_at INTEGER,
        latest_celsius REAL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS rules (
        sensor_id TEXT PRIMARY KEY,
        min_celsius REAL NOT NULL,
        max_celsius REAL NOT NULL,
        max_delta_per_minute REAL NOT NULL,
        updated_at INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sensor_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'resolved')),
        reason TEXT NOT NULL,
        celsius REAL NOT NULL,
        threshold REAL NOT NULL,
        raised_at INTEGER NOT NULL,
        resolved_at INTEGER,
        last_celsius REAL NOT NULL,
        peak_celsius REAL NOT NULL
    )",
    // One open episode per sensor, enforced by the database too.
    "CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_active ON alerts (sensor_id) WHERE state = 'active'",
    "CREATE INDEX IF NOT EXISTS alerts_by_state ON alerts (state, raised_at)",
];

/// The label of the service's SQLite database.
pub const DATABASE_LABEL: &str = "telemetry";

/// The service's database.
pub fn open() -> Result<Connection, ApiError> {
    Ok(Connection::open(DATABASE_LABEL)?)
}

/// Runs `op`, creating the schema first if it is missing.
pub fn with_schema<T>(
    conn: &Connection,
    op: impl FnMut(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    db::with_schema_parts(conn, SCHEMA_PARTS, op)
}

// --- readings ---------------------------------------------------------------------------------

/// Readings staged in `recent_readings` from which they move to `readings` together. Bounds the
/// one transaction in `FOLD_ROWS` batches-worth that moves them (a few pages per sensor).
pub const FOLD_ROWS: i64 = 2000;

/// What `insert_readings` did.
pub struct Inserted {
    /// The (sensor, at) pairs actually inserted.
    pub readings: HashSet<(String, i64)>,
    /// Enough readings are staged to move them to `readings` (see [`fold_recent_readings`]).
    pub fold_due: bool,
}

/// Stages the readings in one multi-row statement, skipping any (sensor, at) already stored in
/// either table. `readings` holds no repeats (see `Batch`).
pub fn insert_readings(conn: &Connection, readings: &[Reading]) -> Result<Inserted, ApiError> {
    let mut inserted = HashSet::with_capacity(readings.len());
    // 3 parameters per row stays far below SQLite's limit of 32766 even at 1000 rows.
    let mut sql = String::with_capacity(256 + readings.len() * 8);
    sql.push_str(
        "INSERT INTO recent_readings (sensor_id, at, celsius)
         SELECT v.column1, v.column2, v.column3 FROM (VALUES ",
    );
    let mut params = Vec::with_capacity(readings.len() * 3);
    for (i, reading) in readings.iter().enumerate() {
        sql.push_str(if i == 0 { "(?,?,?)" } else { ",(?,?,?)" });
        params.push(text(reading.sensor_id.as_str()));
        params.push(int(reading.at));
        params.push(real(reading.celsius));
    }
    // The WHERE also tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    sql.push_str(
        ") AS v WHERE NOT EXISTS
             (SELECT 1 FROM readings r WHERE r.sensor_id = v.column1 AND r.at = v.column2)
         ON CONFLICT (sensor_id, at) DO NOTHING RETURNING sensor_id, at, rowid AS staged",
    );
    let result = exec(conn, &sql, &params)?;
    // Rows leave the table all at once, so the rowids count the staged rows.
    let mut staged = 0;
    for row in result.rows() {
        inserted.insert((col_text(&row, "sensor_id"), col_int(&row, "at")));
        staged = staged.max(col_int(&row, "staged"));
    }
    Ok(Inserted {
        readings: inserted,
        fold_due: staged >= FOLD_ROWS,
    })
}

/// Moves every staged reading to `readings`, in key order. Call in the transaction that staged
/// the last of them.
pub fn fold_recent_readings(conn: &Connection) -> Result<(), ApiError> {
    exec(
        conn,
        "INSERT INTO readings (sensor_id, at, celsius)
         SELECT sensor_id, at, celsius FROM recent_readings WHERE true ORDER BY sensor_id, at
         ON CONFLICT (sensor_id, at) DO NOTHING",
        &[],
    )?;
    exec(conn, "DELETE FROM recent_readings", &[])?;
    Ok(())
}

/// A sensor's readings from `since` on, oldest first.
pub fn readings_since(
    conn: &Connection,
    sensor_id: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<Point>, ApiError> {
    let result = exec(
        conn,
        "SELECT celsius, at FROM readings WHERE sensor_id = ?1 AND at >= ?2
         UNION ALL
         SELECT celsius, at FROM recent_readings WHERE sensor_id = ?1 AND at >= ?2
         ORDER BY at LIMIT ?3",
        &[text(sensor_id), int(since), int(limit)],
    )?;
    let points = result.rows().map(|row| point(&row)).collect();
    Ok(points)
}

/// Count, min, max and mean of a sensor's readings from `since` on (late ones included).
pub fn stats_since(conn: &Connection, sensor_id: &str, since: i64) -> Result<Stats, ApiError> {
    let result = exec(
        conn,
        "SELECT COUNT(*) AS n, MIN(celsius) AS lo, MAX(celsius) AS hi, AVG(celsius) AS mean
         FROM (SELECT celsius FROM readings WHERE sensor_id = ?1 AND at >= ?2
               UNION ALL
               SELECT celsius FROM recent_readings WHERE sensor_id = ?1 AND at >= ?2)",
        &[text(sensor_id), int(since)],
    )?;
    let stats = result.rows().next().map(|row| Stats {
        count: col_int(&row, "n"),
        min: col_real(&row, "lo"),
        max: col_real(&row, "hi"),
        mean: col_real(&row, "mean"),
    });
    Ok(stats.unwrap_or_default())
}

fn point(row: &Row<'_>) -> Point {
    Point {
        celsius: col_real(row, "celsius").unwrap_or_default(),
        at: col_int(row, "at"),
    }
}

// --- rules ------------------------------------------------------------------------------------

/// The sensor's own rules, if it has any.
pub fn rules(conn: &Connection, sensor_id: &str) -> Result<Option<Rules>, ApiError> {
    let result = exec(
        conn,
        "SELECT min_celsius, max_celsius, max_delta_per_minute FROM rules WHERE sensor_id = ?",
        &[text(sensor_id)],
    )?;
    let rules = result.rows().next().map(|row| Rules {
        min_celsius: col_real(&row, "min_celsius").unwrap_or_default(),
        max_celsius: col_real(&row, "max_celsius").unwrap_or_default(),
        max_delta_per_minute: col_real(&row, "max_delta_per_minute").unwrap_or_default(),
    });
    Ok(rules)
}

pub fn put_rules(
    conn: &Connection,
    sensor_id: &str,
    rules: &Rules,
    now: i64,
) -> Result<(), ApiError> {
    exec(
        conn,
        "INSERT INTO rules (sensor_id, min_celsius, max_celsius, max_delta_per_minute, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (sensor_id) DO UPDATE SET min_celsius = excluded.min_celsius,
             max_celsius = excluded.max_celsius,
             max_delta_per_minute = excluded.max_delta_per_minute,
             updated_at = excluded.updated_at",
        &[
            text(sensor_id),
            real(rules.min_celsius),
            real(rules.max_celsius),
            real(rules.max_delta_per_minute),
            int(now),
        ],
    )?;
    Ok(())
}

// --- alerts -----------------------------------------------------------------------------------

const ALERT_COLUMNS: &str = "id, sensor_id, reason, celsius, threshold, raised_at, resolved_at, \
                             last_celsius, peak_celsius";

/// Stores a newly raised alert; returns its id.
pub fn insert_alert(conn: &Connection, alert: &Alert) -> Result<i64, ApiError> {
    let result = exec(
        conn,
        "INSERT INTO alerts (sensor_id, state, reason, celsius, threshold, raised_at, resolved_at,
             last_celsius, peak_celsius)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        &[
            text(alert.sensor_id.as_str()),
            text(alert.state()),
            text(alert.reason.as_str()),
            real(alert.celsius),
            real(alert.threshold),
            int(alert.raised_at),
            opt_int(alert.resolved_at),
            real(alert.last_celsius),
            real(alert.peak_celsius),
        ],
    )?;
    let id = result.rows().next().map(|row| col_int(&row, "id"));
    id.ok_or_else(|| ApiError::storage("INSERT INTO alerts returned no id"))
}

/// Stores what changes during an episode: its last and peak values, and its end.
pub fn update_alert(conn: &Connection, alert: &Alert) -> Result<(), ApiError> {
    exec(
        conn,
        "UPDATE alerts SET state = ?, resolved_at = ?, last_celsius = ?, peak_celsius = ? WHERE id = ?",
        &[
            text(alert.state()),
            opt_int(alert.resolved_at),
            real(alert.last_celsius),
            real(alert.peak_celsius),
            int(alert.id),
        ],
    )?;
    Ok(())
}

/// Which alerts `GET /telemetry/alerts` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertFilter {
    Active,
    Resolved,
    All,
}

/// Alerts, newest first.
pub fn alerts(
    conn: &Connection,
    filter: AlertFilter,
    sensor_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Alert>, ApiError> {
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    match filter {
        AlertFilter::Active => sql.push_str(" AND state = 'active'"),
        AlertFilter::Resolved => sql.push_str(" AND state = 'resolved'"),
        AlertFilter::All => {}
    }
    if let Some(sensor_id) = sensor_id {
        sql.push_str(" AND sensor_id = ?");
        params.push(text(sensor_id));
    }
    sql.push_str(" ORDER BY raised_at DESC, id DESC LIMIT ?");
    params.push(int(limit));
    let result = exec(conn, &sql, &params)?;
    let alerts = result.rows().map(|row| alert(&row)).collect();
    Ok(alerts)
}

fn alert(row: &Row<'_>) -> Alert {
    let real = |column| col_real(row, column).unwrap_or_default();
    Alert {
        id: col_int(row, "id"),
        sensor_id: col_text(row, "sensor_id"),
        // Only the engine's reasons are ever written.
        reason: Reason::parse(&col_text(row, "reason")).unwrap_or(Reason::AboveMax),
        celsius: real("celsius"),
        threshold: real("threshold"),
        raised_at: col_int(row, "raised_at"),
        resolved_at: row.get::<i64>("resolved_at"),
        last_celsius: real("last_celsius"),
        peak_celsius: real("peak_celsius"),
    }
}

// --- sensors and their hot state -------------------------------------------------------------

/// Runs `select`, which ends in `WHERE <sensor id column> IN`, for these sensors.
fn select_for_sensors(
    conn: &Connection,
    select: &str,
    sensor_ids: &[&str],
) -> Result<QueryResult, ApiError> {
    let mut sql = String::with_capacity(select.len() + 3 + sensor_ids.len() * 2);
    sql.push_str(select);
    sql.push_str(" (");
    for i in 0..sensor_ids.len() {
        sql.push_str(if i == 0 { "?" } else { ",?" });
    }
    sql.push(')');
    let params: Vec<Value> = sensor_ids.iter().map(|id| text(*id)).collect();
    exec(conn, &sql, &params)
}

/// What the `sensors` table holds for one sensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensorRow {
    /// The version of the sensor's alert and rules: the cached hot state is current iff equal.
    pub version: i64,
    /// No open alert and the default rules: the row alone is the whole state.
    pub plain: bool,
    pub latest: Option<Point>,
}

/// The rows of those of these sensors that are known.
pub fn sensor_rows(
    conn: &Connection,
    sensor_ids: &[&str],
) -> Result<HashMap<String, SensorRow>, ApiError> {
    let result = select_for_sensors(
        conn,
        "SELECT sensor_id, version, plain, latest_at, latest_celsius FROM sensors WHERE sensor_id IN",
        sensor_ids,
    )?;
    let rows = result
        .rows()
        .map(|row| {
            let sensor = SensorRow {
                version: col_int(&row, "version"),
                plain: col_int(&row, "plain") != 0,
                latest: latest(&row),
            };
            (col_text(&row, "sensor_id"), sensor)
        })
        .collect();
    Ok(rows)
}

fn latest(row: &Row<'_>) -> Option<Point> {
    row.get::<i64>("latest_at").map(|at| Point {
        celsius: col_real(row, "latest_celsius").unwrap_or_default(),
        at,
    })
}

/// Rebuilds the hot state of each of these sensors that is known, in one statement: the sensor
/// row, its own rules (else the defaults) and its open alert.
pub fn load_hot_states(
    conn: &Connection,
    sensor_ids: &[&str],
) -> Result<HashMap<String, HotState>, ApiError> {
    let result = select_for_sensors(
        conn,
        "SELECT s.sensor_id AS sensor_id, s.version AS version, s.latest_at AS latest_at,
             s.latest_celsius AS latest_celsius, r.min_celsius AS min_celsius,
             r.max_celsius AS max_celsius, r.max_delta_per_minute AS max_delta_per_minute,
             a.id AS id, a.reason AS reason, a.celsius AS celsius, a.threshold AS threshold,
             a.raised_at AS raised_at, a.resolved_at AS resolved_at,
             a.last_celsius AS last_celsius, a.peak_celsius AS peak_celsius
         FROM sensors s
         LEFT JOIN rules r ON r.sensor_id = s.sensor_id
         LEFT JOIN alerts a ON a.sensor_id = s.sensor_id AND a.state = 'active'
         WHERE s.sensor_id IN",
        sensor_ids,
    )?;
    let states = result
        .rows()
        .map(|row| {
            let latest = latest(&row);
            let rules = match col_real(&row, "min_celsius") {
                Some(min_celsius) => Rules {
                    min_celsius,
                    max_celsius: col_real(&row, "max_celsius").unwrap_or_default(),
                    max_delta_per_minute: col_real(&row, "max_delta_per_minute")
                        .unwrap_or_default(),
                },
                None => Rules::default(),
            };
            let alert = row.get::<i64>("id").map(|_| alert(&row));
            let state = HotState {
                version: col_int(&row, "version"),
                latest,
                alert,
                rules,
            };
            (col_text(&row, "sensor_id"), state)
        })
        .collect();
    Ok(states)
}

/// Stores the sensors' versions and latest readings, in one statement. Call under the write
/// lock that `sensor_rows` was read under.
pub fn save_sensors(
    conn: &Connection,
    sensors: &[(&str, &HotState)],
    now: i64,
) -> Result<(), ApiError> {
    if sensors.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO sensors (sensor_id, version, plain, latest_at, latest_celsius, updated_at) \
         VALUES ",
    );
    let mut params = Vec::with_capacity(sensors.len() * 6);
    for (i, (sensor_id, state)) in sensors.iter().enumerate() {
        sql.push_str(if i == 0 {
            "(?,?,?,?,?,?)"
        } else {
            ",(?,?,?,?,?,?)"
        });
        params.push(text(*sensor_id));
        params.push(int(state.version));
        params.push(int(i64::from(state.is_plain())));
        params.push(opt_int(state.latest.map(|p| p.at)));
        params.push(state.latest.map_or(Value::Null, |p| real(p.celsius)));
        params.push(int(now));
    }
    sql.push_str(
        " ON CONFLICT (sensor_id) DO UPDATE SET version = excluded.version, plain = excluded.plain,
             latest_at = excluded.latest_at, latest_celsius = excluded.latest_celsius,
             updated_at = excluded.updated_at",
    );
    exec(conn, &sql, &params)?;
    Ok(())
}

/// Marks the sensor's rules changed (known from now on, if it was not): its cached state is
/// stale, and it is not plain until the next batch has looked at it.
pub fn touch_sensor(conn: &Connection, sensor_id: &str, now: i64) -> Result<(), ApiError> {
    exec(
        conn,
        "INSERT INTO sensors (sensor_id, version, plain, updated_at) VALUES (?, 1, 0, ?)
         ON CONFLICT (sensor_id) DO UPDATE SET version = version + 1, plain = 0,
             updated_at = excluded.updated_at",
        &[text(sensor_id), int(now)],
    )?;
    Ok(())
}
