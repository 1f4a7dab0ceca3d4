//! The bodies on the wire: the pushed CloudEvent as received (read by `event`) and every answer
//! (the views, receipts and reports). Each derives its schema, so the contract shows what is sent.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::event::AlertId;
use crate::projection::AlertState;

/// `GET /insights/telemetry/alerts`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ActiveAlerts {
    /// Newest first.
    #[schema(max_items = 1000)]
    pub alerts: Vec<AlertView>,
}

/// `GET /insights/support/customers/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(description = "What the support events tell about one customer.")]
pub struct CustomerView {
    #[schema(schema_with = service_kit::ids::id_schema)]
    pub customer_id: String,
    /// Null until the customer's details were seen (only tickets so far).
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub tier: Option<String>,
    /// Tickets open or pending.
    #[schema(minimum = 0)]
    pub open: i64,
    /// Tickets resolved or closed.
    #[schema(minimum = 0)]
    pub resolved: i64,
    #[schema(minimum = 0)]
    pub total: i64,
    /// Over the finished tickets; null when there are none.
    #[schema(required = true)]
    pub mean_time_to_resolve_seconds: Option<f64>,
}

/// Open tickets per priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OpenByPriority {
    #[schema(minimum = 0)]
    pub low: i64,
    #[schema(minimum = 0)]
    pub normal: i64,
    #[schema(minimum = 0)]
    pub high: i64,
    #[schema(minimum = 0)]
    pub urgent: i64,
}

/// `GET /insights/support/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(description = "The support desk at a glance.")]
pub struct Summary {
    pub open_by_priority: OpenByPriority,
    #[schema(minimum = 0)]
    pub open_total: i64,
    #[schema(minimum = 0)]
    pub tickets_total: i64,
    /// Customers known from their details or from their tickets.
    #[schema(minimum = 0)]
    pub customers: i64,
    /// Over the finished tickets; null when there are none.
    #[schema(required = true)]
    pub mean_time_to_resolve_seconds: Option<f64>,
}

/// One alert in `GET /insights/telemetry/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(description = "A temperature alert, as telemetry's events described it.")]
pub struct AlertView {
    pub id: AlertId,
    pub sensor_id: String,
    pub state: AlertState,
    /// The rule the episode's first reading broke (as telemetry names it).
    pub reason: String,
    pub celsius: f64,
    #[schema(required = true)]
    pub threshold: Option<f64>,
    #[schema(required = true)]
    pub last_celsius: Option<f64>,
    #[schema(format = DateTime)]
    pub raised_at: String,
    #[schema(required = true, format = DateTime)]
    pub resolved_at: Option<String>,
}

/// The CloudEvents version the service reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub enum SpecVersion {
    #[serde(rename = "1.0")]
    V1,
}

/// The wire form of a pushed event, for the contract: what `parse_cloud_event` accepts (its unit
/// tests hold the two together). Other attributes are extensions: any JSON value under a name of
/// 1 to 20 lowercase letters or digits (`propertyNames`, added by the contract).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "One CloudEvent 1.0 in JSON structured mode. Events of the types the views use \
        (`support.customer.upserted`, `support.ticket.opened`, `support.ticket.updated`, \
        `telemetry.temperature.warning`, `telemetry.temperature.recovered`) must carry their \
        snapshot in `data` (`data.customer`, `data.ticket`, `data.alert`) or are refused with 400; \
        events of other types are acknowledged and ignored."
)]
pub struct CloudEventInput {
    pub specversion: SpecVersion,
    /// At most 256 characters.
    #[schema(min_length = 1, max_length = 256)]
    pub id: String,
    /// At most 256 characters.
    #[schema(min_length = 1, max_length = 256)]
    pub source: String,
    /// At most 256 characters.
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 256)]
    pub event_type: String,
    /// RFC 3339.
    #[serde(default)]
    #[schema(
        pattern = r"^[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
    )]
    pub time: Option<String>,
    #[serde(default)]
    pub datacontenttype: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// The event's payload, any JSON.
    #[serde(default)]
    #[schema(value_type = Value)]
    pub data: Option<Value>,
}

/// What became of a pushed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Receipt {
    /// The views changed.
    Applied,
    /// This event id was applied before; nothing changed.
    Duplicate,
    /// A type the views do not use.
    Ignored,
}

/// `POST /insights/events`' answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct EventReceipt {
    pub status: Receipt,
    /// The event's id.
    pub id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(description = "What a rebuild did.")]
pub struct RebuildReport {
    /// Events read from the logs (both passes), whatever their type.
    #[schema(minimum = 0)]
    pub replayed: usize,
    /// Events that changed the views (not ignored types, not duplicates, not skipped).
    #[schema(minimum = 0)]
    pub applied: usize,
    /// Events of a known type with unusable data, left out (see the log).
    #[schema(minimum = 0)]
    pub skipped: usize,
    /// The `support.*` and `telemetry.*` topics read, sorted.
    pub topics: Vec<String>,
}
