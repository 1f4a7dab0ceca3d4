//! The `insights` service: the read side (CQRS). It keeps query views built from the `support.*`
//! and `telemetry.*` events, which the `events` service pushes to it.
//!
//! - `POST /insights/events`: one CloudEvent (structured mode); applied once per event id.
//! - `GET /insights/support/customers/{id}`, `GET /insights/support/summary`,
//!   `GET /insights/telemetry/alerts`: the views.
//! - `POST /insights/rebuild`: drop the views and replay the logs from offset 0.
//! - `GET /insights/health`, `GET /insights/openapi.json` (the contract, generated: see `contract`).
//!
//! This file is the Spin layer only: the event reading is in `event`, the rules in `projection`,
//! the SQL in `store`, the log reading in `replay` and `rebuild`.

pub mod contract;
pub mod event;
pub mod projection;
pub mod rebuild;
pub mod replay;
pub mod route;
pub mod store;

use service_kit::api::{json_response, respond, ApiError, ApiResult};
use service_kit::request::{header, media_type, path_and_query, read_body, Query};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

use crate::event::{CloudEventInput, Decoded, EventReceipt, Receipt};
use crate::projection::{AlertView, CustomerView, Summary};
use crate::rebuild::RebuildReport;
use crate::route::Resource;
use crate::store::Outcome;
use service_kit::contract::ErrorBody;

pub const SERVICE: &str = "insights";
/// Largest event body taken.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most alerts one `GET /insights/telemetry/alerts` answers.
const MAX_ALERTS: i64 = 1000;

#[http_component]
async fn handle_insights(request: IncomingRequest) -> Response {
    service_kit::trace::begin(&request);
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
        (Resource::Health, Method::Get) => Ok(contract::health()),
        (Resource::OpenApi, Method::Get) => Ok(contract::openapi()),
        (_, method) => Err(ApiError::method_not_allowed(
            &method.to_string(),
            resource.allowed_methods(),
        )),
    }
}

/// A pushed event: applied (once), a duplicate, or ignored (a type the views do not use, which
/// must still be acknowledged so it never dead-letters). Anything unusable is 400, so the event
/// log retries it and finally dead-letters it.
#[utoipa::path(
    post,
    path = "/insights/events",
    tag = "events",
    summary = "Receive one pushed event",
    description = "The push-subscription endpoint the event log delivers to. Each event id is \
        applied once; a snapshot changes a view only if it is newer than the one held.",
    request_body(content(
        (CloudEventInput = "application/cloudevents+json"),
        (CloudEventInput = "application/json"),
    )),
    responses(
        (status = 200, description = "Applied, a duplicate, or ignored.", body = EventReceipt),
        (status = 400, description = "Not one valid CloudEvent, or a known type whose data the views cannot use.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Neither `application/cloudevents+json` nor `application/json`.", body = ErrorBody),
    )
)]
async fn receive_event(request: IncomingRequest) -> ApiResult<Response> {
    check_content_type(header(&request, "content-type").as_deref())?;
    let body = read_body(request, MAX_BODY_BYTES).await?;
    let event = event::parse_cloud_event(&body).map_err(ApiError::bad_request)?;
    let status = match event::decode(&event).map_err(ApiError::bad_request)? {
        Decoded::Ignored => Receipt::Ignored,
        Decoded::Apply(change) => match store::record(&store::open()?, &event.id, &change)? {
            Outcome::Applied => Receipt::Applied,
            Outcome::Duplicate => Receipt::Duplicate,
        },
    };
    Ok(json_response(
        200,
        &EventReceipt {
            status,
            id: event.id,
        },
    ))
}

/// Structured mode only: one event as `application/cloudevents+json` (or plain JSON).
fn check_content_type(content_type: Option<&str>) -> ApiResult<()> {
    let Some(content_type) = content_type else {
        return Ok(());
    };
    let essence = media_type(content_type);
    if essence == service_kit::cloudevent::CONTENT_TYPE || essence == "application/json" {
        return Ok(());
    }
    Err(ApiError::unsupported_media_type(format!(
        "unsupported content-type {content_type:?}: send one CloudEvent as \
         application/cloudevents+json (structured mode) or application/json"
    )))
}

#[utoipa::path(
    post,
    path = "/insights/rebuild",
    tag = "views",
    summary = "Rebuild every view from the event logs",
    description = "Reads every `support.*` and `telemetry.*` topic from offset 0, replaces the views \
        and the processed set in one transaction, then catches up with what was appended meanwhile.",
    responses(
        (status = 200, description = "Rebuilt.", body = RebuildReport),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 502, description = "The event log could not be read; the message says whether the views changed.", body = ErrorBody),
        (status = 507, description = "The logs hold more events than one rebuild replays; the views are unchanged.", body = ErrorBody),
    )
)]
async fn rebuild(query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let events_url = service_kit::outbox::events_url();
    let report = rebuild::rebuild(&store::open()?, &events_url).await?;
    Ok(json_response(200, &report))
}

#[utoipa::path(
    get,
    path = "/insights/support/customers/{id}",
    tag = "views",
    summary = "What the support events tell about one customer",
    params(
        ("id" = String, Path, description = "The customer id.",
            pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64),
    ),
    responses(
        (status = 200, description = "The customer's view.", body = CustomerView),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 404, description = "Nothing is known about this customer (or the id is not a customer id).", body = ErrorBody),
    )
)]
fn customer(id: &str, query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let view = store::customer_view(&store::open()?, id)?
        .ok_or_else(|| ApiError::not_found(format!("nothing is known about customer {id:?}")))?;
    Ok(json_response(200, &view))
}

#[utoipa::path(
    get,
    path = "/insights/support/summary",
    tag = "views",
    summary = "The support desk at a glance",
    responses(
        (status = 200, description = "The summary.", body = Summary),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
    )
)]
fn summary(query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    Ok(json_response(200, &store::summary(&store::open()?)?))
}

/// `GET /insights/telemetry/alerts`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ActiveAlerts {
    /// Newest first.
    #[schema(max_items = 1000)]
    pub alerts: Vec<AlertView>,
}

#[utoipa::path(
    get,
    path = "/insights/telemetry/alerts",
    tag = "views",
    summary = "The active temperature alerts, newest first",
    params(
        ("limit" = Option<i64>, Query, description = "At most this many (default 1000).",
            minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The active alerts.", body = ActiveAlerts),
        (status = 400, description = "A query parameter is invalid or unknown.", body = ErrorBody),
    )
)]
fn alerts(query: &str) -> ApiResult<Response> {
    let limit = Query::parse(query, &["limit"])?.integer("limit", 1, MAX_ALERTS, MAX_ALERTS)?;
    let alerts = store::active_alerts(&store::open()?, limit)?;
    Ok(json_response(200, &ActiveAlerts { alerts }))
}
