//! The service's contract: the OpenAPI 3.1 document `GET /insights/openapi.json` serves, generated
//! (by `utoipa`) from the types the handlers really read and write (`wire`) and from the
//! operation descriptors below: one empty `pub fn` per endpoint of `handlers`, named after it,
//! holding only its parameters, bodies and answers.
//!
//! What the derive cannot see is held to the code by the unit tests below: every route of
//! `route::resource` is in the document with exactly the methods it answers, and every pattern
//! agrees with the validator it describes.

use service_kit::contract::{ErrorBody, Health, SQLITE_SERVICE_ENDPOINTS, STORAGE_ERRORS};
use service_kit::ids::Id;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

use crate::wire::{
    ActiveAlerts, CloudEventInput, CustomerView, EventReceipt, RebuildReport, Summary,
};

/// The document. `info` comes from Cargo.toml (name, version, description, license).
#[derive(OpenApi)]
#[openapi(
    info(title = "insights"),
    paths(
        receive_event,
        rebuild,
        customer,
        summary,
        alerts,
    ),
    components(schemas(ErrorBody, Health)),
    modifiers(&STORAGE_ERRORS, &SQLITE_SERVICE_ENDPOINTS, &CloudEventExtensions),
    tags(
        (name = "events", description = "The push-subscription endpoint (`support.*`, `telemetry.*`)."),
        (name = "views", description = "Query views built from the events."),
        (name = "service", description = "Health and contract."),
    )
)]
pub struct ApiDoc;

/// The document as the component serves it: [`ApiDoc`] serialised by the unit tests into
/// `openapi.json` (`UPDATE_OPENAPI=1 cargo test -p insights` rewrites it), so that the component
/// links none of utoipa's document building.
pub const DOCUMENT: &str = include_str!("../openapi.json");

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

// ---------------------------------------------------------------------------------------------
// The operations: descriptors holding no code, only what each endpoint of `handlers` answers.

/// A pushed event: applied (once), a duplicate, or ignored (a type the views do not use, which
/// must still be acknowledged so it never dead-letters). Anything unusable is 400, so the event
/// log retries it and finally dead-letters it.
#[utoipa::path(
    post,
    path = "/insights/events",
    tag = "events",
    summary = "Receive one pushed event",
    description = "The push-subscription endpoint the event log delivers to. Each event id is \
        applied once; a snapshot changes a view only if it is newer than the one held.",
    request_body(content(
        (CloudEventInput = "application/cloudevents+json"),
        (CloudEventInput = "application/json"),
    )),
    responses(
        (status = 200, description = "Applied, a duplicate, or ignored.", body = EventReceipt),
        (status = 400, description = "Not one valid CloudEvent, or a known type whose data the views cannot use.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Neither `application/cloudevents+json` nor `application/json`.", body = ErrorBody),
    )
)]
pub fn receive_event() {}

#[utoipa::path(
    post,
    path = "/insights/rebuild",
    tag = "views",
    summary = "Rebuild every view from the event logs",
    description = "Reads every `support.*` and `telemetry.*` topic from offset 0, replaces the views \
        and the processed set in one transaction, then catches up with what was appended meanwhile.",
    responses(
        (status = 200, description = "Rebuilt.", body = RebuildReport),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 502, description = "The event log could not be read; the message says whether the views changed.", body = ErrorBody),
        (status = 507, description = "The logs hold more events than one rebuild replays; the views are unchanged.", body = ErrorBody),
    )
)]
pub fn rebuild() {}

#[utoipa::path(
    get,
    path = "/insights/support/customers/{id}",
    tag = "views",
    summary = "What the support events tell about one customer",
    params(
        ("id" = inline(Id), Path, description = "The customer id."),
    ),
    responses(
        (status = 200, description = "The customer's view.", body = CustomerView),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 404, description = "Nothing is known about this customer (or the id is not a customer id).", body = ErrorBody),
    )
)]
pub fn customer() {}

#[utoipa::path(
    get,
    path = "/insights/support/summary",
    tag = "views",
    summary = "The support desk at a glance",
    responses(
        (status = 200, description = "The summary.", body = Summary),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
    )
)]
pub fn summary() {}

#[utoipa::path(
    get,
    path = "/insights/telemetry/alerts",
    tag = "views",
    summary = "The active temperature alerts, newest first",
    params(
        ("limit" = Option<i64>, Query, description = "At most this many (default 1000).",
            minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The active alerts.", body = ActiveAlerts),
        (status = 400, description = "A query parameter is invalid or unknown.", body = ErrorBody),
    )
)]
pub fn alerts() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{resource, Resource};
    use regex::Regex;
    use serde_json::{json, Value};
    use service_kit::contract::{operations, operations_missing};
    use std::collections::BTreeSet;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    #[test]
    fn the_embedded_document_is_the_generated_one() {
        service_kit::assert_embedded_document!(DOCUMENT, &ApiDoc::openapi());
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
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
    fn the_document_passes_the_shared_checks() {
        service_kit::assert_document!(&document());
    }

    #[test]
    fn customer_id_patterns_agree_with_the_rule() {
        use crate::event::is_customer_id;
        let doc = document();
        // The route table refuses ids that break the rule with 404.
        assert_eq!(
            operations_missing(&doc, "{id}", "404"),
            Vec::<String>::new()
        );
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
        use crate::event::parse_cloud_event;
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
        // The limits are in characters, as JSON Schema's `maxLength` counts them.
        assert_eq!(event["properties"]["id"]["minLength"], 1);
        assert_eq!(event["properties"]["id"]["maxLength"], 256);
        for (sample, ok) in [
            ("e-1".to_owned(), true),
            ("x".repeat(256), true),
            ("é".repeat(256), true),
            (String::new(), false),
            ("x".repeat(257), false),
            ("é".repeat(257), false),
        ] {
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
