//! Ingested readings: validating a `POST /telemetry/readings` body (all or nothing) and putting
//! the batch in the order the rule engine needs.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};
use service_kit::clock;
use service_kit::ApiError;
use utoipa::ToSchema;

/// Most readings in one request; more is 413.
pub const MAX_BATCH: usize = 1000;
/// Absolute zero: nothing colder can be measured.
pub const MIN_CELSIUS: f64 = -273.15;
/// Hotter than any sensor we expect: a larger value is a broken sensor or a unit mix-up.
pub const MAX_CELSIUS: f64 = 1000.0;
/// How far in the future `at` may be (clock skew between sensors and us).
pub const MAX_FUTURE_MILLIS: i64 = 5 * 60 * 1000;
/// Longest sensor id.
pub const MAX_SENSOR_ID: usize = 64;

/// One temperature reading; `at` in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub sensor_id: String,
    pub celsius: f64,
    pub at: i64,
}

/// The wire form of one reading, for the contract: what `parse_batch` accepts (its unit tests
/// hold the two together).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "One temperature reading (unknown fields are refused).")]
pub struct ReadingInput {
    #[schema(schema_with = sensor_id_schema)]
    pub sensor_id: String,
    #[schema(minimum = -273.15, maximum = 1000)]
    pub celsius: f64,
    /// RFC 3339, at most 5 minutes in the future; now when absent.
    #[schema(
        nullable = false,
        pattern = "^[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
    )]
    pub at: Option<String>,
}

/// The wire form of a `POST /telemetry/readings` body, for the contract.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(description = "One reading, or an array of 1 to 1000.")]
pub enum ReadingsBody {
    One(ReadingInput),
    Many(ReadingBatch),
}

/// 1 to 1000 readings.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(min_items = 1, max_items = 1000)]
pub struct ReadingBatch(pub Vec<ReadingInput>);

/// A validated request: readings sorted by (sensor, at), exact repeats within the request removed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    pub readings: Vec<Reading>,
    /// Readings that repeated an earlier (sensor, at) of the same request (the first one counts).
    pub duplicates: usize,
}

/// Sensor ids are 1 to 64 of `A-Z a-z 0-9 _ . : -`.
pub fn valid_sensor_id(id: &str) -> bool {
    (1..=MAX_SENSOR_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// The sensor ids' pattern, as the contract states it (its tests match it against the check).
pub const SENSOR_ID_PATTERN: &str = "^[A-Za-z0-9_.:-]{1,64}$";

/// A sensor id's schema: `inline(SensorId)` for a parameter, `schema_with` for a field.
pub struct SensorId;

impl utoipa::PartialSchema for SensorId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        sensor_id_schema().into()
    }
}

impl ToSchema for SensorId {}

/// The schema of a string holding a sensor id.
pub fn sensor_id_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(SENSOR_ID_PATTERN))
        .min_length(Some(1))
        .max_length(Some(MAX_SENSOR_ID))
        .into()
}

/// The rule for sensor ids, for error messages.
pub const SENSOR_ID_RULE: &str = "1 to 64 of A-Z, a-z, 0-9, '_', '.', ':', '-'";

/// Validates a body of one reading or an array of 1 to `MAX_BATCH`. Any invalid reading refuses
/// the whole request, naming its index and field (`readings[3].celsius: ...`); readings without
/// `at` are taken at `now`.
pub fn parse_batch(body: &Value, now: i64) -> Result<Batch, ApiError> {
    let items: &[Value] = match body {
        Value::Array(items) => items,
        Value::Object(_) => std::slice::from_ref(body),
        _ => {
            return Err(ApiError::bad_request(
                "send one reading {\"sensor_id\", \"celsius\", \"at\"} or an array of them",
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("the array of readings is empty"));
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::too_large(format!(
            "too many readings: {} in one request, at most {MAX_BATCH}",
            items.len()
        )));
    }
    let mut readings = Vec::with_capacity(items.len());
    // Sensors with a reading stamped `now` by us: a second one would silently be a duplicate.
    let mut stamped_now = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            return Err(ApiError::bad_request(format!(
                "readings[{index}]: must be an object with sensor_id, celsius and at"
            )));
        };
        let reading = parse_reading(object, now)
            .map_err(|(field, problem)| invalid(index, &field, problem))?;
        // Rules the contract's schema cannot state (it knows neither the clock nor the other
        // readings): 422, so that a reading fitting the schema is never a 400.
        if reading.at > now + MAX_FUTURE_MILLIS {
            let problem = format!("{} is more than 5 minutes in the future", object["at"]);
            return Err(unprocessable(index, "at", problem));
        }
        if !object.contains_key("at") && !stamped_now.insert(reading.sensor_id.clone()) {
            let problem = format!(
                "missing, and sensor {:?} already has a reading without at in this request \
                 (both would be at the same instant): give at",
                reading.sensor_id
            );
            return Err(unprocessable(index, "at", problem));
        }
        readings.push(reading);
    }
    Ok(sort_and_dedupe(readings))
}

