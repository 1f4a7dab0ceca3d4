//! The JSON the service sends: API representations and event payloads (times as RFC 3339 UTC).

use serde_json::{json, Value};
use service_kit::clock::format_millis;

use crate::engine::{Alert, HotState, Point};
use crate::rules::Rules;

/// An alert as the event contract defines it (`data.alert` of `telemetry.*` events).
pub fn alert_event_data(alert: &Alert) -> Value {
    json!({
        "alert": {
            "id": alert.id,
            "sensor_id": alert.sensor_id,
            "state": alert.state(),
            "reason": alert.reason.as_str(),
            "celsius": alert.celsius,
            "threshold": alert.threshold,
            "raised_at": format_millis(alert.raised_at),
            "resolved_at": alert.resolved_at.map(format_millis),
            "last_celsius": alert.last_celsius,
        }
    })
}

/// An alert in API answers: the event's fields plus the episode's peak.
pub fn alert(alert: &Alert) -> Value {
    let mut value = alert_event_data(alert)["alert"].take();
    value["peak_celsius"] = json!(alert.peak_celsius);
    value
}

pub fn point(point: &Point) -> Value {
    json!({ "celsius": point.celsius, "at": format_millis(point.at) })
}

pub fn rules(sensor_id: &str, rules: &Rules) -> Value {
    json!({
        "sensor_id": sensor_id,
        "min_celsius": rules.min_celsius,
        "max_celsius": rules.max_celsius,
        "max_delta_per_minute": rules.max_delta_per_minute,
    })
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
pub fn sensor(sensor_id: &str, state: &HotState, stats: &Stats, since: i64) -> Value {
    json!({
        "sensor_id": sensor_id,
        "latest": state.latest.as_ref().map(point),
        "state": state.state(),
        "active_alert": state.alert.as_ref().map(alert),
        "rules": rules(sensor_id, &state.rules),
        "last_hour": {
            "since": format_millis(since),
            "count": stats.count,
            "min": stats.min,
            "max": stats.max,
            "mean": stats.mean,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Reason;

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
        let value = alert(&sample());
        assert_eq!(value["peak_celsius"], 39.0);
        assert_eq!(value["id"], 7);
    }

    #[test]
    fn a_sensor_view_without_readings_in_the_window_has_null_stats() {
        let state = HotState::new(Rules::default());
        let value = sensor("s", &state, &Stats::default(), 0);
        assert_eq!(value["state"], "normal");
        assert_eq!(value["latest"], Value::Null);
        assert_eq!(value["last_hour"]["count"], 0);
        assert_eq!(value["last_hour"]["mean"], Value::Null);
        assert_eq!(value["rules"]["max_celsius"], 35.0);
    }
}
