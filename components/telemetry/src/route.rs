//! Which resource a request path names. The path is the request's own (never `spin-path-info`),
//! so the service answers the same under its `/telemetry/...` route and under service chaining.

use service_kit::request::segments;
use service_kit::ApiError;

use crate::reading::{valid_sensor_id, SENSOR_ID_RULE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/telemetry/readings`
    Readings,
    /// `/telemetry/sensors/{id}`
    Sensor(String),
    /// `/telemetry/sensors/{id}/rules`
    SensorRules(String),
    /// `/telemetry/sensors/{id}/readings`
    SensorReadings(String),
    /// `/telemetry/alerts`
    Alerts,
    /// `/telemetry/outbox`
    Outbox,
    /// `/telemetry/outbox/flush`
    OutboxFlush,
    /// `/telemetry/health`
    Health,
    /// `/telemetry/openapi.json`
    OpenApi,
}

impl Resource {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Resource::Readings | Resource::OutboxFlush => "POST",
            Resource::SensorRules(_) => "GET, PUT",
            Resource::Sensor(_)
            | Resource::SensorReadings(_)
            | Resource::Alerts
            | Resource::Outbox
            | Resource::Health
            | Resource::OpenApi => "GET",
        }
    }
}

/// Maps a request path (no query) to its resource: 404 for anything else, including a sensor id
/// that breaks the id rule (no such sensor can exist).
pub fn resource(path: &str) -> Result<Resource, ApiError> {
    let not_found = || ApiError::not_found(format!("no such resource: {path}"));
    let sensor = |id: &str| {
        if valid_sensor_id(id) {
            Ok(id.to_owned())
        } else {
            Err(ApiError::not_found(format!(
                "no such sensor: {id:?} (sensor ids are {SENSOR_ID_RULE})"
            )))
        }
    };
    match segments(path).as_slice() {
        ["telemetry", "readings"] => Ok(Resource::Readings),
        ["telemetry", "sensors", id] => sensor(id).map(Resource::Sensor),
        ["telemetry", "sensors", id, "rules"] => sensor(id).map(Resource::SensorRules),
        ["telemetry", "sensors", id, "readings"] => sensor(id).map(Resource::SensorReadings),
        ["telemetry", "alerts"] => Ok(Resource::Alerts),
        ["telemetry", "outbox"] => Ok(Resource::Outbox),
        ["telemetry", "outbox", "flush"] => Ok(Resource::OutboxFlush),
        ["telemetry", "health"] => Ok(Resource::Health),
        ["telemetry", "openapi.json"] => Ok(Resource::OpenApi),
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_resources() {
        let cases = [
            ("/telemetry/readings", Resource::Readings),
            ("/telemetry/readings/", Resource::Readings),
            (
                "/telemetry/sensors/boiler-1",
                Resource::Sensor("boiler-1".into()),
            ),
            (
                "/telemetry/sensors/a.b:c/rules",
                Resource::SensorRules("a.b:c".into()),
            ),
            (
                "/telemetry/sensors/s_1/readings",
                Resource::SensorReadings("s_1".into()),
            ),
            ("/telemetry/alerts", Resource::Alerts),
            ("/telemetry/outbox", Resource::Outbox),
            ("//telemetry/outbox/flush", Resource::OutboxFlush),
            ("/telemetry/health", Resource::Health),
            ("/telemetry/openapi.json", Resource::OpenApi),
            // A sensor may be called `health`: it is one level deeper.
            (
                "/telemetry/sensors/health",
                Resource::Sensor("health".into()),
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(resource(path).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in [
            "/",
            "/telemetry",
            "/telemetry/sensors",
            "/telemetry/sensors/a/b",
            "/telemetry/sensors/a%20b",
            "/telemetry/alerts/1",
            "/telemetryx/readings",
        ] {
            assert_eq!(resource(path).unwrap_err().status, 404, "{path}");
        }
    }

    #[test]
    fn every_resource_names_its_methods() {
        assert_eq!(
            Resource::SensorRules("s".into()).allowed_methods(),
            "GET, PUT"
        );
        assert_eq!(Resource::Readings.allowed_methods(), "POST");
    }
}
