//! The `feed` service: users follow users, post short texts and read a timeline of their own and
//! followed users' posts, in the service's own SQLite database, publishing `feed.post.created`
//! through a transactional outbox.
//!
//! - `PUT|DELETE /feed/users/{id}/following/{other}`
//! - `POST|GET /feed/users/{id}/posts` (`Idempotency-Key`; `limit=&cursor=`),
//!   `GET /feed/users/{id}/posts/{post}`
//! - `GET /feed/users/{id}/timeline?limit=&cursor=`, `GET /feed/users/{id}` (counts)
//! - `GET /feed/outbox`, `POST /feed/outbox/flush`
//! - `GET /feed/health`, `GET /feed/openapi.json` (the contract, generated: see `contract`)
//!
//! This file is the Spin layer only: it hands the request to `handlers`, which pick the endpoint for
//! the path `route` names. The rules are in `user`, `post` and `listing` (keys by service-kit's `idempotency`), the SQL in
//! `store`, the events in `events` (forwarded by service-kit's `outbox::forwarder`), the error
//! mapping in `error`.

pub mod contract;
pub mod error;
pub mod events;
pub mod handlers;
pub mod listing;
pub mod post;
pub mod route;
pub mod store;
pub mod user;
pub mod wire;

use service_kit::api::respond;
use service_kit::request::path_and_query;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

use crate::handlers::SERVICE;

#[http_component]
async fn handle_feed(request: IncomingRequest, out: ResponseOutparam) {
    service_kit::trace::begin(&request);
    let (path, query) = path_and_query(&request);
    let response = respond(SERVICE, handlers::serve(&path, &query, request).await);
    // The outbox forward a write left waits until the client has its answer.
    service_kit::reply::send_then_forward(out, response, SERVICE).await;
}
