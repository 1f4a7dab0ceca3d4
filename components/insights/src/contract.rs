//! The service's contract and health: `GET /insights/openapi.json` serves an OpenAPI 3.1 document
//! generated (by `utoipa`) from the types the handlers really read and write and from the
//! `#[utoipa::path]` attributes next to each handler; `GET /insights/health` checks the service's
//! own store.
//!
//! What the derive cannot see is held to the code by the unit tests below: every route of
//! `route::resource` is in the document with exactly the methods it answers, and every pattern
//! agrees with the validator it describes.

use serde::Serialize;
use service_kit::api::json_response;
use spin_sdk::http::Response;
use spin_sdk::sqlite::Connection;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::store::DATABASE_LABEL;
use crate::SERVICE;

/// The body of every 4xx and 5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong (for a 5xx only a short phrase; the detail is logged).
    pub message: String,
}

/// A health state: of the service, or of one of its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Ok,
    Failing,
}

/// What `GET /insights/health` checked.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthChecks {
    /// The service's SQLite database (label `insights`) answers a query.
    pub sqlite: HealthState,
}

/// `GET /insights/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when every check is; `failing` names the failing checks in `checks`.
    pub status: HealthState,
    #[schema(example = "insights")]
    pub service: &'static str,
    pub checks: HealthChecks,
}

impl Health {
    fn new(checks: HealthChecks) -> Health {
        let status = if checks.sqlite == HealthState::Ok {
            HealthState::Ok
        } else {
            HealthState::Failing
        };
        Health {
            status,
            service: SERVICE,
            checks,
        }
    }

    fn status_code(&self) -> u16 {
        match self.status {
            HealthState::Ok => 200,
            HealthState::Failing => 503,
        }
    }
}

/// `GET /insights/health`: 200 when the service's own store answers, else 503.
#[utoipa::path(
    get,
    path = "/insights/health",
    tag = "service",
    operation_id = "health",
    summary = "The service's health",
    description = "Checks the service's own store: its SQLite database answers `SELECT 1`.",
    responses(
        (status = 200, description = "Every check passed.", body = Health),
        (status = 503, description = "A check failed; `checks` names it.", body = Health),
    )
)]
pub fn health() -> Response {
    let sqlite = match Connection::open(DATABASE_LABEL).and_then(|c| c.execute("SELECT 1", &[])) {
        Ok(_) => HealthState::Ok,
        Err(err) => {
            eprintln!("{SERVICE}: health: sqlite: {err:?}");
            HealthState::Failing
        }
    };
    let health = Health::new(HealthChecks { sqlite });
    json_response(health.status_code(), &health)
}

/// `GET /insights/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/insights/openapi.json",
    tag = "service",
    operation_id = "openapi",
    summary = "This service's OpenAPI document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of the service.",
            content_type = "application/json", body = inline(Object)),
    )
)]
pub fn openapi() -> Response {
    json_response(200, &ApiDoc::openapi())
}

/// The document. `info` comes from Cargo.toml (name, version, description, license).
#[derive(OpenApi)]
#[openapi(
    info(title = "insights"),
    paths(
        crate::receive_event,
        crate::rebuild,
        crate::customer,
        crate::summary,
        crate::alerts,
        health,
        openapi,
    ),
    components(schemas(ErrorBody)),
    modifiers(&ServerErrors, &CloudEventExtensions),
    tags(
        (name = "events", description = "The push-subscription endpoint (`support.*`, `telemetry.*`)."),
        (name = "views", description = "Query views built from the events."),
        (name = "service", description = "Health and contract."),
    )
)]
pub struct ApiDoc;

/// Operations that never use the store and so never answer 500.
const NO_STORE: [&str; 2] = ["health", "openapi"];

/// Every other operation can fail on its store: `500 {"message": "storage error"}`.
struct ServerErrors;

impl Modify for ServerErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let id = operation.operation_id.as_deref().unwrap_or_default();
                if NO_STORE.contains(&id) {
                    continue;
                }
                let response = ResponseBuilder::new()
                    .description(
                        "The service's storage failed (`storage error`; details are logged).",
                    )
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                            .build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .entry("500".to_owned())
                    .or_insert(response.into());
            }
        }
    }
}

/// A CloudEvent's other attributes are extensions: any value, under a name of 1 to 20 lowercase
/// letters or digits (what `CloudEvent::validate` checks; the standard attributes' names fit too).
struct CloudEventExtensions;

impl Modify for CloudEventExtensions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(event))) = components.schemas.get_mut("CloudEventInput")
        {
            let names = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(EXTENSION_NAME_PATTERN))
                .build();
            event.property_names = Some(Box::new(Schema::Object(names)));
            event.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
        }
    }
}

