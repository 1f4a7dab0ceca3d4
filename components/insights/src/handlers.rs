//! One function per endpoint: read the request, call the domain and the store, answer; and
//! `serve`, which picks the endpoint for the path `route` names and the method.

use service_kit::api::{json_response, ApiError, ApiResult};
use service_kit::contract::sqlite_health;
use service_kit::request::{header, media_type, path_and_query, read_body, Query};
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::event::Decoded;
use crate::route::{self, Resource};
use crate::store::Outcome;
use crate::wire::{ActiveAlerts, EventReceipt, Receipt};
use crate::{contract, event, rebuild, store, SERVICE};

/// Largest event body taken.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most alerts one `GET /insights/telemetry/alerts` answers.
const MAX_ALERTS: i64 = 1000;

pub async fn serve(request: IncomingRequest) -> ApiResult<Response> {
    let (path, query) = path_and_query(&request);
    let resource = route::resource(&path)?;
    match (&resource, request.method()) {
        (Resource::Events, Method::Post) => receive_event(request).await,
        (Resource::Rebuild, Method::Post) => rebuild(&query).await,
        (Resource::Customer(id), Method::Get) => customer(id, &query),
        (Resource::Summary, Method::Get) => summary(&query),
        (Resource::Alerts, Method::Get) => alerts(&query),
        (Resource::Health, Method::Get) => Ok(sqlite_health(SERVICE, store::DATABASE_LABEL)),
        (Resource::OpenApi, Method::Get) => {
            Ok(service_kit::embedded_document::response(contract::DOCUMENT))
        }
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
    Ok(json_response(200, &ActiveAlerts { alerts }))
}
