//! The service's answers on the wire: the bodies it sends, the views `store` reads and the
//! pages and reports the handlers make of them. Each derives its schema for the contract.

use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::contract::CloudEventSchema;
use crate::domain::StartFrom;

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

/// An event of the log with its offset in the topic.
#[derive(Serialize, ToSchema)]
pub struct LoggedEvent {
    /// The event's offset: 1 for the topic's first event, one more for each next.
    #[schema(minimum = 1)]
    pub offset: i64,
    /// The event as published (structured mode).
    #[schema(value_type = CloudEventSchema)]
    pub event: Box<RawValue>,
}

/// A topic and its head.
#[derive(Serialize, ToSchema)]
pub struct TopicView {
    pub name: String,
    /// The topic's last offset (0 while it holds no event).
    #[schema(minimum = 0)]
    pub head: i64,
}

/// A subscription's progress on one topic.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct CursorView {
    pub topic: String,
    /// The last offset acknowledged (or dead-lettered).
    #[schema(minimum = 0)]
    pub delivered: i64,
    /// The topic's last offset.
    #[schema(minimum = 0)]
    pub head: i64,
    /// Events not delivered yet.
    #[schema(minimum = 0)]
    pub lag: i64,
    /// Failed attempts at the next event.
    #[schema(minimum = 0)]
    pub attempts: i64,
    /// When the next attempt is due after a failure (RFC 3339).
    #[schema(required = true, format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// The last failure's message.
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[serde(skip)]
    pub(crate) last_error_at: Option<i64>,
}

/// A subscription, its cursors and its delivery state.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct SubscriptionView {
    pub name: String,
    /// Its topic patterns.
    pub topics: Vec<String>,
    pub endpoint: String,
    pub max_attempts: i64,
    pub from: StartFrom,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// One per matching topic, by topic.
    pub cursors: Vec<CursorView>,
    /// Events not delivered yet, over every cursor.
    #[schema(minimum = 0)]
    pub lag: i64,
    /// The latest failure's message over every cursor.
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// How many dead letters it holds.
    #[schema(minimum = 0)]
    pub dead_letters: i64,
}

/// An event the subscription gave up on, with why.
#[derive(Serialize, ToSchema)]
pub struct DeadLetterView {
    pub topic: String,
    #[schema(minimum = 1)]
    pub offset: i64,
    #[schema(value_type = CloudEventSchema)]
    pub event: Box<RawValue>,
    /// The last attempt's failure.
    pub error: String,
    #[schema(minimum = 1)]
    pub attempts: i64,
    #[schema(format = DateTime)]
    pub failed_at: String,
}
