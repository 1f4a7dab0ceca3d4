//! The hot per-sensor state in the key-value store (label `telemetry`), one JSON value per sensor
//! under `sensor:{id}`: its state (normal/warning), open alert and rules, with their version.
//!
//! It is a cache of the SQLite tables, never the truth. Every change to a sensor's alert or
//! rules bumps the sensor's version in its `sensors` row, in the same transaction; a cached value
//! is used only if its version is the stored one, otherwise it is rebuilt from SQLite (one
//! statement for all the stale sensors of a batch). So it is written after the commit, keeping
//! the write lock short, and a lost, late or racing write can make it stale, never wrong.
//!
//! What is not cached, and why (measured with the bench's batches of 100 sensors): a key-value
//! operation in Spin's default backend is a host call and, for a set, a SQLite commit of its own;
//! one get and one set per sensor per batch cost more than the rest of the ingest together (about
//! 145 instead of 270 batches/s). So the latest reading, which moves with every batch, lives in
//! the `sensors` row that the version check reads anyway; and a *plain* sensor (no open alert,
//! default rules: the usual case) is known to be so from that row, with nothing to look up.

use serde::{Deserialize, Serialize};
use spin_sdk::key_value::Store;

use crate::engine::{Alert, HotState};
use crate::rules::Rules;

/// The label of the service's key-value store.
pub const KEY_VALUE_LABEL: &str = "telemetry";

/// The cached value.
#[derive(Serialize, Deserialize)]
struct Cached {
    version: i64,
    /// `normal` or `warning`: for whoever inspects the store; derived from `alert`.
    state: String,
    alert: Option<Alert>,
    rules: Rules,
}

/// Errors of the key-value store never fail a request: the cache only saves work, so a failed
/// read is a miss and a failed write leaves a stale value (caught by its version); both are logged.
pub struct HotCache {
    store: Option<Store>,
}

impl HotCache {
    pub fn open() -> HotCache {
        let store = Store::open(KEY_VALUE_LABEL)
            .map_err(|err| eprintln!("telemetry: hot state store unavailable: {err:?}"))
            .ok();
        HotCache { store }
    }

    /// The cached state, without `latest` (see above); `None` when absent, unreadable or not
    /// decodable.
    pub fn get(&self, sensor_id: &str) -> Option<HotState> {
        let bytes = self
            .store
            .as_ref()?
            .get(&key(sensor_id))
            .map_err(|err| eprintln!("telemetry: reading hot state of {sensor_id}: {err:?}"))
            .ok()??;
        let cached: Cached = serde_json::from_slice(&bytes).ok()?;
        Some(HotState {
            version: cached.version,
            latest: None,
            alert: cached.alert,
            rules: cached.rules,
        })
    }

    /// Caches the state's version, alert and rules.
    pub fn set(&self, sensor_id: &str, state: &HotState) {
        let Some(store) = &self.store else { return };
        let cached = Cached {
            version: state.version,
            state: state.state().to_owned(),
            alert: state.alert.clone(),
            rules: state.rules,
        };
        // Serialising our own struct cannot fail.
        let bytes = serde_json::to_vec(&cached).unwrap_or_default();
        if let Err(err) = store.set(&key(sensor_id), &bytes) {
            eprintln!("telemetry: writing hot state of {sensor_id}: {err:?}");
        }
    }

    /// Drops a value known to be stale, so it is rebuilt next time (a stale value that stays
    /// is caught by its version anyway).
    pub fn forget(&self, sensor_id: &str) {
        let Some(store) = &self.store else { return };
        if let Err(err) = store.delete(&key(sensor_id)) {
            eprintln!("telemetry: dropping hot state of {sensor_id}: {err:?}");
        }
    }
}

fn key(sensor_id: &str) -> String {
    format!("sensor:{sensor_id}")
}