fn invalid(index: usize, field: &str, problem: String) -> ApiError {
    ApiError::bad_request(format!("readings[{index}].{field}: {problem}"))
}

fn unprocessable(index: usize, field: &str, problem: String) -> ApiError {
    ApiError::unprocessable(format!("readings[{index}].{field}: {problem}"))
}

/// One reading object, or the field at fault and what is wrong with it.
fn parse_reading(object: &Map<String, Value>, now: i64) -> Result<Reading, (String, String)> {
    let fault = |field: &str, problem: String| Err((field.to_owned(), problem));
    if let Some(name) = object
        .keys()
        .find(|name| !matches!(name.as_str(), "sensor_id" | "celsius" | "at"))
    {
        return fault(
            name,
            "unknown field; a reading has sensor_id, celsius and at".to_owned(),
        );
    }
    let sensor_id = match object.get("sensor_id") {
        None => return fault("sensor_id", "missing".to_owned()),
        Some(Value::String(id)) if valid_sensor_id(id) => id.clone(),
        Some(other) => {
            return fault(
                "sensor_id",
                format!("must be {SENSOR_ID_RULE}, got {other}"),
            )
        }
    };
    let celsius = match object.get("celsius") {
        None => return fault("celsius", "missing".to_owned()),
        Some(value) => match value.as_f64() {
            Some(c) if c.is_finite() && (MIN_CELSIUS..=MAX_CELSIUS).contains(&c) => c,
            _ => {
                let problem =
                    format!("must be a number from {MIN_CELSIUS} to {MAX_CELSIUS}, got {value}");
                return fault("celsius", problem);
            }
        },
    };
    let at = match object.get("at") {
        None => now,
        Some(Value::String(text)) => match clock::parse_rfc3339(text) {
            Err(problem) => return fault("at", problem),
            Ok(at) => at,
        },
        Some(other) => {
            return fault(
                "at",
                format!("must be an RFC 3339 timestamp string, got {other}"),
            )
        }
    };
    Ok(Reading {
        sensor_id,
        celsius,
        at,
    })
}

