//! The service's answers on the wire: the bodies it sends, besides the views of `store` (which
//! are sent as they are read). Each derives its schema for the contract.

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{DeadLetterView, LoggedEvent, SubscriptionView, TopicView};

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
