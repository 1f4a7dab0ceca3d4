//! One function per endpoint: read the request, call the domain and the store, answer; and
//! `serve`, which picks the endpoint for the path `route` names and the method.

use service_kit::api::{empty_response, json_response};
use service_kit::contract::sqlite_health;
use service_kit::request::{self, header};
use service_kit::{ApiError, ApiResult};
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::bulk::{self, BulkFormat};
use crate::contract::{self, SERVICE};
use crate::domain::{self, EventDay, EventId, MAX_BODY_BYTES};
use crate::error::VisitsError;
use crate::route::{self, Resource};
use crate::store::{self, VisitsStore};
use crate::wire::Loaded;

pub async fn serve(path: &str, query: &str, request: IncomingRequest) -> ApiResult<Response> {
    let resource = route::resource(path)?;
    match (&resource, request.method()) {
        (_, Method::Options) => Ok(options(&resource)),
        (Resource::EventVisits(event_id), Method::Get) => read_visits(event_id, query),
        (Resource::EventVisits(event_id), Method::Post) => {
            let body = read_body(request).await?;
            add_visits(event_id, &body)
        }
        (Resource::AllVisits, Method::Put) => {
            let format =
                BulkFormat::from_content_type(header(&request, "content-type").as_deref())?;
            let body = read_body(request).await?;
            load_visits(format, &body)
        }
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

fn read_visits(event_id: &EventId, query: &str) -> ApiResult<Response> {
    let range = domain::parse_day_range(query)?;
    let rows = VisitsStore::open()?.event_days(event_id, range)?;
    Ok(json_response(200, &rows))
}

fn add_visits(event_id: &EventId, body: &[u8]) -> ApiResult<Response> {
    let today = EventDay::from_date(time::OffsetDateTime::now_utc().date());
    let added = domain::parse_added_visits(body, today)?;
    let row = VisitsStore::open()?.add_to_day(event_id, added.day, added.count)?;
    let row = row.ok_or(VisitsError::DayTotalTooLarge)?;
    Ok(json_response(200, &row))
}

fn load_visits(format: BulkFormat, body: &[u8]) -> ApiResult<Response> {
    let rows = bulk::parse_bulk(body, format)?;
    VisitsStore::open()?.set_days(&rows)?;
    Ok(json_response(200, &Loaded { loaded: rows.len() }))
}

/// `OPTIONS`: the methods the resource answers (a CORS preflight never gets here: the gateway
/// answers it).
fn options(resource: &Resource) -> Response {
    let mut response = empty_response(204);
    response.set_header("allow", resource.allowed_methods());
    response
}

/// Reads the whole body, refusing more than `MAX_BODY_BYTES` with 413; a body that cannot be
/// read is an invalid body (400).
async fn read_body(request: IncomingRequest) -> ApiResult<Vec<u8>> {
    request::read_body(request, MAX_BODY_BYTES)
        .await
        .map_err(|err| match err.status {
            413 => err,
            _ => VisitsError::InvalidBody(err.message).into(),
        })
}
