//! The JSON the service sends: API representations and event payloads (times as RFC 3339 UTC).
//! Each is a type deriving `ToSchema`, so the OpenAPI document (see `contract`) is generated from
//! exactly what is serialised.

use serde::Serialize;
use serde_json::Value;
use service_kit::clock::format_millis;
use utoipa::ToSchema;

use crate::engine::{Alert, HotState, Point, Reason};
use crate::ingest::IngestReport;
use crate::rules::Rules;

/// Whether an alert's episode is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Active,
    Resolved,
}

/// Whether a sensor is in an episode (has an active alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SensorState {
    Normal,
    Warning,
}

/// An alert as the event contract defines it (`data.alert` of `telemetry.*` events).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertSnapshot {
    #[schema(minimum = 1)]
    pub id: i64,
    pub sensor_id: String,
    pub state: AlertState,
    /// The rule the episode's first bad reading broke.
    pub reason: Reason,
    /// The first bad reading's value.
    pub celsius: f64,
    /// The threshold of the rule it broke (°C, or °C per minute for `too_fast`).
    pub threshold: f64,
    #[schema(format = DateTime)]
    pub raised_at: String,
    /// Null while the alert is active.
    #[schema(required = true, format = DateTime)]
    pub resolved_at: Option<String>,
    /// The episode's latest reading (for a resolved alert: the one that ended it).
    pub last_celsius: f64,
}

/// An alert in API answers: the event's fields plus the episode's peak.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: AlertSnapshot,
    /// The episode's reading furthest from the middle of the allowed range.
    pub peak_celsius: f64,
}

/// The data of a `telemetry.temperature.*` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEventData {
    pub alert: AlertSnapshot,
}

/// One reading.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PointView {
    pub celsius: f64,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A sensor's rules (the defaults if none were set).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RulesView {
    pub sensor_id: String,
    pub min_celsius: f64,
    pub max_celsius: f64,
    pub max_delta_per_minute: f64,
}

/// Statistics over the last hour of a sensor's readings; the values are null when there are none.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LastHour {
    #[schema(format = DateTime)]
    pub since: String,
    #[schema(minimum = 0)]
    pub count: i64,
    #[schema(required = true)]
    pub min: Option<f64>,
    #[schema(required = true)]
    pub max: Option<f64>,
    #[schema(required = true)]
    pub mean: Option<f64>,
}

/// `GET /telemetry/sensors/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SensorView {
    pub sensor_id: String,
    /// The newest reading (never moved back by a late one).
    #[schema(required = true)]
    pub latest: Option<PointView>,
    pub state: SensorState,
    /// The open episode's alert; null when the sensor is normal.
    #[schema(required = true)]
    pub active_alert: Option<AlertView>,
    pub rules: RulesView,
    pub last_hour: LastHour,
}

/// `POST /telemetry/readings`: what the request did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IngestView {
    /// Readings stored by this request.
    #[schema(minimum = 0)]
    pub accepted: usize,
    /// Readings already stored, or repeated within the request: ignored, the first value kept.
    #[schema(minimum = 0)]
    pub duplicates: usize,
    /// Stored readings older than their sensor's latest: history only, not judged.
    #[schema(minimum = 0)]
    pub out_of_order: usize,
    /// Alerts raised and resolved by this request, in time order per sensor.
    pub alerts: Vec<AlertView>,
}

/// `GET /telemetry/sensors/{id}/readings`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReadingsView {
    pub sensor_id: String,
    /// The start of the window (the `since` asked for, or an hour ago).
    #[schema(format = DateTime)]
    pub since: String,
    /// Oldest first.
    #[schema(max_items = 1000)]
    pub readings: Vec<PointView>,
}

/// `GET /telemetry/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertsView {
    /// Newest first.
    #[schema(max_items = 1000)]
    pub alerts: Vec<AlertView>,
}

fn snapshot(alert: &Alert) -> AlertSnapshot {
    AlertSnapshot {
        id: alert.id,
        sensor_id: alert.sensor_id.clone(),
        state: if alert.is_active() {
            AlertState::Active
        } else {
            AlertState::Resolved
        },
        reason: alert.reason,
        celsius: alert.celsius,
        threshold: alert.threshold,
        raised_at: format_millis(alert.raised_at),
        resolved_at: alert.resolved_at.map(format_millis),
        last_celsius: alert.last_celsius,
    }
}

