//! The bodies on the wire: what clients send (documented here, read by `domain` and `bulk`) and
//! what the service answers besides its rows (`domain::VisitRow`). Each derives its schema.

use serde::Serialize;
use utoipa::ToSchema;

use crate::contract::{added_count, bulk_event_id, loaded_count};
use crate::domain::{EventDay, EventId};

/// The answer to a bulk load.
#[derive(Debug, Serialize, ToSchema)]
pub struct Loaded {
    /// How many rows were set.
    pub loaded: usize,
}

/// What `POST /visits/{event_id}` adds: either field or both (defaults: today, 1 visit).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Describes the body; the parser reads it as JSON.
pub struct AddVisits {
    /// The day to add visits to. Default: today (UTC).
    #[serde(rename = "EventDay")]
    #[schema(required = false)]
    event_day: EventDay,
    #[serde(rename = "EventCount")]
    #[schema(required = false, schema_with = added_count)]
    event_count: i64,
}

/// One row of a JSON bulk load: the count of one event on one day.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Describes the body; the parser reads it as JSON.
pub struct BulkRow {
    #[serde(rename = "EventId")]
    #[schema(schema_with = bulk_event_id)]
    event_id: EventId,
    #[serde(rename = "EventDay")]
    event_day: EventDay,
    #[serde(rename = "EventCount")]
    #[schema(schema_with = loaded_count)]
    event_count: i64,
}
