//! The service's contract: the OpenAPI 3.1 document `GET /telemetry/openapi.json` serves, generated
//! (by `utoipa`) from the types the handlers really read and write (`wire`) and from the
//! operation descriptors below: one empty `pub fn` per endpoint of `handlers`, named after it,
//! holding only its parameters, bodies and answers.
//!
//! What the derive cannot see is held to the code by the unit tests below: every route of
//! `route::resource` is in the document with exactly the methods it answers, and every pattern
//! agrees with the validator it describes.

use service_kit::contract::{ErrorBody, Health, ServiceEndpoints, STORAGE_ERRORS};
use utoipa::OpenApi;

use crate::reading::{ReadingsBody, SensorId};
use crate::rules::RulesBody;
use crate::store::AlertFilter;
use crate::wire::{AlertsView, IngestView, ReadingsView, RulesView, SensorView};
use service_kit::outbox;

/// The document. `info` comes from Cargo.toml (name, version, description, license).
#[derive(OpenApi)]
#[openapi(
    info(title = "telemetry"),
    paths(
        post_readings,
        get_sensor,
        get_readings,
        get_rules,
        put_rules,
        get_alerts,
        get_outbox,
        flush_outbox,
    ),
    components(schemas(ErrorBody, Health, crate::store::AlertFilter)),
    modifiers(&STORAGE_ERRORS, &SERVICE_ENDPOINTS),
    tags(
        (name = "readings", description = "Ingesting temperature readings."),
        (name = "sensors", description = "Sensors: state, readings and rules."),
        (name = "alerts", description = "Temperature alerts (one per episode)."),
        (name = "outbox", description = "The transactional outbox of `telemetry.*` events."),
        (name = "service", description = "Health and contract."),
    )
)]
pub struct ApiDoc;

/// The document as the component serves it: [`ApiDoc`] serialised by the unit tests into
/// `openapi.json` (`UPDATE_OPENAPI=1 cargo test -p telemetry` rewrites it), so that the component
/// links none of utoipa's document building.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /telemetry/health` and `GET /telemetry/openapi.json`, as every service has them.
const SERVICE_ENDPOINTS: ServiceEndpoints = ServiceEndpoints {
    checks: "its SQLite database answers `SELECT 1`, its key-value store a lookup",
};

// ---------------------------------------------------------------------------------------------
// The operations: descriptors holding no code, only what each endpoint of `handlers` answers.

#[utoipa::path(
    post,
    path = "/telemetry/readings",
    tag = "readings",
    summary = "Ingest temperature readings",
    description = "One reading or an array of 1 to 1000, all or nothing: any invalid reading refuses \
        the whole request (400 or 422, naming it as `readings[i].field`). `at` may be at most 5 minutes in \
        the future; without it the reading is taken now, so two readings of one sensor without `at` \
        in one request are refused. A reading already stored for (sensor, at) is a duplicate; one \
        older than the sensor's latest is stored but not judged (`out_of_order`).",
    request_body(content = ReadingsBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; the alerts raised or resolved by these readings.", body = IngestView),
        (status = 400, description = "The JSON or a reading is invalid; the message names it.", body = ErrorBody),
        (status = 413, description = "More than 1000 readings, or a body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
        (status = 422, description = "A reading's `at` is more than 5 minutes in the future, or two \
            readings of one sensor lack `at`; the message names the reading.", body = ErrorBody),
    )
)]
pub fn post_readings() {}

#[utoipa::path(
    get,
    path = "/telemetry/sensors/{id}",
    tag = "sensors",
    summary = "A sensor's state, rules and last hour",
    params(
        ("id" = inline(SensorId), Path, description = "The sensor id."),
    ),
    responses(
        (status = 200, description = "The sensor.", body = SensorView),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 404, description = "No reading of this sensor was ever stored (or the id breaks the sensor id rule).", body = ErrorBody),
    )
)]
pub fn get_sensor() {}

#[utoipa::path(
    get,
    path = "/telemetry/sensors/{id}/rules",
    tag = "sensors",
    summary = "A sensor's rules (the defaults if none were set)",
    params(
        ("id" = inline(SensorId), Path, description = "The sensor id."),
    ),
    responses(
        (status = 200, description = "The rules the sensor's next readings are judged by.", body = RulesView),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 404, description = "The id breaks the sensor id rule, so no such sensor can exist.", body = ErrorBody),
    )
)]
pub fn get_rules() {}

