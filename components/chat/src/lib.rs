//! The `chat` service: conversations between 2 to 50 members and their messages, numbered per
//! conversation without gaps, in the service's own SQLite database, publishing `chat.message.sent`
//! through a transactional outbox.
//!
//! - `POST /chat/conversations`, `GET /chat/conversations?member=&limit=&cursor=`
//! - `GET /chat/conversations/{id}`
//! - `POST|GET /chat/conversations/{id}/messages` (`Idempotency-Key`; `after=&limit=`)
//! - `GET /chat/outbox`, `POST /chat/outbox/flush`
//! - `GET /chat/health`, `GET /chat/openapi.json` (the contract, generated: see `contract`)
//!
//! This file is the Spin layer only: it hands the request to `handlers`, which pick the endpoint for
//! the path `route` names. The rules are in `conversation`, `message` and `listing` (keys by service-kit's `idempotency`),
//! the SQL in `store`, the events in `events` (forwarded by service-kit's `outbox::forwarder`), the
//! error mapping in `error`.

pub mod contract;
pub mod conversation;
pub mod error;
pub mod events;
pub mod handlers;
pub mod listing;
pub mod message;
pub mod route;
pub mod store;
pub mod wire;

use service_kit::api::respond;
use service_kit::request::path_and_query;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

use crate::handlers::SERVICE;

#[http_component]
async fn handle_chat(request: IncomingRequest, out: ResponseOutparam) {
    service_kit::trace::begin(&request);
    let (path, query) = path_and_query(&request);
    let response = respond(SERVICE, handlers::serve(&path, &query, request).await);
    // The outbox forward a write left waits until the client has its answer.
    service_kit::reply::send_then_forward(out, response, SERVICE).await;
}
