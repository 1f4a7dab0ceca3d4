//! The service's contract and health: `GET /telemetry/openapi.json` serves an OpenAPI 3.1 document
//! generated (by `utoipa`) from the types the handlers really read and write and from the
//! `#[utoipa::path]` attributes next to each handler; `GET /telemetry/health` checks the service's
//! own stores.
//!
//! What the derive cannot see is held to the code by the unit tests below: every route of
//! `route::resource` is in the document with exactly the methods it answers, and every pattern
//! agrees with the validator it describes.

use service_kit::contract::{
    check_key_value, check_sqlite, document_response, ErrorBody, Health, ServiceEndpoints,
    StorageErrors,
};
use spin_sdk::http::Response;
use utoipa::OpenApi;

use crate::hot::KEY_VALUE_LABEL;
use crate::store::DATABASE_LABEL;
use crate::SERVICE;

/// `GET /telemetry/health`: 200 when the service's own stores answer, else 503.
pub fn health() -> Response {
    let checks = vec![
        ("sqlite", check_sqlite(DATABASE_LABEL)),
        ("key_value", check_key_value(KEY_VALUE_LABEL)),
    ];
    Health::from_checks(SERVICE, checks).into_response()
}

/// `GET /telemetry/openapi.json`: this document.
pub fn openapi() -> Response {
    document_response(&ApiDoc::openapi())
}

/// The document. `info` comes from Cargo.toml (name, version, description, license).
#[derive(OpenApi)]
#[openapi(
    info(title = "telemetry"),
    paths(
        crate::post_readings,
        crate::get_sensor,
        crate::get_readings,
        crate::get_rules,
        crate::put_rules,
        crate::get_alerts,
        crate::get_outbox,
        crate::flush_outbox,
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

/// `500 storage error` on every operation but these two, which never touch the stores.
const STORAGE_ERRORS: StorageErrors = StorageErrors(&["health", "openapi"]);
/// `GET /telemetry/health` and `GET /telemetry/openapi.json`, as every service has them.
const SERVICE_ENDPOINTS: ServiceEndpoints = ServiceEndpoints {
    checks: "its SQLite database answers `SELECT 1`, its key-value store a lookup",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{resource, Resource};
    use regex::Regex;
    use serde_json::{json, Value};
    use service_kit::contract::{operations, operations_missing, property_names};
    use std::collections::BTreeSet;

    const NOW: i64 = 1_795_428_900_000; // 2026-11-23T10:15:00Z

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
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

    fn parameter(doc: &Value, path: &str, method: &str, name: &str) -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path}: no parameter {name}"))
            .clone()
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
