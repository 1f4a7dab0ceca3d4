//! The `telemetry` service: temperature readings from IoT sensors, per-sensor rules, and alerts
//! published as `telemetry.temperature.warning` / `.recovered` events (topic `telemetry.alerts`).
//!
//! - `POST /telemetry/readings`: one reading or an array of up to 1000, all or nothing -> 202
//! - `GET|PUT /telemetry/sensors/{id}/rules`, `GET /telemetry/sensors/{id}`,
//!   `GET /telemetry/sensors/{id}/readings?since=&limit=`, `GET /telemetry/alerts?state=&sensor=&limit=`
//! - `POST /telemetry/outbox/flush`, `GET /telemetry/outbox`
//! - `GET /telemetry/health`, `GET /telemetry/openapi.json` (the contract, generated: see `contract`)
//!
//! Readings, sensors, rules, alerts and the outbox live in SQLite (label `telemetry`), the durable
//! truth; a sensor's hot state (open alert, rules) in key-value (label `telemetry`), a versioned
//! cache rebuilt from SQLite when missing or stale (see `hot`). This file is the Spin layer only (the endpoints are in `handlers`, the
//! paths in `route`, the OpenAPI document in `contract`):
//! judging readings is in `engine`, validation in `reading` and `rules`, orchestration in
//! `ingest` and `sensors`, SQL in `store`. The API is described in the crate's README.md.

pub mod contract;
pub mod engine;
pub mod handlers;
pub mod hot;
pub mod ingest;
pub mod reading;
pub mod route;
pub mod rules;
pub mod sensors;
pub mod store;
pub mod wire;

use service_kit::api::respond;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

pub const SERVICE: &str = "telemetry";

/// The outparam form, so that the response is sent by `service_kit::reply` rather than
/// spin-sdk's conversion (whose `anyhow` errors cost the component about 40 KB).
#[http_component]
async fn handle_telemetry(request: IncomingRequest, out: ResponseOutparam) {
    service_kit::trace::begin(&request);
    let response = respond(SERVICE, handlers::serve(request).await);
    // The outbox forward a write left waits until the client has its answer.
    service_kit::reply::send_then_forward(out, response, SERVICE).await;
}
