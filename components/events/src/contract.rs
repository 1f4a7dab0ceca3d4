//! The service's contract: the OpenAPI 3.1 document served at `GET /events/openapi.json`.
//!
//! It is generated (with `utoipa`) from the types the service really reads and writes: the
//! views of `store`, the answers below, the CloudEvent envelope and the subscription body; the
//! health report and the error body are the ones every service shares (`service_kit::contract`).
//! Limits and patterns come from the constants and rules in `domain`, so they cannot drift from
//! the checks; the unit tests below compare each pattern with the check it describes and each
//! documented route and method with `route`.
//!
//! Every `pub fn` with `#[utoipa::path]` below is an operation descriptor: it holds no code, only
//! the operation's parameters, body and the statuses the service answers it with; the `500` of
//! every operation on the database is added by `STORAGE_ERRORS`. `handlers` serves them.

use service_kit::contract::{ErrorBody, Health, SQLITE_SERVICE_ENDPOINTS, STORAGE_ERRORS};
use utoipa::OpenApi;

use crate::wire::{
    DeadLetterPage, DispatchReport, Published, ReadPage, ReplayReport, SubscriptionList,
    SubscriptionView, TopicList,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        list_topics,
        read_topic,
        publish,
        dispatch,
        list_subscriptions,
        get_subscription,
        put_subscription,
        delete_subscription,
        list_dead_letters,
        replay_dead_letters,
    ),
    components(schemas(
        TopicName,
        SubscriptionName,
        TopicPattern,
        CloudEventSchema,
        CloudEventBatch,
        AfterOffset,
        ReadLimit,
        ErrorBody,
        Health,
    )),
    modifiers(&STORAGE_ERRORS, &SQLITE_SERVICE_ENDPOINTS),
    tags(
        (name = "log", description = "Topics: append and read CloudEvents"),
        (name = "subscriptions", description = "Push subscriptions, their delivery and dead letters"),
        (name = "service", description = "Health and contract"),
    ),
)]
pub struct ApiDoc;

/// The document as the component serves it: [`ApiDoc`] serialised by the unit tests into
/// `openapi.json` (`UPDATE_OPENAPI=1 cargo test -p events` rewrites it), so that the component
/// links none of utoipa's document building.
pub const DOCUMENT: &str = include_str!("../openapi.json");

mod schemas;

pub use schemas::*;

// ---------------------------------------------------------------------------------------------
// The operations

/// Lists the topics
#[utoipa::path(
    get,
    path = "/events/topics",
    tag = "log",
    responses(
        (status = 200, description = "Every topic with its head, by name", body = TopicList),
    )
)]
pub fn list_topics() {}

/// Reads a topic's log
///
/// The events after offset `after`, in order. A topic that does not exist reads as empty.
#[utoipa::path(
    get,
    path = "/events/{topic}",
    tag = "log",
    params(
        ("topic" = TopicName, Path),
        ("after" = Option<AfterOffset>, Query, description = "Return events after this offset. Default: 0."),
        ("limit" = Option<ReadLimit>, Query, description = "Return at most this many events. Default: 100."),
    ),
    responses(
        (status = 200, description = "The page", body = ReadPage),
        (status = 400, description = "The topic name is invalid or reserved, a parameter is out of range, or an unknown parameter is given", body = ErrorBody),
    )
)]
pub fn read_topic() {}

/// Publishes events to a topic
///
/// Appends one CloudEvent or an array of them, in one transaction: all or none. An event whose
/// id the topic already holds is not appended again and keeps its offset. The topic is created by
/// its first publish. Subscribers get the events pushed after the answer. An event without a
/// `requestid` attribute gets the request's `x-request-id` header (1 to 128 of `A-Za-z0-9._:-`)
/// as `requestid`; a push carries the event's `requestid` as its `x-request-id`.
#[utoipa::path(
    post,
    path = "/events/{topic}",
    tag = "log",
    params(("topic" = TopicName, Path)),
    request_body(
        description = "A JSON body; any JSON content type (`application/json`, `*+json`) or none",
        content(
            (PublishBody = "application/cloudevents+json"),
            (PublishBody = "application/cloudevents-batch+json"),
            (PublishBody = "application/json"),
        )
    ),
    responses(
        (status = 201, description = "Appended (or already there)", body = Published),
        (status = 400, description = "The topic name is invalid or reserved, the body is empty or not JSON, or an event is invalid (named with its index); nothing was appended", body = ErrorBody),
        (status = 413, description = "More than 500 events, or a body over 8 MiB", body = ErrorBody),
        (status = 415, description = "The content type is not JSON", body = ErrorBody),
    )
)]
pub fn publish() {}

