//! The schemas written by hand: the request bodies and the names, patterns and the CloudEvent
//! envelope, whose limits and patterns come from `domain`'s constants and checks.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::{KnownFormat, Ref, RefOr};
use utoipa::{Number, PartialSchema, ToSchema};

use crate::domain::{
    DEFAULT_READ_LIMIT, MAX_ATTEMPTS, MAX_ATTRIBUTE_LEN, MAX_BATCH, MAX_ENDPOINT_LEN, MAX_NAME_LEN,
    MAX_PATTERNS, MAX_READ_LIMIT, RESERVED,
};

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