/// An alert as the event contract defines it (`data` of `telemetry.*` events).
pub fn alert_event_data(alert: &Alert) -> Value {
    // Serialising our own struct cannot fail.
    serde_json::to_value(AlertEventData {
        alert: snapshot(alert),
    })
    .unwrap_or_default()
}

/// An alert in API answers: the event's fields plus the episode's peak.
pub fn alert(alert: &Alert) -> AlertView {
    AlertView {
        alert: snapshot(alert),
        peak_celsius: alert.peak_celsius,
    }
}

pub fn point(point: &Point) -> PointView {
    PointView {
        celsius: point.celsius,
        at: format_millis(point.at),
    }
}

pub fn rules(sensor_id: &str, rules: &Rules) -> RulesView {
    RulesView {
        sensor_id: sensor_id.to_owned(),
        min_celsius: rules.min_celsius,
        max_celsius: rules.max_celsius,
        max_delta_per_minute: rules.max_delta_per_minute,
    }
}

/// Aggregates over a window of readings; the values are null when there are none.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub count: i64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
}

/// `GET /telemetry/sensors/{id}`.
pub fn sensor(sensor_id: &str, state: &HotState, stats: &Stats, since: i64) -> SensorView {
    SensorView {
        sensor_id: sensor_id.to_owned(),
        latest: state.latest.as_ref().map(point),
        state: if state.alert.is_some() {
            SensorState::Warning
        } else {
            SensorState::Normal
        },
        active_alert: state.alert.as_ref().map(alert),
        rules: rules(sensor_id, &state.rules),
        last_hour: LastHour {
            since: format_millis(since),
            count: stats.count,
            min: stats.min,
            max: stats.max,
            mean: stats.mean,
        },
    }
}

/// `POST /telemetry/readings`' answer.
pub fn ingested(report: &IngestReport) -> IngestView {
    IngestView {
        accepted: report.accepted,
        duplicates: report.duplicates,
        out_of_order: report.out_of_order,
        alerts: report.events.iter().map(|e| alert(&e.alert)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Alert {
        Alert {
            id: 7,
            sensor_id: "boiler-1".into(),
            reason: Reason::AboveMax,
            celsius: 36.5,
            threshold: 35.0,
            raised_at: 1_795_428_900_000,
            resolved_at: None,
            last_celsius: 38.0,
            peak_celsius: 39.0,
        }
    }

    #[test]
    fn event_data_has_exactly_the_contract_fields() {
        let data = alert_event_data(&sample());
        assert_eq!(
            data,
            json!({"alert": {
                "id": 7, "sensor_id": "boiler-1", "state": "active", "reason": "above_max",
                "celsius": 36.5, "threshold": 35.0, "raised_at": "2026-11-23T10:15:00Z",
                "resolved_at": null, "last_celsius": 38.0
            }})
        );
        let mut resolved = sample();
        resolved.resolved_at = Some(1_795_428_960_000);
        let data = alert_event_data(&resolved);
        assert_eq!(data["alert"]["state"], "resolved");
        assert_eq!(data["alert"]["resolved_at"], "2026-11-23T10:16:00Z");
    }

    #[test]
    fn api_alerts_add_the_peak() {
        let value = serde_json::to_value(alert(&sample())).unwrap();
        assert_eq!(value["peak_celsius"], 39.0);
        assert_eq!(value["id"], 7);
        let mut without_peak = value.clone();
        without_peak.as_object_mut().unwrap().remove("peak_celsius");
        assert_eq!(without_peak, alert_event_data(&sample())["alert"]);
    }

    #[test]
    fn a_sensor_view_without_readings_in_the_window_has_null_stats() {
        let state = HotState::new(Rules::default());
        let value = serde_json::to_value(sensor("s", &state, &Stats::default(), 0)).unwrap();
        assert_eq!(value["state"], "normal");
        assert_eq!(value["latest"], Value::Null);
        assert_eq!(value["last_hour"]["count"], 0);
        assert_eq!(value["last_hour"]["mean"], Value::Null);
        assert_eq!(value["rules"]["max_celsius"], 35.0);
    }
}