/// Delivers every event due
///
/// Pushes every cursor's due events (first attempts and retries whose backoff has passed) for up
/// to 20 seconds. Call it from a scheduler.
#[utoipa::path(
    post,
    path = "/events/dispatch",
    tag = "subscriptions",
    responses(
        (status = 200, description = "What was done", body = DispatchReport),
    )
)]
pub fn dispatch() {}

/// Lists the subscriptions
#[utoipa::path(
    get,
    path = "/events/subscriptions",
    tag = "subscriptions",
    responses(
        (status = 200, description = "Every subscription with its state, by name", body = SubscriptionList),
    )
)]
pub fn list_subscriptions() {}

/// Shows a subscription
#[utoipa::path(
    get,
    path = "/events/subscriptions/{name}",
    tag = "subscriptions",
    params(("name" = SubscriptionName, Path)),
    responses(
        (status = 200, description = "The subscription with its cursors", body = SubscriptionView),
        (status = 400, description = "The name is invalid", body = ErrorBody),
        (status = 404, description = "No subscription has this name", body = ErrorBody),
    )
)]
pub fn get_subscription() {}

/// Creates or replaces a subscription
///
/// Every topic matching a pattern gets a cursor, existing ones from `from`. Changing the endpoint
/// starts the retries over. Due events are pushed after the answer.
#[utoipa::path(
    put,
    path = "/events/subscriptions/{name}",
    tag = "subscriptions",
    params(("name" = SubscriptionName, Path)),
    request_body(
        content = SubscriptionBody,
        description = "A JSON body; any JSON content type or none",
    ),
    responses(
        (status = 200, description = "Replaced", body = SubscriptionView),
        (status = 201, description = "Created", body = SubscriptionView),
        (status = 400, description = "The name or the body is invalid", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The content type is not JSON", body = ErrorBody),
    )
)]
pub fn put_subscription() {}

/// Deletes a subscription
///
/// With its cursors and dead letters. A subscription of `bootstrap_subscriptions` stays deleted.
#[utoipa::path(
    delete,
    path = "/events/subscriptions/{name}",
    tag = "subscriptions",
    params(("name" = SubscriptionName, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The name is invalid", body = ErrorBody),
        (status = 404, description = "No subscription has this name", body = ErrorBody),
    )
)]
pub fn delete_subscription() {}

/// Lists a subscription's dead letters
#[utoipa::path(
    get,
    path = "/events/subscriptions/{name}/dead-letters",
    tag = "subscriptions",
    params(
        ("name" = SubscriptionName, Path),
        ("limit" = Option<ReadLimit>, Query, description = "Return at most this many. Default: 100."),
    ),
    responses(
        (status = 200, description = "The count and the first dead letters, by topic and offset", body = DeadLetterPage),
        (status = 400, description = "The name is invalid, `limit` is out of range, or an unknown parameter is given", body = ErrorBody),
        (status = 404, description = "No subscription has this name", body = ErrorBody),
    )
)]
pub fn list_dead_letters() {}

