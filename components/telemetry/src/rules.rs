//! Per-sensor alert rules: their defaults and the validation of `PUT /telemetry/sensors/{id}/rules`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_kit::ApiError;
use utoipa::ToSchema;

use crate::reading::{MAX_CELSIUS, MIN_CELSIUS};

/// Below this a reading is out of range (`below_min`) unless the sensor has its own rules.
pub const DEFAULT_MIN_CELSIUS: f64 = -10.0;
/// Above this a reading is out of range (`above_max`) unless the sensor has its own rules.
pub const DEFAULT_MAX_CELSIUS: f64 = 35.0;
/// A faster change than this (°C per minute, either direction) is `too_fast`.
pub const DEFAULT_MAX_DELTA_PER_MINUTE: f64 = 5.0;

/// The thresholds one sensor's readings are judged by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub min_celsius: f64,
    pub max_celsius: f64,
    pub max_delta_per_minute: f64,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            min_celsius: DEFAULT_MIN_CELSIUS,
            max_celsius: DEFAULT_MAX_CELSIUS,
            max_delta_per_minute: DEFAULT_MAX_DELTA_PER_MINUTE,
        }
    }
}

/// The wire form of a `PUT /telemetry/sensors/{id}/rules` body, for the contract: what
/// `parse_rules` accepts (its unit tests hold the two together).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "A sensor's rules: a field left out takes its default; `min_celsius` must be below \
                   `max_celsius`; unknown fields are refused."
)]
pub struct RulesBody {
    /// Below this a reading is `below_min` (default -10).
    #[schema(nullable = false, minimum = -273.15, maximum = 1000)]
    pub min_celsius: Option<f64>,
    /// Above this a reading is `above_max` (default 35).
    #[schema(nullable = false, minimum = -273.15, maximum = 1000)]
    pub max_celsius: Option<f64>,
    /// A faster change (°C per minute, either way) is `too_fast` (default 5).
    #[schema(nullable = false, exclusive_minimum = 0)]
    pub max_delta_per_minute: Option<f64>,
}

const FIELDS: [&str; 3] = ["min_celsius", "max_celsius", "max_delta_per_minute"];

/// Parses a rules body. `PUT` replaces the sensor's rules: a field left out takes its default
/// (so `{}` resets them), unknown fields are refused so a typo is not silently ignored.
pub fn parse_rules(body: &Value) -> Result<Rules, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::bad_request(
            "rules must be a JSON object with min_celsius, max_celsius and/or max_delta_per_minute",
        ));
    };
    if let Some(name) = object.keys().find(|name| !FIELDS.contains(&name.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown field {name:?}; rules have {}",
            FIELDS.join(", ")
        )));
    }
    let number = |name: &str, default: f64| -> Result<f64, ApiError> {
        match object.get(name) {
            None => Ok(default),
            Some(value) => value.as_f64().filter(|v| v.is_finite()).ok_or_else(|| {
                ApiError::bad_request(format!("{name}: must be a number, got {value}"))
            }),
        }
    };
    let rules = Rules {
        min_celsius: number("min_celsius", DEFAULT_MIN_CELSIUS)?,
        max_celsius: number("max_celsius", DEFAULT_MAX_CELSIUS)?,
        max_delta_per_minute: number("max_delta_per_minute", DEFAULT_MAX_DELTA_PER_MINUTE)?,
    };
    for (name, value) in [
        ("min_celsius", rules.min_celsius),
        ("max_celsius", rules.max_celsius),
    ] {
        if !(MIN_CELSIUS..=MAX_CELSIUS).contains(&value) {
            return Err(ApiError::bad_request(format!(
                "{name}: must be from {MIN_CELSIUS} to {MAX_CELSIUS}, got {value}"
            )));
        }
    }
    // Two fields against each other, which the contract's schema cannot state: 422, not 400.
    if rules.min_celsius >= rules.max_celsius {
        return Err(ApiError::unprocessable(format!(
            "min_celsius ({}) must be below max_celsius ({})",
            rules.min_celsius, rules.max_celsius
        )));
    }
    if rules.max_delta_per_minute <= 0.0 {
        return Err(ApiError::bad_request(format!(
            "max_delta_per_minute: must be above 0, got {}",
            rules.max_delta_per_minute
        )));
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(body: Value) -> String {
        parse_rules(&body).unwrap_err().message
    }

    #[test]
    fn omitted_fields_take_their_defaults() {
        assert_eq!(parse_rules(&json!({})).unwrap(), Rules::default());
        let rules = parse_rules(&json!({"max_celsius": 50})).unwrap();
        assert_eq!(rules.max_celsius, 50.0);
        assert_eq!(rules.min_celsius, DEFAULT_MIN_CELSIUS);
        assert_eq!(rules.max_delta_per_minute, DEFAULT_MAX_DELTA_PER_MINUTE);
    }

    #[test]
    fn a_full_body_is_taken_as_given() {
        let body = json!({"min_celsius": 2.5, "max_celsius": 8, "max_delta_per_minute": 0.5});
        let rules = parse_rules(&body).unwrap();
        assert_eq!(
            rules,
            Rules {
                min_celsius: 2.5,
                max_celsius: 8.0,
                max_delta_per_minute: 0.5
            }
        );
    }

    #[test]
    fn min_must_be_below_max() {
        assert!(message(json!({"min_celsius": 40})).contains("below max_celsius"));
        assert!(message(json!({"min_celsius": 5, "max_celsius": 5})).contains("below"));
        let err = parse_rules(&json!({"min_celsius": 5, "max_celsius": 5})).unwrap_err();
        assert_eq!(err.status, 422);
    }

    #[test]
    fn delta_must_be_positive() {
        assert!(message(json!({"max_delta_per_minute": 0})).contains("max_delta_per_minute"));
        assert!(message(json!({"max_delta_per_minute": -1})).contains("above 0"));
    }

    #[test]
    fn bad_shapes_and_values_are_named() {
        assert!(message(json!([1])).contains("JSON object"));
        assert!(message(json!({"max_celsuis": 3})).contains("max_celsuis"));
        assert!(message(json!({"max_celsius": "hot"})).contains("max_celsius"));
        assert!(message(json!({"max_celsius": null})).contains("max_celsius"));
        assert!(message(json!({"min_celsius": -300})).contains("min_celsius"));
        assert!(message(json!({"max_celsius": 1001})).contains("max_celsius"));
    }
}
