//! Bodies on the wire that belong to no one domain type (the domain modules show their own
//! entities: `ConversationView`, `MessageView`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::conversation::ConversationView;
use crate::message::MessageView;

/// One page of `GET /chat/conversations`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationPage {
    /// Most recently active first.
    #[schema(max_items = 100)]
    pub conversations: Vec<ConversationView>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true, pattern = "^c[0-7][0-9a-f]{15}$")]
    pub next_cursor: Option<String>,
}

/// One page of `GET /chat/conversations/{id}/messages`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// In `seq` order.
    #[schema(max_items = 200)]
    pub messages: Vec<MessageView>,
    /// Pass as `after` for the next page; null when this page reaches the last message.
    #[schema(required = true, minimum = 1)]
    pub next_after: Option<i64>,
}
