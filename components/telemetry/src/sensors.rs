//! A sensor's current state (from its SQLite row, the key-value hot state or a rebuild), its rules
//! and its view.

use std::collections::HashMap;

use service_kit::{db, ApiError};
use spin_sdk::sqlite::Connection;

use crate::engine::HotState;
use crate::hot::HotCache;
use crate::rules::Rules;
use crate::store;
use crate::wire::{self, SensorView, Stats};

/// The window of the sensor view's statistics.
pub const STATS_WINDOW_MILLIS: i64 = 60 * 60 * 1000;

/// Replaces the sensor's rules and bumps its version, so a cached hot state with the old rules
/// is stale from the commit on; the next batch is judged by the new rules. An open alert stays
/// open until a reading within the new rules ends it: rules judge readings, not the past.
pub fn put_rules(
    conn: &Connection,
    cache: &HotCache,
    sensor_id: &str,
    rules: &Rules,
    now: i64,
) -> Result<(), ApiError> {
    store::with_schema(conn, |conn| {
        db::transaction(conn, |conn| {
            store::put_rules(conn, sensor_id, rules, now)?;
            store::touch_sensor(conn, sensor_id, now)
        })
    })?;
    // Not needed for correctness (the version says it is stale), only to free the space early.
    cache.forget(sensor_id);
    Ok(())
}

/// The sensor's own rules, or the defaults.
pub fn rules(conn: &Connection, sensor_id: &str) -> Result<Rules, ApiError> {
    let rules = store::with_schema(conn, |conn| store::rules(conn, sensor_id))?;
    Ok(rules.unwrap_or_default())
}

/// A sensor's state as found at the start of a request.
pub struct Current {
    pub state: HotState,
    /// The sensor has a row in SQLite.
    pub stored: bool,
    /// The key-value cache needs no refresh: the sensor is plain, or the cached copy is current.
    pub cache_current: bool,
}

/// The current state of each of these sensors, in order:
/// - plain (no open alert, default rules): from its `sensors` row alone;
/// - otherwise: the cached alert and rules if their version is the stored one, else rebuilt from
///   SQLite (one statement for all such sensors); the latest reading from its row;
/// - unknown: a new state (`stored` false).
///
/// In a transaction, call it under the write lock, so what it reads cannot change underneath.
pub fn current_states(
    conn: &Connection,
    cache: &HotCache,
    sensor_ids: &[&str],
) -> Result<Vec<Current>, ApiError> {
    let rows = store::sensor_rows(conn, sensor_ids)?;
    let mut states: Vec<Option<Current>> = Vec::with_capacity(sensor_ids.len());
    let mut stale = Vec::new();
    for id in sensor_ids {
        let current = match rows.get(*id) {
            None => Some(Current {
                state: HotState::new(Rules::default()),
                stored: false,
                cache_current: false,
            }),
            Some(row) if row.plain => Some(Current {
                state: HotState {
                    version: row.version,
                    latest: row.latest,
                    alert: None,
                    rules: Rules::default(),
                },
                stored: true,
                cache_current: true,
            }),
            Some(row) => match cache.get(id) {
                Some(state) if state.version == row.version => Some(Current {
                    state: HotState {
                        latest: row.latest,
                        ..state
                    },
                    stored: true,
                    cache_current: true,
                }),
                _ => {
                    stale.push(*id);
                    None
                }
            },
        };
        states.push(current);
    }
    let mut rebuilt = if stale.is_empty() {
        HashMap::new()
    } else {
        store::load_hot_states(conn, &stale)?
    };
    let states = sensor_ids
        .iter()
        .zip(states)
        .map(|(id, current)| {
            current.unwrap_or_else(|| Current {
                // The row exists (it was just read under the same lock), so the rebuild has it.
                state: rebuilt
                    .remove(*id)
                    .unwrap_or_else(|| HotState::new(Rules::default())),
                stored: true,
                cache_current: false,
            })
        })
        .collect();
    Ok(states)
}

/// `GET /telemetry/sensors/{id}`: `None` for a sensor never seen. (Readers do not fill the cache;
/// writers do, after their commit.)
pub fn view(
    conn: &Connection,
    cache: &HotCache,
    sensor_id: &str,
    now: i64,
) -> Result<Option<SensorView>, ApiError> {
    let since = now - STATS_WINDOW_MILLIS;
    store::with_schema(conn, |conn| {
        let Some(current) = current_states(conn, cache, &[sensor_id])?.pop() else {
            return Ok(None);
        };
        if !current.stored {
            return Ok(None);
        }
        let stats: Stats = store::stats_since(conn, sensor_id, since)?;
        Ok(Some(wire::sensor(sensor_id, &current.state, &stats, since)))
    })
}
