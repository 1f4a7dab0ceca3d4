//! The bodies on the wire: what clients send (documented here, read by the domain's parsers) and
//! what the service answers. Each derives its schema, so the contract shows what is really sent.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::Tier;
use crate::ticket::{Priority, Status};

/// One page of `GET /support/tickets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    /// Newest first.
    #[schema(max_items = 100)]
    pub tickets: Vec<TicketSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// What a `PUT /support/customers/{id}` body holds, as received (unknown fields refused). The
/// schema attributes are the contract's statement of `parse_details`' rules (tested against it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "A customer's support details, as written by PUT (unknown fields are refused)."
)]
pub struct CustomerBody {
    /// 1 to 200 characters, not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// A mailbox `local@domain`: the local part of printable ASCII without specials (dots only
    /// between characters, at most 64), the domain at least two DNS labels, the last one with a
    /// letter; at most 254 characters. The domain is stored in lower case.
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}){0,3}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,4}[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )]
    pub email: String,
    #[schema(value_type = Tier)]
    pub tier: String,
    /// E.164: `+` and 7 to 15 digits; `null` or absent for none.
    #[serde(default)]
    #[schema(pattern = r"^\+[0-9]{7,15}$")]
    pub phone: Option<String>,
}

/// A customer's support details.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CustomerView {
    #[schema(schema_with = service_kit::ids::id_schema)]
    pub id: String,
    pub name: String,
    pub email: String,
    pub tier: Tier,
    #[schema(required = true)]
    pub phone: Option<String>,
    /// Grows by one with every change; the ETag is this version.
    #[schema(minimum = 1)]
    pub version: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `GET /support/customers/{id}`: the details plus a glance at the customer's tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDetailView {
    #[serde(flatten)]
    pub customer: CustomerView,
    /// Tickets still needing attention (open or pending).
    #[schema(minimum = 0)]
    pub open_tickets: i64,
    /// The customer's newest tickets, newest first.
    #[schema(max_items = 5)]
    pub recent_tickets: Vec<TicketSummary>,
}

/// A `POST /support/customers/{id}/tickets` body, as received (unknown fields refused). The
/// schema attributes are the contract's statement of `parse_new_ticket`'s rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "A new ticket (unknown fields are refused).")]
pub struct NewTicketBody {
    /// 1 to 200 characters, not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub subject: String,
    /// At most 10,000 characters; empty when absent.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub description: String,
    /// `normal` when absent or null.
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
}

/// A ticket without its description: in lists, on customers, and in events.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TicketSummary {
    #[schema(minimum = 1)]
    pub id: i64,
    #[schema(schema_with = service_kit::ids::id_schema)]
    pub customer_id: String,
    pub subject: String,
    pub priority: Priority,
    pub status: Status,
    /// Grows by one with every change; the ETag is this version.
    #[schema(minimum = 1)]
    pub version: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// When the ticket was last resolved; null while it is open or pending.
    #[schema(required = true, format = DateTime)]
    pub resolved_at: Option<String>,
}

/// A ticket with its description.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub summary: TicketSummary,
    pub description: String,
}

/// The wire form of a `PATCH /support/tickets/{id}` body, for the contract: what `parse_patch`
/// accepts (its unit tests hold the two together). A field may be absent, never null.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "A JSON merge patch of a ticket: absent fields stay as they are; a field may not be \
                   null; unknown fields are refused."
)]
pub struct TicketPatchBody {
    /// The new status; the change must be one the ticket's current status allows.
    #[schema(nullable = false)]
    pub status: Option<Status>,
    #[schema(nullable = false)]
    pub priority: Option<Priority>,
}
