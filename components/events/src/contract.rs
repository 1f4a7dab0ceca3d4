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
//! every operation on the database is added by `StorageErrors`. `lib.rs` serves them.

use std::borrow::Cow;

use serde::Serialize;
use service_kit::contract::{ErrorBody, Health, ServiceEndpoints, StorageErrors};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::{KnownFormat, Ref, RefOr};
use utoipa::{Number, OpenApi, PartialSchema, ToSchema};

use crate::domain::{
    DEFAULT_READ_LIMIT, MAX_ATTEMPTS, MAX_ATTRIBUTE_LEN, MAX_BATCH, MAX_ENDPOINT_LEN, MAX_NAME_LEN,
    MAX_PATTERNS, MAX_READ_LIMIT, RESERVED,
};
use crate::store::{DeadLetterView, LoggedEvent, SubscriptionView, TopicView};

/// Every operation but these two uses the database, so can answer `500 storage error`.
const STORAGE_ERRORS: StorageErrors = StorageErrors(&["health", "openapi"]);
/// `GET /events/health` and `GET /events/openapi.json`, as every service has them.
const SERVICE_ENDPOINTS: ServiceEndpoints = ServiceEndpoints {
    checks: "its SQLite database answers `SELECT 1`",
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
    modifiers(&STORAGE_ERRORS, &SERVICE_ENDPOINTS),
    tags(
        (name = "log", description = "Topics: append and read CloudEvents"),
        (name = "subscriptions", description = "Push subscriptions, their delivery and dead letters"),
        (name = "service", description = "Health and contract"),
    ),
)]
pub struct ApiDoc;

// ---------------------------------------------------------------------------------------------
// The answers

/// The answer of `GET /events/topics`.
#[derive(Serialize, ToSchema)]
pub struct TopicList {
    /// Every topic, by name.
    pub topics: Vec<TopicView>,
}

/// The answer of a publish.
#[derive(Serialize, ToSchema)]
pub struct Published {
    pub topic: String,
    /// Each event's offset, in the order given; an id the topic already holds keeps its offset.
    pub offsets: Vec<i64>,
}

/// A page of a topic's log.
#[derive(Serialize, ToSchema)]
pub struct ReadPage {
    pub topic: String,
    /// The topic's last offset (0 for a topic that holds no event or does not exist).
    #[schema(minimum = 0)]
    pub head: i64,
    /// The events after `after`, in order, at most `limit`.
    pub events: Vec<LoggedEvent>,
}

/// What a dispatch did.
#[derive(Serialize, ToSchema)]
pub struct DispatchReport {
    /// Events acknowledged by their subscriber.
    #[schema(minimum = 0)]
    pub delivered: i64,
    /// Failed attempts that will be retried after their backoff.
    #[schema(minimum = 0)]
    pub retrying: i64,
    /// Events moved to dead letters.
    #[schema(minimum = 0)]
    pub dead_lettered: i64,
    /// Events not delivered yet, over every cursor.
    #[schema(minimum = 0)]
    pub pending: i64,
}

/// The answer of `GET /events/subscriptions`.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    /// Every subscription, by name.
    pub subscriptions: Vec<SubscriptionView>,
}

/// A page of a subscription's dead letters.
#[derive(Serialize, ToSchema)]
pub struct DeadLetterPage {
    pub subscription: String,
    /// How many dead letters the subscription holds.
    #[schema(minimum = 0)]
    pub total: i64,
    /// At most `limit` of them, by topic and offset.
    pub dead_letters: Vec<DeadLetterView>,
}

/// What a replay did.
#[derive(Serialize, ToSchema)]
pub struct ReplayReport {
    /// Dead letters delivered (and removed).
    #[schema(minimum = 0)]
    pub replayed: i64,
    /// Dead letters left.
    #[schema(minimum = 0)]
    pub remaining: i64,
}

// ---------------------------------------------------------------------------------------------
// The requests

