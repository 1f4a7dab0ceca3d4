//! The service's contract and health: `GET /chat/openapi.json` serves an OpenAPI 3.1 document
//! generated (by `utoipa`) from the types the handlers really read and write and from the
//! operation descriptors below (one per endpoint of `handlers`); `GET /chat/health` checks the
//! service's own store.
//!
//! What the derive cannot see is held to the code by the unit tests below: every route of
//! `route::resource` is in the document with exactly the methods it answers, and every pattern
//! agrees with the validator it describes.

use service_kit::contract::{check_sqlite, ErrorBody, Health, ServiceEndpoints, StorageErrors};
use service_kit::outbox;
use spin_sdk::http::Response;
use utoipa::OpenApi;

use crate::conversation::{ConversationView, NewConversationBody};
use crate::handlers::SERVICE;
use crate::message::{MessageView, NewMessageBody};
use crate::store::DATABASE_LABEL;
use crate::wire::{ConversationPage, MessagePage};

/// `GET /chat/health`: 200 when the service's own store answers, else 503.
pub fn health() -> Response {
    Health::from_checks(SERVICE, vec![("sqlite", check_sqlite(DATABASE_LABEL))]).into_response()
}

/// `GET /chat/openapi.json`: this document.
pub fn openapi() -> Response {
    service_kit::embedded_document::response(DOCUMENT)
}

/// The document. `info` comes from Cargo.toml (name, version, description, license).
#[derive(OpenApi)]
#[openapi(
    info(title = "chat"),
    paths(
        create_conversation,
        list_conversations,
        get_conversation,
        send_message,
        list_messages,
        outbox_status,
        flush_outbox,
    ),
    components(schemas(ErrorBody, Health)),
    modifiers(&STORAGE_ERRORS, &SERVICE_ENDPOINTS),
    tags(
        (name = "conversations", description = "Conversations between 2 to 50 members."),
        (name = "messages", description = "Messages of a conversation, numbered without gaps."),
        (name = "outbox", description = "The transactional outbox of `chat.*` events."),
        (name = "service", description = "Health and contract."),
    )
)]
pub struct ApiDoc;

/// The document as the component serves it: [`ApiDoc`] serialised by the unit tests into
/// `openapi.json` (`UPDATE_OPENAPI=1 cargo test -p chat` rewrites it), so that the component
/// links none of utoipa's document building.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `500 storage error` on every operation but these two, which never touch the store.
const STORAGE_ERRORS: StorageErrors = StorageErrors(&["health", "openapi"]);
/// `GET /chat/health` and `GET /chat/openapi.json`, as every service has them.
const SERVICE_ENDPOINTS: ServiceEndpoints = ServiceEndpoints {
    checks: "its SQLite database answers `SELECT 1`",
};

// ---------------------------------------------------------------------------------------------
// The operations: descriptors holding no code, only what each endpoint of `handlers` answers.

/// `POST /chat/conversations`: starts a conversation (201 + Location).
#[utoipa::path(
    post,
    path = "/chat/conversations",
    tag = "conversations",
    summary = "Start a conversation",
    request_body(content = NewConversationBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Started.", body = ConversationView,
            headers(("Location" = String, description = "`/chat/conversations/{id}`."))),
        (status = 400, description = "The JSON or a field is invalid; the message names it.", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
    )
)]
pub fn create_conversation() {}

/// `GET /chat/conversations?member=&limit=&cursor=`: most recently active first, one page.
#[utoipa::path(
    get,
    path = "/chat/conversations",
    tag = "conversations",
    summary = "A member's conversations, most recently active first",
    description = "Cursor pages: following `next_cursor` never shows a conversation twice, also \
        while messages arrive (a conversation that becomes active again moves to the front, \
        ahead of the cursor).",
    params(
        ("member" = String, Query, description = "Whose conversations.",
            pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32),
        ("limit" = Option<i64>, Query, description = "Page size (default 20).", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query,
            description = "Opaque: the `next_cursor` of the previous page.",
            pattern = "^c[0-7][0-9a-f]{15}$"),
    ),
    responses(
        (status = 200, description = "One page of conversations.", body = ConversationPage),
        (status = 400, description = "A parameter is missing, invalid or unknown; the message names it.", body = ErrorBody),
    )
)]
pub fn list_conversations() {}

/// `GET /chat/conversations/{id}`.
#[utoipa::path(
    get,
    path = "/chat/conversations/{id}",
    tag = "conversations",
    summary = "A conversation",
    params(("id" = i64, Path, description = "The conversation id.", minimum = 1)),
    responses(
        (status = 200, description = "The conversation.", body = ConversationView),
        (status = 404, description = "No such conversation.", body = ErrorBody),
    )
)]
pub fn get_conversation() {}

/// `POST /chat/conversations/{id}/messages`: appends a message with the next `seq` (201).
#[utoipa::path(
    post,
    path = "/chat/conversations/{id}/messages",
    tag = "messages",
    summary = "Send a message",
    description = "Appends the message with the conversation's next `seq` (1, 2, 3, ... without \
        gaps, also under concurrent sends) and publishes `chat.message.sent` on topic \
        `chat.messages`. Only members may send (422 for anyone else). With an `Idempotency-Key`, a retry of the same \
        request returns the first message (`Idempotent-Replayed: true`) and sends nothing; the \
        same key with a different request is 422.",
    params(
        ("id" = i64, Path, description = "The conversation id.", minimum = 1),
        ("Idempotency-Key" = Option<String>, Header, nullable = false,
            description = "1 to 255 printable ASCII characters, scoped to the conversation.",
            pattern = "^[!-~](?:[ -~]{0,253}[!-~])?$", min_length = 1, max_length = 255),
    ),
    request_body(content = NewMessageBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Sent (or, for a repeated Idempotency-Key, the first result).",
            body = MessageView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this replays a first result."))),
        (status = 400, description = "The JSON, a field or the Idempotency-Key is invalid.", body = ErrorBody),
        (status = 404, description = "No such conversation.", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
        (status = 422, description = "The sender is not a member of the conversation, or the \
            Idempotency-Key was used for a different request; the message says which.", body = ErrorBody),
    )
)]
pub fn send_message() {}

/// `GET /chat/conversations/{id}/messages?after=&limit=`: in `seq` order, one page.
#[utoipa::path(
    get,
    path = "/chat/conversations/{id}/messages",
    tag = "messages",
    summary = "A conversation's messages in order",
    params(
        ("id" = i64, Path, description = "The conversation id.", minimum = 1),
        ("after" = Option<i64>, Query, description = "Only messages with a larger `seq` (default 0).",
            minimum = 0, maximum = 9007199254740991.0),
        ("limit" = Option<i64>, Query, description = "Page size (default 50).", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "One page of messages.", body = MessagePage),
        (status = 400, description = "A parameter is invalid or unknown; the message names it.", body = ErrorBody),
        (status = 404, description = "No such conversation.", body = ErrorBody),
    )
)]
pub fn list_messages() {}

service_kit::outbox_operations!("/chat/outbox", "/chat/outbox/flush");

#[cfg(test)]
mod tests;
