//! The `support` service: customers' support details and their tickets, in the service's own SQLite
//! database, publishing `support.*` events through a transactional outbox.
//!
//! - `PUT|GET /support/customers/{id}` (versions, ETag, `If-Match` / `If-None-Match`)
//! - `POST /support/customers/{id}/tickets` (`Idempotency-Key`)
//! - `GET|PATCH /support/tickets/{id}`, `GET /support/tickets?customer=&status=&limit=&cursor=`
//! - `GET /support/outbox`, `POST /support/outbox/flush`
//! - `GET /support/health`, `GET /support/openapi.json` (the contract, generated: see `contract`)
//!
//! This file is the Spin layer only: it hands the request to `handlers`, which pick the endpoint for
//! the path `route` names. The rules are in `customer`, `ticket`, `precondition` and `listing` (keys by service-kit's `idempotency`), the SQL in `store`, the
//! events in `events` (forwarded by service-kit's `outbox::forwarder`), the error mapping in `error`.

pub mod contract;
pub mod customer;
pub mod error;
pub mod events;
pub mod handlers;
pub mod listing;
pub mod precondition;
pub mod route;
pub mod store;
pub mod ticket;
pub mod wire;

use service_kit::api::respond;
use service_kit::request::path_and_query;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

use crate::handlers::SERVICE;

#[http_component]
async fn handle_support(request: IncomingRequest, out: ResponseOutparam) {
    service_kit::trace::begin(&request);
    let (path, query) = path_and_query(&request);
    let response = respond(SERVICE, handlers::serve(&path, &query, request).await);
    // The outbox forward a write left waits until the client has its answer.
    service_kit::reply::send_then_forward(out, response, SERVICE).await;
}
