//! Ingesting a batch of readings: one transaction stores the readings, the sensors' rows (latest
//! reading, version), the alerts raised or resolved and the events describing them (outbox).
//!
//! Per batch, whatever its size: three statements for the whole batch (sensor rows, readings,
//! sensor rows again), plus a few per alert raised or resolved, and two more in the batch that
//! fills the staging table (`store::FOLD_ROWS`) to move the staged readings. Key-value (see `hot`): one get
//! per sensor that is not plain (has an open alert or its own rules), and one set per sensor
//! whose alert changed, after the commit; a steady sensor on default rules costs none.

use service_kit::outbox::forwarder::{self, Lease};
use service_kit::{db, outbox, ApiError, CloudEvent};
use spin_sdk::sqlite::Connection;

use crate::engine::{self, AlertEvent, Evaluation, EventKind, HotState, Point};
use crate::hot::HotCache;
use crate::reading::{Batch, Reading};
use crate::sensors::{self, Current};
use crate::store;
use crate::wire;

/// The topic every alert event goes to.
pub const TOPIC: &str = "telemetry.alerts";
/// CloudEvents `source` of our events.
pub const SOURCE: &str = "/telemetry";

/// What a batch did.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Readings stored by this request.
    pub accepted: usize,
    /// Readings already stored (or repeated within the request): ignored, the first value kept.
    pub duplicates: usize,
    /// Stored readings older than their sensor's latest: history only, not judged.
    pub out_of_order: usize,
    /// Alerts raised and resolved, in time order per sensor.
    pub events: Vec<AlertEvent>,
    /// The outbox forwarder lease, if this request forwards the outbox once committed.
    pub forwarder: Option<Lease>,
}

/// Ingests `batch` all or nothing.
pub fn ingest(
    conn: &Connection,
    cache: &HotCache,
    batch: &Batch,
    now: i64,
) -> Result<IngestReport, ApiError> {
    // The batch is sorted by sensor, so each sensor's readings are one run, in time order.
    let groups: Vec<&[Reading]> = batch
        .readings
        .chunk_by(|a, b| a.sensor_id == b.sensor_id)
        .collect();
    let Applied { report, to_cache } = store::with_schema(conn, |conn| {
        db::transaction(conn, |conn| apply(conn, cache, batch, &groups, now))
    })?;
    // After the commit (keeping the write lock short): a set that is lost, or lands after a
    // later batch's, only leaves a stale version, which the next reader notices.
    for (sensor_id, state) in &to_cache {
        cache.set(sensor_id, state);
    }
    Ok(report)
}

/// What the transaction did, and the hot states to cache once it has committed.
struct Applied<'a> {
    report: IngestReport,
    to_cache: Vec<(&'a str, HotState)>,
}

/// The transaction's work.
fn apply<'a>(
    conn: &Connection,
    cache: &HotCache,
    batch: &Batch,
    groups: &[&'a [Reading]],
    now: i64,
) -> Result<Applied<'a>, ApiError> {
    let sensor_ids: Vec<&'a str> = groups.iter().map(|g| g[0].sensor_id.as_str()).collect();
    let states = sensors::current_states(conn, cache, &sensor_ids)?;
    let store::Inserted {
        readings: inserted,
        fold_due,
    } = store::insert_readings(conn, &batch.readings)?;
    if fold_due {
        store::fold_recent_readings(conn)?;
    }
    let all_new = inserted.len() == batch.readings.len();
    let mut report = IngestReport {
        accepted: inserted.len(),
        duplicates: batch.duplicates + batch.readings.len() - inserted.len(),
        ..IngestReport::default()
    };
    let mut to_save = Vec::new();
    let mut to_cache = Vec::new();
    for ((group, sensor_id), current) in groups.iter().zip(sensor_ids).zip(states) {
        let Current {
            mut state,
            stored,
            cache_current,
        } = current;
        let new_points: Vec<Point> = group
            .iter()
            .filter(|r| all_new || inserted.contains(&(r.sensor_id.clone(), r.at)))
            .map(|r| Point {
                celsius: r.celsius,
                at: r.at,
            })
            .collect();
        let alert_before = state.alert.clone();
        let mut evaluation = engine::evaluate(sensor_id, &mut state, &new_points);
        report.out_of_order += evaluation.out_of_order;
        persist_alerts(conn, &mut state, &mut evaluation)?;
        report.events.append(&mut evaluation.events);
        let alert_changed = state.alert != alert_before;
        if alert_changed || !stored {
            state.version += 1;
        }
        // A plain sensor needs no cache entry; one whose alert changed gets it refreshed (also
        // when it turns plain, so the store shows it back to normal).
        let cache_it = alert_changed || (!state.is_plain() && !cache_current);
        let save_it = evaluation.changed || alert_changed || !stored || !cache_current;
        if save_it {
            to_save.push((sensor_id, state.clone()));
        }
        if cache_it {
            to_cache.push((sensor_id, state));
        }
    }
    let rows: Vec<(&str, &HotState)> = to_save.iter().map(|(id, state)| (*id, state)).collect();
    store::save_sensors(conn, &rows, now)?;
    report.forwarder = forwarder::claim(conn, now)?;
    Ok(Applied { report, to_cache })
}

/// Stores the alerts one sensor's evaluation raised, updated or resolved, and stages an event
/// per raise and resolve; fills in the ids of alerts raised in this batch.
fn persist_alerts(
    conn: &Connection,
    state: &mut HotState,
    evaluation: &mut Evaluation,
) -> Result<(), ApiError> {
    // The id of the alert most recently raised in this batch (there is one open at a time).
    let mut raised_id = 0;
    for event in &mut evaluation.events {
        match event.kind {
            EventKind::Warning => {
                raised_id = store::insert_alert(conn, &event.alert)?;
                event.alert.id = raised_id;
            }
            EventKind::Recovered => {
                if event.alert.id == 0 {
                    event.alert.id = raised_id;
                }
                store::update_alert(conn, &event.alert)?;
            }
        }
        outbox::enqueue(conn, TOPIC, &cloud_event(event))?;
    }
    if let Some(alert) = &mut state.alert {
        if alert.id == 0 {
            alert.id = raised_id;
        }
        if evaluation.alert_updated {
            store::update_alert(conn, alert)?;
        }
    }
    Ok(())
}

fn cloud_event(event: &AlertEvent) -> CloudEvent {
    CloudEvent::new(
        SOURCE,
        event.kind.event_type(),
        Some(format!("sensors/{}", event.alert.sensor_id)),
        wire::alert_event_data(&event.alert),
    )
}