/// A subscription: the topics it follows and where their events go.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Describes the body; `SubscriptionSpec::from_json` reads it.
pub struct SubscriptionBody {
    #[schema(schema_with = topic_patterns)]
    topics: Vec<String>,
    #[schema(schema_with = endpoint)]
    endpoint: String,
    #[schema(required = false, schema_with = max_attempts)]
    max_attempts: i64,
    #[schema(required = false, schema_with = start_from)]
    from: String,
}

/// A topic name in a path.
pub struct TopicName;
/// A subscription name in a path.
pub struct SubscriptionName;
/// A subscription's topic pattern.
pub struct TopicPattern;
/// One CloudEvent (structured mode).
pub struct CloudEventSchema;
/// An array of CloudEvents (batched mode).
pub struct CloudEventBatch;
/// A publish body: one CloudEvent or an array of them.
pub struct PublishBody;

/// `[a-z0-9][a-z0-9.-]{0,63}`: the topic names `check_topic` accepts (reserved names aside).
pub fn topic_pattern() -> String {
    format!("^{}$", topic_name_regex())
}

fn topic_name_regex() -> String {
    format!("[a-z0-9][a-z0-9.-]{{0,{}}}", MAX_NAME_LEN - 1)
}

/// `[a-z0-9][a-z0-9-]{0,63}`: the names `check_subscription_name` accepts.
pub fn subscription_name_pattern() -> String {
    format!("^[a-z0-9][a-z0-9-]{{0,{}}}$", MAX_NAME_LEN - 1)
}

/// `*`, a topic name, or a topic name followed by `.*`: what `Pattern::parse` accepts.
pub fn topic_pattern_pattern() -> String {
    format!("^(?:\\*|{}(?:\\.\\*)?)$", topic_name_regex())
}

/// An absolute `http(s)://host[:port][/path][?query]` URL of printable ASCII, without `#` and
/// without `@` in the host part: what `check_endpoint` accepts. The port is the text after the
/// host part's last `:`, a `u16` as Rust parses it (optional `+`, leading zeros).
pub fn endpoint_pattern() -> String {
    // Printable ASCII without `#`, `/`, `?`, `@` (host part), also without `:` (a host without port).
    let host_char = "[!\"$-.0->A-~]";
    let host_char_no_colon = "[!\"$-.0-9;->A-~]";
    let port = "\\+?0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)";
    format!("^https?://(?:{host_char_no_colon}+|{host_char}+:{port})(?:[/?][!\"$-~]*)?$")
}

fn string(pattern: String) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

fn nullable(kind: Type) -> SchemaType {
    SchemaType::from_iter([kind, Type::Null])
}

/// An integer bound, as a float (exact up to 2^53): utoipa's integers are `isize`, 32 bits in wasm.
fn number(value: i64) -> Number {
    Number::Float(value as f64)
}

fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

impl PartialSchema for TopicName {
    fn schema() -> RefOr<Schema> {
        string(topic_pattern())
            .description(Some(format!(
                "A topic: 1 to {MAX_NAME_LEN} of a-z, 0-9, '.' and '-', starting with a letter or digit; \
                 not one of the reserved names {}",
                RESERVED.join(", ")
            )))
            .examples(["support.tickets"])
            .into()
    }
}

impl ToSchema for TopicName {}

impl PartialSchema for SubscriptionName {
    fn schema() -> RefOr<Schema> {
        string(subscription_name_pattern())
            .description(Some(format!(
                "A subscription: 1 to {MAX_NAME_LEN} of a-z, 0-9 and '-', starting with a letter or digit"
            )))
            .examples(["insights"])
            .into()
    }
}

impl ToSchema for SubscriptionName {}

impl PartialSchema for TopicPattern {
    fn schema() -> RefOr<Schema> {
        string(topic_pattern_pattern())
            .description(Some(
                "A topic name (not a reserved one), `prefix.*` (every topic starting with `prefix.`) \
                 or `*` (every topic)",
            ))
            .examples(["support.*"])
            .into()
    }
}

impl ToSchema for TopicPattern {}