/// Replays a subscription's dead letters
///
/// Delivers them again in order, for up to 20 seconds; a topic's replay stops at its first
/// failure. Delivered ones are removed.
#[utoipa::path(
    post,
    path = "/events/subscriptions/{name}/dead-letters/replay",
    tag = "subscriptions",
    params(("name" = SubscriptionName, Path)),
    responses(
        (status = 200, description = "What was replayed and what is left", body = ReplayReport),
        (status = 400, description = "The name is invalid", body = ErrorBody),
        (status = 404, description = "No subscription has this name", body = ErrorBody),
    )
)]
pub fn replay_dead_letters() {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use super::*;
    use service_kit::contract::{operations, property_names};

    use crate::domain::{
        check_endpoint, check_subscription_name, check_topic, parse_publish, Pattern,
        SubscriptionSpec, DEFAULT_READ_LIMIT, MAX_ATTEMPTS, MAX_ATTRIBUTE_LEN, MAX_BATCH,
        MAX_PATTERNS, MAX_READ_LIMIT, RESERVED,
    };
    use crate::route::{self, Resource};

    fn doc() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    #[test]
    fn the_embedded_document_is_the_generated_one() {
        service_kit::assert_embedded_document!(DOCUMENT, &ApiDoc::openapi());
    }

    fn regex(pattern: &str) -> regex::Regex {
        regex::Regex::new(pattern).unwrap()
    }

    /// The documented path of each resource: the match breaks the build when one is added.
    fn documented_path(resource: &Resource) -> &'static str {
        match resource {
            Resource::Topics => "/events/topics",
            Resource::Dispatch => "/events/dispatch",
            Resource::Subscriptions => "/events/subscriptions",
            Resource::Subscription(_) => "/events/subscriptions/{name}",
            Resource::DeadLetters(_) => "/events/subscriptions/{name}/dead-letters",
            Resource::Replay(_) => "/events/subscriptions/{name}/dead-letters/replay",
            Resource::Topic(_) => "/events/{topic}",
            Resource::Health => "/events/health",
            Resource::OpenApi => "/events/openapi.json",
        }
    }

    /// Random strings over `alphabet` (xorshift: the same every run).
    fn strings(alphabet: &[&str], max_len: usize, count: usize) -> Vec<String> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = (next() % (max_len as u64 + 1)) as usize;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    const NAME_CHARS: &[&str] = &[
        "a", "z", "m", "0", "9", ".", "-", "_", "A", "*", "/", " ", "é",
    ];

    #[test]
    fn the_document_passes_the_shared_checks() {
        service_kit::assert_document!(&doc());
    }

    #[test]
    fn every_route_is_documented_with_exactly_the_methods_it_answers() {
        let concrete = [
            "/events/topics",
            "/events/dispatch",
            "/events/subscriptions",
            "/events/subscriptions/a",
            "/events/subscriptions/a/dead-letters",
            "/events/subscriptions/a/dead-letters/replay",
            "/events/orders",
            "/events/health",
            "/events/openapi.json",
        ];
        let mut served = BTreeSet::new();
        for path in concrete {
            let resource = route::resource(path).unwrap();
            for method in resource.allow().split(", ") {
                served.insert((documented_path(&resource).to_owned(), method.to_owned()));
            }
        }
        assert_eq!(operations(&doc()), served);
    }

    #[test]
    fn the_topic_pattern_accepts_exactly_the_topic_names_but_reserved_ones() {
        let pattern = regex(&topic_pattern());
        let mut samples = strings(NAME_CHARS, 70, 20_000);
        samples.extend(["a".repeat(64), "a".repeat(65), "0".into(), "a.".into()]);
        for text in samples {
            if RESERVED.contains(&text.as_str()) {
                continue;
            }
            assert_eq!(
                pattern.is_match(&text),
                check_topic(&text).is_ok(),
                "{text:?}"
            );
        }
        for name in RESERVED {
            assert!(check_topic(name).is_err(), "{name}");
        }
    }

    #[test]
    fn the_subscription_name_pattern_accepts_exactly_the_names() {
        let pattern = regex(&subscription_name_pattern());
        let mut samples = strings(NAME_CHARS, 70, 20_000);
        samples.extend(["a".repeat(64), "a".repeat(65), "a-1".into()]);
        for text in samples {
            assert_eq!(
                pattern.is_match(&text),
                check_subscription_name(&text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_topic_pattern_pattern_accepts_exactly_the_patterns_but_reserved_names() {
        let pattern = regex(&topic_pattern_pattern());
        let mut samples = strings(NAME_CHARS, 70, 20_000);
        samples.extend(["*", "a.*", "topics.*", ".*", "a.*.*", "*.a", "a*"].map(String::from));
        samples.push(format!("{}.*", "a".repeat(64)));
        samples.push(format!("{}.*", "a".repeat(65)));
        for text in samples {
            if RESERVED.contains(&text.as_str()) {
                continue;
            }
            assert_eq!(
                pattern.is_match(&text),
                Pattern::parse(&text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_endpoint_pattern_accepts_exactly_the_endpoints() {
        let pattern = regex(&endpoint_pattern());
        let tails = strings(
            &[
                "a", "b", "1", "0", "9", "6", "5", ".", "-", ":", "/", "?", "#", "@", "[", "]",
                "+", " ", "é", "%", "\"", "~",
            ],
            12,
            40_000,
        );
        let mut samples = Vec::new();
        for (i, tail) in tails.into_iter().enumerate() {
            let scheme = ["http://", "https://", "ftp://", "http:/", ""][i % 5];
            samples.push(format!("{scheme}{tail}"));
        }
        samples.extend(
            [
                "http://a",
                "http://a:65535/x",
                "http://a:65536",
                "http://a:+80",
                "http://a:0080",
                "http://a:",
                "http://:80",
                "http://::80",
                "http://[::1]:8080/p?q=1",
                "http://[::1]",
                "http://u@a",
                "http://a/@b",
                "http://a/#f",
                "https://insights.spin.internal/insights/events",
            ]
            .map(String::from),
        );
        for text in samples {
            assert_eq!(
                pattern.is_match(&text),
                check_endpoint(&text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_subscription_body_is_the_one_the_parser_reads() {
        let doc = doc();
        let body = &doc["components"]["schemas"]["SubscriptionBody"];
        assert_eq!(body["additionalProperties"], false);
        let fields = property_names(body);
        assert_eq!(
            fields,
            BTreeSet::from(["topics", "endpoint", "max_attempts", "from"])
        );
        assert_eq!(body["required"], json!(["topics", "endpoint"]));
        assert_eq!(body["properties"]["topics"]["maxItems"], MAX_PATTERNS);
        assert_eq!(body["properties"]["max_attempts"]["maximum"], MAX_ATTEMPTS);
        let minimal = json!({"topics": ["*"], "endpoint": "http://a"});
        assert!(SubscriptionSpec::from_json(minimal).is_ok());
        let nulls =
            json!({"topics": ["a"], "endpoint": "http://a", "max_attempts": null, "from": null});
        assert!(SubscriptionSpec::from_json(nulls).is_ok());
        let full =
            json!({"topics": ["a"], "endpoint": "http://a", "max_attempts": 100, "from": "latest"});
        assert!(SubscriptionSpec::from_json(full).is_ok());
    }

    #[test]
    fn the_cloudevent_schema_is_the_envelope_the_log_accepts() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let event = &schemas["CloudEvent"];
        assert_eq!(
            event["required"],
            json!(["specversion", "id", "source", "type"])
        );
        assert_eq!(schemas["CloudEventBatch"]["maxItems"], MAX_BATCH);
        let names = regex(event["propertyNames"]["pattern"].as_str().unwrap());
        for name in event["properties"].as_object().unwrap().keys() {
            assert!(names.is_match(name), "{name}");
        }
        let full = json!({
            "specversion": "1.0", "id": "a", "source": "/s", "type": "t",
            "time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json",
            "subject": "x", "data": null, "requestid": "r-1",
        });
        assert!(parse_publish(full.to_string().as_bytes(), None).is_ok());
        let nulls = json!({
            "specversion": "1.0", "id": "a", "source": "/s", "type": "t",
            "time": null, "datacontenttype": null, "subject": null,
        });
        assert!(parse_publish(nulls.to_string().as_bytes(), None).is_ok());
        for required in ["specversion", "id", "source", "type"] {
            let mut missing = full.clone();
            missing.as_object_mut().unwrap().remove(required);
            assert!(
                parse_publish(missing.to_string().as_bytes(), None).is_err(),
                "{required}"
            );
        }
        let mut badly_named = full.clone();
        badly_named["data_base64"] = json!("x");
        assert!(!names.is_match("data_base64"));
        assert!(parse_publish(badly_named.to_string().as_bytes(), None).is_err());
        let mut long = full.clone();
        long["id"] = json!("x".repeat(MAX_ATTRIBUTE_LEN + 1));
        assert!(parse_publish(long.to_string().as_bytes(), None).is_err());
    }

    #[test]
    fn query_limits_come_from_the_domain() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["ReadLimit"]["maximum"], MAX_READ_LIMIT);
        assert_eq!(schemas["ReadLimit"]["default"], DEFAULT_READ_LIMIT);
        assert_eq!(schemas["AfterOffset"]["maximum"], i64::MAX);
    }
}
