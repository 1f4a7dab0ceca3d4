//! The `support` service: customers' support details and their tickets, in the service's own SQLite
//! database, publishing `support.*` events through a transactional outbox.
//!
//! - `PUT|GET /support/customers/{id}` (versions, ETag, `If-Match` / `If-None-Match`)
//! - `POST /support/customers/{id}/tickets` (`Idempotency-Key`)
//! - `GET|PATCH /support/tickets/{id}`, `GET /support/tickets?customer=&status=&limit=&cursor=`
//! - `GET /support/outbox`, `POST /support/outbox/flush`
//! - `GET /support/health`, `GET /support/openapi.json` (the contract, generated: see `contract`)
//!
//! This file is the Spin layer only: it reads the request and hands it to `handlers`. The rules are
//! in `customer`, `ticket`, `precondition`, `idempotency` and `listing`, the SQL in `store`, the
//! events in `events` (forwarded by service-kit's `outbox::forwarder`), the error mapping in `error`.

pub mod contract;
pub mod customer;
pub mod error;
pub mod events;
pub mod handlers;
pub mod idempotency;
pub mod listing;
pub mod precondition;
pub mod route;
pub mod store;
pub mod ticket;

use serde_json::Value;
use service_kit::api::respond;
use service_kit::request::{header, media_type, parse_json, path_and_query, read_body};
use service_kit::{ApiError, ApiResult};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

use crate::handlers::{Conditions, SERVICE};
use crate::route::Resource;

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;

#[http_component]
async fn handle_support(request: IncomingRequest) -> Response {
    service_kit::trace::begin(&request);
    let (path, query) = path_and_query(&request);
    respond(SERVICE, serve(&path, &query, request).await)
}

async fn serve(path: &str, query: &str, request: IncomingRequest) -> ApiResult<Response> {
    let resource = route::resource(path)?;
    let conditions = Conditions {
        if_match: header(&request, "if-match"),
        if_none_match: header(&request, "if-none-match"),
        idempotency_key: header(&request, idempotency::HEADER),
    };
    match (resource, request.method()) {
        (Resource::Customer(id), Method::Get) => handlers::get_customer(id),
        (Resource::Customer(id), Method::Put) => {
            let body = json_body(request, false).await?;
            handlers::put_customer(id, &conditions, body).await
        }
        (Resource::CustomerTickets(id), Method::Post) => {
            let body = json_body(request, false).await?;
            handlers::create_ticket(id, &conditions, body).await
        }
        (Resource::Tickets, Method::Get) => handlers::list_tickets(query),
        (Resource::Ticket(id), Method::Get) => handlers::get_ticket(id, &conditions),
        (Resource::Ticket(id), Method::Patch) => {
            let body = json_body(request, true).await?;
            handlers::patch_ticket(id, &conditions, body).await
        }
        (Resource::Outbox, Method::Get) => handlers::outbox_status(),
        (Resource::OutboxFlush, Method::Post) => handlers::flush_outbox().await,
        (Resource::Health, Method::Get) => Ok(contract::health()),
        (Resource::OpenApi, Method::Get) => Ok(contract::openapi()),
        (resource, method) => Err(ApiError::method_not_allowed(
            &method.to_string(),
            resource.allowed_methods(),
        )),
    }
}

/// Reads a JSON body (at most 1 MiB). A patch may also be `application/merge-patch+json`; other
/// JSON flavours (`+json`) are refused there, since only a merge patch means what we do with it.
async fn json_body(request: IncomingRequest, merge_patch: bool) -> ApiResult<Value> {
    let content_type = header(&request, "content-type");
    if merge_patch {
        if let Some(content_type) = &content_type {
            let essence = media_type(content_type);
            if essence != "application/json" && essence != "application/merge-patch+json" {
                return Err(ApiError::unsupported_media_type(format!(
                    "unsupported content-type {content_type:?}: send application/json or application/merge-patch+json"
                )));
            }
        }
    }
    let body = read_body(request, MAX_BODY_BYTES).await?;
    parse_json(content_type.as_deref(), &body)
}
