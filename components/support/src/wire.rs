//! Bodies on the wire that belong to no one domain type (the domain modules show their own
//! entities: `CustomerView`, `TicketView`, ...).

use serde::Serialize;
use utoipa::ToSchema;

use crate::ticket::TicketSummary;

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