#[utoipa::path(
    put,
    path = "/telemetry/sensors/{id}/rules",
    tag = "sensors",
    summary = "Replace a sensor's rules",
    description = "Fields left out take their defaults (`{}` resets them); `min_celsius` must be below \
        `max_celsius`. The new rules judge the next readings; an open alert stays open until a \
        reading within them ends it.",
    params(
        ("id" = inline(SensorId), Path, description = "The sensor id."),
    ),
    request_body(content = RulesBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The effective rules.", body = RulesView),
        (status = 400, description = "The JSON or a rule is invalid; the message names it.", body = ErrorBody),
        (status = 404, description = "The id breaks the sensor id rule, so no such sensor can exist.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
        (status = 422, description = "`min_celsius` (given or default) is not below `max_celsius`.", body = ErrorBody),
    )
)]
pub fn put_rules() {}

#[utoipa::path(
    get,
    path = "/telemetry/sensors/{id}/readings",
    tag = "sensors",
    summary = "A sensor's readings since a time, oldest first",
    params(
        ("id" = inline(SensorId), Path, description = "The sensor id."),
        ("since" = Option<String>, Query, description = "RFC 3339 (default: an hour ago).",
            pattern = "^[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"),
        ("limit" = Option<i64>, Query, description = "At most this many readings (default 100).",
            minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The readings.", body = ReadingsView),
        (status = 400, description = "A query parameter is invalid or unknown.", body = ErrorBody),
        (status = 404, description = "The id breaks the sensor id rule, so no such sensor can exist.", body = ErrorBody),
    )
)]
pub fn get_readings() {}

#[utoipa::path(
    get,
    path = "/telemetry/alerts",
    tag = "alerts",
    summary = "Alerts, newest first",
    params(
        ("state" = Option<AlertFilter>, Query, description = "Which alerts (default `all`)."),
        ("sensor" = inline(Option<SensorId>), Query, description = "Only this sensor's alerts."),
        ("limit" = Option<i64>, Query, description = "At most this many (default 100).",
            minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The alerts.", body = AlertsView),
        (status = 400, description = "A query parameter is invalid or unknown.", body = ErrorBody),
    )
)]
pub fn get_alerts() {}

#[utoipa::path(
    get,
    path = "/telemetry/outbox",
    tag = "outbox",
    summary = "How many events wait to be forwarded",
    responses(
        (status = 200, description = "The outbox's size.", body = outbox::OutboxStatus),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
    )
)]
pub fn get_outbox() {}