/// Attribute names of a CloudEvent (the standard ones fit too).
const EXTENSION_NAME_PATTERN: &str = "^[a-z0-9]{1,20}$";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{resource, Resource};
    use regex::Regex;
    use serde_json::{json, Value};
    use service_kit::ApiError;
    use std::collections::BTreeSet;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    fn operations(doc: &Value) -> BTreeSet<(String, String)> {
        let mut all = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                all.insert((path.clone(), method.to_uppercase()));
            }
        }
        all
    }

    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_crate_info() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "insights");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(!doc["info"]["description"].as_str().unwrap().is_empty());
    }

    #[test]
    fn every_documented_operation_is_served_and_every_served_one_documented() {
        let doc = document();
        let documented = operations(&doc);
        let mut served = BTreeSet::new();
        let mut routes = BTreeSet::new();
        for (path, _) in &documented {
            let resource = resource(&path.replace("{id}", "c-1"))
                .unwrap_or_else(|err| panic!("{path}: {err:?}"));
            for method in resource.allowed_methods().split(", ") {
                served.insert((path.clone(), method.to_owned()));
            }
            // The match makes a new route fail to compile here until it is listed.
            routes.insert(match resource {
                Resource::Events => "Events",
                Resource::Rebuild => "Rebuild",
                Resource::Customer(_) => "Customer",
                Resource::Summary => "Summary",
                Resource::Alerts => "Alerts",
                Resource::Health => "Health",
                Resource::OpenApi => "OpenApi",
            });
        }
        assert_eq!(documented, served);
        assert_eq!(routes.len(), 7, "{routes:?}");
    }

    #[test]
    fn every_reference_resolves_and_every_error_is_a_json_message() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        for target in found {
            let pointer = target.strip_prefix('#').unwrap();
            assert!(
                doc.pointer(pointer).is_some(),
                "{target} resolves to nothing"
            );
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                for (status, response) in responses {
                    if status.starts_with('4') || status.starts_with('5') && status != "503" {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {status}"
                        );
                    }
                }
                let stores = !path.ends_with("/health") && !path.ends_with("/openapi.json");
                assert_eq!(responses.contains_key("500"), stores, "{method} {path}");
                if path.contains("{id}") {
                    assert!(responses.contains_key("404"), "{method} {path}");
                }
            }
        }
    }

    #[test]
    fn error_bodies_are_what_service_kit_sends() {
        let response = ApiError::bad_request("nope").into_response(SERVICE);
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body,
            serde_json::to_value(ErrorBody {
                message: "nope".into()
            })
            .unwrap()
        );
    }

    #[test]
    fn health_answers_name_the_failing_check() {
        let ok = Health::new(HealthChecks {
            sqlite: HealthState::Ok,
        });
        assert_eq!(ok.status_code(), 200);
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"status": "ok", "service": "insights", "checks": {"sqlite": "ok"}})
        );
        let failing = Health::new(HealthChecks {
            sqlite: HealthState::Failing,
        });
        assert_eq!(failing.status_code(), 503);
        assert_eq!(serde_json::to_value(&failing).unwrap()["status"], "failing");
    }

    #[test]
    fn customer_id_patterns_agree_with_the_rule() {
        use crate::event::is_customer_id;
        let doc = document();
        let parameter = &doc["paths"]["/insights/support/customers/{id}"]["get"]["parameters"][0];
        assert_eq!(parameter["name"], "id");
        let id = Regex::new(parameter["schema"]["pattern"].as_str().unwrap()).unwrap();
        for sample in [
            "c-1",
            "A_b",
            &"a".repeat(64),
            "",
            "a b",
            "a.b",
            &"a".repeat(65),
        ] {
            assert_eq!(id.is_match(sample), is_customer_id(sample), "{sample:?}");
        }
    }

    #[test]
    fn the_event_schema_is_what_parse_cloud_event_takes() {
        use crate::event::{parse_cloud_event, CloudEventInput};
        let doc = document();
        let event = schema(&doc, "CloudEventInput");
        assert_eq!(
            event["required"],
            json!(["specversion", "id", "source", "type"])
        );
        assert_eq!(event["additionalProperties"], true);
        let names = Regex::new(event["propertyNames"]["pattern"].as_str().unwrap()).unwrap();
        for name in event["properties"].as_object().unwrap().keys() {
            assert!(names.is_match(name), "{name}");
        }
        let text = Regex::new(event["properties"]["id"]["pattern"].as_str().unwrap()).unwrap();
        for (sample, ok) in [
            ("e-1".to_owned(), true),
            ("x".repeat(256), true),
            ("é".repeat(64), true),
            (String::new(), false),
            ("x".repeat(257), false),
        ] {
            assert_eq!(text.is_match(&sample), ok, "{sample}");
            let body = json!({"specversion": "1.0", "id": sample, "source": "/x", "type": "x.y"});
            assert_eq!(parse_cloud_event(body.to_string().as_bytes()).is_ok(), ok);
        }
        let good = [
            json!({"specversion": "1.0", "id": "1", "source": "/x", "type": "x.y"}),
            json!({"specversion": "1.0", "id": "1", "source": "/x", "type": "x.y", "time": null,
                   "subject": null, "datacontenttype": null, "data": null, "requestid": [1]}),
            json!({"specversion": "1.0", "id": "1", "source": "/x", "type": "x.y",
                   "time": "2026-11-23T10:00:00Z", "data": "anything"}),
        ];
        for body in good {
            assert!(
                parse_cloud_event(body.to_string().as_bytes()).is_ok(),
                "{body}"
            );
            assert!(serde_json::from_value::<CloudEventInput>(body).is_ok());
        }
        let bad = [
            json!({"specversion": "0.3", "id": "1", "source": "/x", "type": "x.y"}),
            json!({"specversion": "1.0", "id": "1", "source": "/x", "type": "x.y", "Bad": 1}),
            json!({"specversion": "1.0", "id": "1", "source": "/x", "type": "x.y", "time": "noon"}),
            json!({"specversion": "1.0", "source": "/x", "type": "x.y"}),
        ];
        for body in bad {
            assert!(
                parse_cloud_event(body.to_string().as_bytes()).is_err(),
                "{body}"
            );
        }
        assert_eq!(schema(&doc, "SpecVersion")["enum"], json!(["1.0"]));
    }
}
