//! The `insights` service: the read side (CQRS). It keeps query views built from the `support.*`
//! and `telemetry.*` events, which the `events` service pushes to it.
//!
//! - `POST /insights/events`: one CloudEvent (structured mode); applied once per event id.
//! - `GET /insights/support/customers/{id}`, `GET /insights/support/summary`,
//!   `GET /insights/telemetry/alerts`: the views.
//! - `POST /insights/rebuild`: drop the views and replay the logs from offset 0.
//! - `GET /insights/health`, `GET /insights/openapi.json` (the contract, generated: see `contract`).
//!
//! This file is the Spin layer only: the endpoints are in `handlers`, the paths in `route`, the
//! OpenAPI document in `contract`, the event reading is in `event`, the rules in `projection`,
//! the SQL in `store`, the log reading in `replay` and `rebuild`.

pub mod contract;
pub mod event;
pub mod handlers;
pub mod projection;
pub mod rebuild;
pub mod replay;
pub mod route;
pub mod store;
pub mod wire;

use service_kit::api::respond;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

pub const SERVICE: &str = "insights";

#[http_component]
async fn handle_insights(request: IncomingRequest, out: ResponseOutparam) {
    service_kit::trace::begin(&request);
    let response = respond(SERVICE, handlers::serve(request).await);
    service_kit::reply::send(out, response, SERVICE).await;
}