service_kit::outbox_operations!("/telemetry/outbox/flush");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{resource, Resource};
    use regex::Regex;
    use serde_json::{json, Value};
    use service_kit::contract::{operations, operations_missing, parameter, property_names};
    use std::collections::BTreeSet;

    const NOW: i64 = 1_795_428_900_000; // 2026-11-23T10:15:00Z

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    #[test]
    fn the_embedded_document_is_the_generated_one() {
        service_kit::assert_embedded_document!(DOCUMENT, &ApiDoc::openapi());
    }

    fn concrete(path: &str) -> String {
        path.replace("{id}", "boiler-1")
    }

    #[test]
    fn every_documented_operation_is_served_and_every_served_one_documented() {
        let doc = document();
        let documented = operations(&doc);
        let mut served = BTreeSet::new();
        let mut routes = BTreeSet::new();
        for (path, _) in &documented {
            let resource =
                resource(&concrete(path)).unwrap_or_else(|err| panic!("{path}: {err:?}"));
            for method in resource.allowed_methods().split(", ") {
                served.insert((path.clone(), method.to_owned()));
            }
            // The match makes a new route fail to compile here until it is listed.
            routes.insert(match resource {
                Resource::Readings => "Readings",
                Resource::Sensor(_) => "Sensor",
                Resource::SensorRules(_) => "SensorRules",
                Resource::SensorReadings(_) => "SensorReadings",
                Resource::Alerts => "Alerts",
                Resource::Outbox => "Outbox",
                Resource::OutboxFlush => "OutboxFlush",
                Resource::Health => "Health",
                Resource::OpenApi => "OpenApi",
            });
        }
        assert_eq!(documented, served);
        assert_eq!(routes.len(), 9, "{routes:?}");
    }

    #[test]
    fn the_document_passes_the_shared_checks() {
        service_kit::assert_document!(&document());
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    fn pattern(schema: &Value) -> Regex {
        Regex::new(schema["pattern"].as_str().expect("a pattern")).unwrap()
    }

    #[test]
    fn sensor_id_patterns_agree_with_the_rule() {
        use crate::reading::valid_sensor_id;
        let doc = document();
        // The route table refuses ids that break the rule with 404.
        let without_404 = operations_missing(&doc, "{id}", "404");
        assert!(without_404.is_empty(), "{without_404:?}");
        let mut patterns = vec![pattern(
            &schema(&doc, "ReadingInput")["properties"]["sensor_id"],
        )];
        for path in [
            "/telemetry/sensors/{id}",
            "/telemetry/sensors/{id}/rules",
            "/telemetry/sensors/{id}/readings",
        ] {
            patterns.push(pattern(&parameter(&doc, path, "get", "id")["schema"]));
        }
        patterns.push(pattern(
            &parameter(&doc, "/telemetry/alerts", "get", "sensor")["schema"],
        ));
        for id in [
            "a",
            "boiler-1",
            "site_2.room:3",
            &"x".repeat(64),
            "",
            "a b",
            "a/b",
            "é",
            &"x".repeat(65),
        ] {
            for regex in &patterns {
                assert_eq!(regex.is_match(id), valid_sensor_id(id), "{id:?}");
            }
        }
    }

    #[test]
    fn time_patterns_admit_only_what_the_parser_takes() {
        let doc = document();
        let at = pattern(&schema(&doc, "ReadingInput")["properties"]["at"]);
        let since =
            pattern(&parameter(&doc, "/telemetry/sensors/{id}/readings", "get", "since")["schema"]);
        for text in [
            "2026-11-23T10:15:00Z",
            "2026-11-23t10:15:00.123456789z",
            "2026-11-23 10:15:00+01:00",
            "1000-01-01T00:00:00-23:59",
            "9999-12-28T23:59:59+23:59",
        ] {
            assert!(at.is_match(text) && since.is_match(text), "{text}");
            assert!(service_kit::clock::parse_rfc3339(text).is_ok(), "{text}");
        }
        for text in [
            "2026-11-23",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "yesterday",
            "0999-01-01T00:00:00Z",
        ] {
            assert!(!at.is_match(text) && !since.is_match(text), "{text}");
        }
    }

    #[test]
    fn the_readings_body_is_what_parse_batch_takes() {
        use crate::reading::{parse_batch, ReadingsBody};
        let doc = document();
        let input = schema(&doc, "ReadingInput");
        assert_eq!(input["additionalProperties"], false);
        assert_eq!(input["required"], json!(["sensor_id", "celsius"]));
        assert_eq!(input["properties"]["celsius"]["minimum"], -273.15);
        assert_eq!(input["properties"]["celsius"]["maximum"], 1000.0);
        assert!(!input["properties"]["at"].to_string().contains("null"));
        let forms = &schema(&doc, "ReadingsBody")["oneOf"];
        assert_eq!(
            forms,
            &json!([{"$ref": "#/components/schemas/ReadingInput"},
                    {"$ref": "#/components/schemas/ReadingBatch"}])
        );
        let array = schema(&doc, "ReadingBatch");
        assert_eq!(array["items"]["$ref"], "#/components/schemas/ReadingInput");
        assert_eq!(
            (array["minItems"].clone(), array["maxItems"].clone()),
            (json!(1), json!(1000))
        );
        let good = [
            json!({"sensor_id": "s", "celsius": -273.15}),
            json!({"sensor_id": "s", "celsius": 1000, "at": "2026-11-23T10:00:00Z"}),
            json!([{"sensor_id": "s", "celsius": 1, "at": "2026-11-23T10:00:00Z"}]),
        ];
        for body in good {
            assert!(parse_batch(&body, NOW).is_ok(), "{body}");
            assert!(serde_json::from_value::<ReadingsBody>(body).is_ok());
        }
        let bad = [
            json!({"sensor_id": "s", "celsius": 1, "x": 1}),
            json!({"sensor_id": "s", "celsius": 1, "at": null}),
            json!({"celsius": 1}),
            json!([]),
        ];
        for body in bad {
            assert!(parse_batch(&body, NOW).is_err(), "{body}");
        }
    }

    #[test]
    fn the_rules_body_is_what_parse_rules_takes() {
        use crate::rules::parse_rules;
        let doc = document();
        let rules = schema(&doc, "RulesBody");
        assert_eq!(rules["additionalProperties"], false);
        assert!(rules
            .get("required")
            .is_none_or(|r| r.as_array().unwrap().is_empty()));
        let fields = property_names(rules);
        assert_eq!(
            fields,
            BTreeSet::from(["min_celsius", "max_celsius", "max_delta_per_minute"])
        );
        assert!(!rules["properties"].to_string().contains("null"));
        assert_eq!(
            rules["properties"]["max_delta_per_minute"]["exclusiveMinimum"],
            0.0
        );
        assert!(parse_rules(&json!({})).is_ok());
        assert!(parse_rules(&json!({"max_celsius": null})).is_err());
        assert!(parse_rules(&json!({"max_delta_per_minute": 0})).is_err());
        assert!(parse_rules(&json!({"min_celsius": -273.15, "max_celsius": 1000})).is_ok());
    }

    #[test]
    fn alert_filters_are_the_states_get_alerts_knows() {
        let doc = document();
        let filter = schema(&doc, "AlertFilter");
        assert_eq!(filter["enum"], json!(["active", "resolved", "all"]));
    }
}
