//! The `insights` service: the read side (CQRS). It keeps query views built from the `support.*`
//! and `telemetry.*` events, which the `events` service pushes to it.
//!
//! - `POST /insights/events`: one CloudEvent (structured mode); applied once per event id.
//! - `GET /insights/support/customers/{id}`, `GET /insights/support/summary`,
//!   `GET /insights/telemetry/alerts`: the views.
//! - `POST /insights/rebuild`: drop the views and replay the logs from offset 0.
//!
//! This file is the Spin layer only: the event reading is in `event`, the rules in `projection`,
//! the SQL in `store`, the log reading in `replay` and `rebuild`.

pub mod event;
pub mod projection;
pub mod rebuild;
pub mod replay;
pub mod route;
pub mod store;

use serde_json::json;
use service_kit::api::{json_response, respond, ApiError, ApiResult};
use service_kit::request::{header, path_and_query, read_body, Query};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

use crate::event::Decoded;
use crate::route::Resource;
use crate::store::Outcome;

const SERVICE: &str = "insights";
/// Largest event body taken.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most alerts one `GET /insights/telemetry/alerts` answers.
const MAX_ALERTS: i64 = 1000;

#[http_component]
async fn handle_insights(request: IncomingRequest) -> Response {
    respond(SERVICE, serve(request).await)
}

async fn serve(request: IncomingRequest) -> ApiResult<Response> {
    let (path, query) = path_and_query(&request);
    let resource = route::resource(&path)?;
    match (&resource, request.method()) {
        (Resource::Events, Method::Post) => receive_event(request).await,
        (Resource::Rebuild, Method::Post) => rebuild(&query).await,
        (Resource::Customer(id), Method::Get) => customer(id, &query),
        (Resource::Summary, Method::Get) => summary(&query),
        (Resource::Alerts, Method::Get) => alerts(&query),
        (_, method) => Err(ApiError::method_not_allowed(
            &method.to_string(),
            resource.allowed_methods(),
        )),
    }
}

/// A pushed event: applied (once), a duplicate, or ignored (a type the views do not use, which
/// must still be acknowledged so it never dead-letters). Anything unusable is 400, so the event
/// log retries it and finally dead-letters it.
async fn receive_event(request: IncomingRequest) -> ApiResult<Response> {
    check_content_type(header(&request, "content-type").as_deref())?;
    let body = read_body(request, MAX_BODY_BYTES).await?;
    let event = event::parse_cloud_event(&body).map_err(ApiError::bad_request)?;
    let status = match event::decode(&event).map_err(ApiError::bad_request)? {
        Decoded::Ignored => "ignored",
        Decoded::Apply(change) => match store::record(&store::open()?, &event.id, &change)? {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
        },
    };
    Ok(json_response(
        200,
        &json!({ "status": status, "id": event.id }),
    ))
}

/// Structured mode only: one event as `application/cloudevents+json` (or plain JSON).
fn check_content_type(content_type: Option<&str>) -> ApiResult<()> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == service_kit::cloudevent::CONTENT_TYPE || essence == "application/json" {
        return Ok(());
    }
    Err(ApiError::unsupported_media_type(format!(
        "unsupported content-type {content_type:?}: send one CloudEvent as \
         application/cloudevents+json (structured mode) or application/json"
    )))
}

async fn rebuild(query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let events_url = service_kit::outbox::events_url();
    let report = rebuild::rebuild(&store::open()?, &events_url).await?;
    Ok(json_response(200, &report))
}

fn customer(id: &str, query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let view = store::customer_view(&store::open()?, id)?
        .ok_or_else(|| ApiError::not_found(format!("nothing is known about customer {id:?}")))?;
    Ok(json_response(200, &view))
}

fn summary(query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    Ok(json_response(200, &store::summary(&store::open()?)?))
}

fn alerts(query: &str) -> ApiResult<Response> {
    let limit = Query::parse(query, &["limit"])?.integer("limit", 1, MAX_ALERTS, MAX_ALERTS)?;
    let alerts = store::active_alerts(&store::open()?, limit)?;
    Ok(json_response(200, &json!({ "alerts": alerts })))
}
