//! The `visits` service: visit counts per event and day, in its own SQLite database.
//!
//! - `GET /visits/{event_id}[?startDate=YYYYMMDD][&endDate=YYYYMMDD]`: the event's rows, by day.
//! - `POST /visits/{event_id}` with an optional `{"EventDay", "EventCount"}`: adds visits, returns the row.
//! - `PUT /visits` with a JSON array or `text/csv`: sets the given days' counts, all or nothing.
//! - `GET /visits/health`: checks the database; `GET /visits/openapi.json`: the contract (`contract`).
//!
//! This file is the Spin layer only: it hands the request to `handlers`, which pick the endpoint for the
//! path `route` names. The rules live in `domain` and `bulk`, the SQL in `store`, the error mapping in
//! `error` (to service-kit's `ApiError`), the OpenAPI document in `contract`.

pub mod bulk;
pub mod contract;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod route;
pub mod store;
pub mod wire;

use service_kit::api::respond;
use service_kit::request::path_and_query;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

use crate::contract::SERVICE;

#[http_component]
async fn handle_visits(request: IncomingRequest, out: ResponseOutparam) {
    // The request's own path, not `spin-path-info`: the same under a route and under service chaining.
    let (path, query) = path_and_query(&request);
    let response = respond(SERVICE, handlers::serve(&path, &query, request).await);
    service_kit::reply::send(out, response, SERVICE).await;
}