impl PartialSchema for CloudEventSchema {
    fn schema() -> RefOr<Schema> {
        let attribute = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_ATTRIBUTE_LEN))
                .description(Some(format!(
                    "{description} (1 to {MAX_ATTRIBUTE_LEN} characters)"
                )))
        };
        let optional_text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(nullable(Type::String))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A CloudEvent 1.0 in JSON structured mode. Any other attribute is an extension, \
                 named with 1 to 20 lowercase letters or digits.",
            ))
            .property(
                "specversion",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["1.0"])),
            )
            .required("specversion")
            .property(
                "id",
                attribute("Unique in its topic: a repeated id is not appended again"),
            )
            .required("id")
            .property("source", attribute("The context the event happened in"))
            .required("source")
            .property("type", attribute("What happened"))
            .required("type")
            .property(
                "time",
                optional_text("When it happened (RFC 3339)")
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .property("datacontenttype", optional_text("The media type of `data`"))
            .property("subject", optional_text("What the event is about"))
            .property(
                "data",
                ObjectBuilder::new()
                    .schema_type(SchemaType::AnyValue)
                    .description(Some("The event's payload, any JSON value")),
            )
            .property_names(Some(string("^[a-z0-9]{1,20}$".to_owned())))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .examples([serde_json::json!({
                "specversion": "1.0",
                "id": "e-1",
                "source": "/support",
                "type": "support.ticket.opened",
                "time": "2026-11-23T10:00:00Z",
                "data": {"ticket": 7},
            })])
            .into()
    }
}

impl ToSchema for CloudEventSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CloudEvent")
    }
}

impl PartialSchema for CloudEventBatch {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(reference::<CloudEventSchema>())
            .min_items(Some(1))
            .max_items(Some(MAX_BATCH))
            .into()
    }
}

impl ToSchema for CloudEventBatch {}

impl PartialSchema for PublishBody {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(reference::<CloudEventSchema>())
            .item(reference::<CloudEventBatch>())
            .into()
    }
}

impl ToSchema for PublishBody {}

fn topic_patterns() -> Schema {
    ArrayBuilder::new()
        .items(reference::<TopicPattern>())
        .min_items(Some(1))
        .max_items(Some(MAX_PATTERNS))
        .description(Some(
            "The topics to deliver; a pattern given twice counts once",
        ))
        .into()
}

fn endpoint() -> Schema {
    string(endpoint_pattern())
        .max_length(Some(MAX_ENDPOINT_LEN))
        .description(Some(
            "Where to POST each event (structured mode); any 2xx acknowledges it. The host must \
             be allowed by the app's `subscriber_hosts` for deliveries to succeed.",
        ))
        .examples(["http://insights.spin.internal/insights/events"])
        .into()
}

fn max_attempts() -> Schema {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Integer))
        .minimum(Some(number(1)))
        .maximum(Some(number(MAX_ATTEMPTS)))
        .description(Some(
            "Attempts per event before it goes to the dead letters. Default (absent or null): 8.",
        ))
        .into()
}

fn start_from() -> Schema {
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .enum_values(Some([
            serde_json::Value::from("earliest"),
            serde_json::Value::from("latest"),
            serde_json::Value::Null,
        ]))
        .description(Some(
            "Where to start on topics that already exist: `earliest` (the whole log, the \
             default when absent or null) or `latest` (only later events).",
        ))
        .into()
}

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

/// The `after` query parameter.
pub struct AfterOffset;
/// A `limit` query parameter.
pub struct ReadLimit;

impl PartialSchema for AfterOffset {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(number(0)))
            .maximum(Some(number(i64::MAX)))
            .into()
    }
}

impl ToSchema for AfterOffset {}

impl PartialSchema for ReadLimit {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(number(1)))
            .maximum(Some(number(MAX_READ_LIMIT)))
            .default(Some(DEFAULT_READ_LIMIT.into()))
            .into()
    }
}

impl ToSchema for ReadLimit {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use super::*;
    use service_kit::contract::{operations, property_names};

    use crate::domain::{
        check_endpoint, check_subscription_name, check_topic, parse_publish, Pattern,
        SubscriptionSpec,
    };
    use crate::route::{self, Resource};

    fn doc() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
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