/// Sorts by (sensor, at) (stable, so the first of equal readings stays first) and drops exact
/// (sensor, at) repeats: a reading sent twice in one request counts once, the first value wins.
pub fn sort_and_dedupe(mut readings: Vec<Reading>) -> Batch {
    readings.sort_by(|a, b| a.sensor_id.cmp(&b.sensor_id).then(a.at.cmp(&b.at)));
    let before = readings.len();
    readings
        .dedup_by(|later, earlier| later.sensor_id == earlier.sensor_id && later.at == earlier.at);
    Batch {
        duplicates: before - readings.len(),
        readings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_795_428_900_000; // 2026-11-23T10:15:00Z

    fn message(body: Value) -> (u16, String) {
        let err = parse_batch(&body, NOW).unwrap_err();
        (err.status, err.message)
    }

    #[test]
    fn sensor_ids_follow_the_rule() {
        for id in ["a", "boiler-1", "site_2.room:3", &"x".repeat(64)] {
            assert!(valid_sensor_id(id), "{id}");
        }
        for id in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!valid_sensor_id(id), "{id}");
        }
    }

    #[test]
    fn one_reading_or_an_array() {
        let one = parse_batch(&json!({"sensor_id": "s", "celsius": 20.5}), NOW).unwrap();
        assert_eq!(
            one.readings,
            [Reading {
                sensor_id: "s".into(),
                celsius: 20.5,
                at: NOW
            }]
        );
        let many = parse_batch(
            &json!([
                {"sensor_id": "b", "celsius": 1, "at": "2026-11-23T10:00:00Z"},
                {"sensor_id": "a", "celsius": 2, "at": "2026-11-23T10:01:00+01:00"}
            ]),
            NOW,
        )
        .unwrap();
        let order: Vec<_> = many.readings.iter().map(|r| r.sensor_id.as_str()).collect();
        assert_eq!(order, ["a", "b"]);
        assert_eq!(many.readings[0].at, NOW - 74 * 60 * 1000);
    }

    #[test]
    fn the_invalid_reading_is_named_by_index_and_field() {
        let ok = json!({"sensor_id": "s", "celsius": 1});
        let cases = [
            (json!({"celsius": 1}), "readings[1].sensor_id: missing"),
            (
                json!({"sensor_id": "a b", "celsius": 1}),
                "readings[1].sensor_id",
            ),
            (
                json!({"sensor_id": 7, "celsius": 1}),
                "readings[1].sensor_id",
            ),
            (json!({"sensor_id": "t"}), "readings[1].celsius: missing"),
            (
                json!({"sensor_id": "t", "celsius": "20"}),
                "readings[1].celsius",
            ),
            (
                json!({"sensor_id": "t", "celsius": -273.16}),
                "readings[1].celsius",
            ),
            (
                json!({"sensor_id": "t", "celsius": 1000.5}),
                "readings[1].celsius",
            ),
            (
                json!({"sensor_id": "t", "celsius": 1, "at": "noon"}),
                "readings[1].at",
            ),
            (
                json!({"sensor_id": "t", "celsius": 1, "at": 17}),
                "readings[1].at",
            ),
            (
                json!({"sensor_id": "t", "celsius": 1, "celcius": 2}),
                "readings[1].celcius",
            ),
            (json!(5), "readings[1]: must be an object"),
        ];
        for (bad, expected) in cases {
            let (status, text) = message(json!([ok, bad]));
            assert_eq!(status, 400, "{text}");
            assert!(
                text.starts_with(expected),
                "{text:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn limits_of_range_are_accepted() {
        let body = json!([
            {"sensor_id": "t", "celsius": -273.15, "at": "2026-11-23T10:00:00Z"},
            {"sensor_id": "t", "celsius": 1000, "at": "2026-11-23T10:01:00Z"}
        ]);
        assert_eq!(parse_batch(&body, NOW).unwrap().readings.len(), 2);
    }

    #[test]
    fn the_future_is_refused_beyond_five_minutes() {
        let near = json!({"sensor_id": "t", "celsius": 1, "at": "2026-11-23T10:20:00Z"});
        assert!(parse_batch(&near, NOW).is_ok());
        let far = json!({"sensor_id": "t", "celsius": 1, "at": "2026-11-23T10:20:00.001Z"});
        let (status, text) = message(far);
        assert_eq!(status, 422);
        assert_eq!(
            text,
            r#"readings[0].at: "2026-11-23T10:20:00.001Z" is more than 5 minutes in the future"#
        );
    }

    #[test]
    fn sizes_are_limited() {
        assert_eq!(message(json!([])).0, 400);
        let reading = json!({"sensor_id": "t", "celsius": 1});
        let too_many = Value::Array(vec![reading; MAX_BATCH + 1]);
        let (status, text) = message(too_many);
        assert_eq!(status, 413);
        assert!(text.contains("1001") && text.contains("1000"), "{text}");
        assert_eq!(message(json!("reading")).0, 400);
    }

    #[test]
    fn two_unstamped_readings_of_one_sensor_are_refused() {
        let body = json!([
            {"sensor_id": "t", "celsius": 1},
            {"sensor_id": "u", "celsius": 1},
            {"sensor_id": "t", "celsius": 2}
        ]);
        let (status, text) = message(body);
        assert_eq!(status, 422);
        assert!(text.starts_with("readings[2].at"), "{text}");
    }

    #[test]
    fn repeats_within_a_request_count_once_and_the_first_wins() {
        let body = json!([
            {"sensor_id": "t", "celsius": 1, "at": "2026-11-23T10:00:00Z"},
            {"sensor_id": "t", "celsius": 9, "at": "2026-11-23T10:00:00Z"},
            {"sensor_id": "t", "celsius": 2, "at": "2026-11-23T09:59:00Z"}
        ]);
        let batch = parse_batch(&body, NOW).unwrap();
        assert_eq!(batch.duplicates, 1);
        let values: Vec<_> = batch.readings.iter().map(|r| r.celsius).collect();
        assert_eq!(values, [2.0, 1.0]);
    }
}
