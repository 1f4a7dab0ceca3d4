//! The `visits` service: visit counts per event and day, in its own SQLite database.
//!
//! - `GET /visits/{event_id}[?startDate=YYYYMMDD][&endDate=YYYYMMDD]`: the event's rows, by day.
//! - `POST /visits/{event_id}` with an optional `{"EventDay", "EventCount"}`: adds visits, returns the row.
//! - `PUT /visits` with a JSON array or `text/csv`: sets the given days' counts, all or nothing.
//! - `GET /visits/health`: checks the database; `GET /visits/openapi.json`: the contract (`contract`).
//!
//! This file is the Spin layer only: it reads the request, calls the domain and the store, and writes the
//! response. The rules live in `domain` and `bulk`, the SQL in `store`, the error mapping in `error`.

pub mod bulk;
pub mod contract;
pub mod domain;
pub mod error;
pub mod route;
pub mod store;

use service_kit::contract::{check_sqlite, Health};
use service_kit::request::{self, header};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

use crate::bulk::BulkFormat;
use crate::contract::Loaded;
use crate::domain::{EventDay, EventId, MAX_BODY_BYTES};
use crate::error::VisitsError;
use crate::route::Resource;
use crate::store::{StoreError, VisitsStore};

#[http_component]
async fn handle_visits(request: IncomingRequest) -> Response {
    // The request's own path, not `spin-path-info`: the same under a route and under service chaining.
    let path_with_query = request.path_with_query().unwrap_or_default();
    let (path, query) = path_with_query
        .split_once('?')
        .unwrap_or((&path_with_query, ""));
    let served = match route::resource(path) {
        Ok(resource) => serve(&resource, query, request).await,
        Err(err) => Err(err),
    };
    served.unwrap_or_else(|err| error_response(&err))
}

async fn serve(
    resource: &Resource,
    query: &str,
    request: IncomingRequest,
) -> Result<Response, VisitsError> {
    match (resource, request.method()) {
        (_, Method::Options) => Ok(preflight_response(resource)),
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
        (Resource::Health, Method::Get) => Ok(health()),
        (Resource::OpenApi, Method::Get) => Ok(json_response(200, &contract::document())),
        (_, method) => Err(VisitsError::MethodNotAllowed {
            method: method.to_string(),
            allow: resource.allowed_methods(),
        }),
    }
}

fn read_visits(event_id: &EventId, query: &str) -> Result<Response, VisitsError> {
    let range = domain::parse_day_range(query)?;
    let rows = VisitsStore::open()?.event_days(event_id, range)?;
    Ok(json_response(200, &rows))
}

fn add_visits(event_id: &EventId, body: &[u8]) -> Result<Response, VisitsError> {
    let today = EventDay::from_date(time::OffsetDateTime::now_utc().date());
    let added = domain::parse_added_visits(body, today)?;
    let row = VisitsStore::open()?.add_to_day(event_id, added.day, added.count)?;
    let row = row.ok_or(VisitsError::DayTotalTooLarge)?;
    Ok(json_response(200, &row))
}

fn load_visits(format: BulkFormat, body: &[u8]) -> Result<Response, VisitsError> {
    let rows = bulk::parse_bulk(body, format)?;
    VisitsStore::open()?.set_days(&rows)?;
    Ok(json_response(200, &Loaded { loaded: rows.len() }))
}

/// 200 when the service's own database answers, else 503 with the failure's message.
fn health() -> Response {
    let checks = vec![("sqlite", check_sqlite(store::DATABASE_LABEL))];
    let health = Health::from_checks(contract::SERVICE, checks);
    json_response(health.status_code(), &health)
}

/// Reads the whole body, refusing more than `MAX_BODY_BYTES` (an oversized one is drained first,
/// so the client, still sending, gets to read the 413).
async fn read_body(request: IncomingRequest) -> Result<Vec<u8>, VisitsError> {
    request::read_body(request, MAX_BODY_BYTES)
        .await
        .map_err(|err| match err.status {
            413 => VisitsError::BodyTooLarge,
            _ => VisitsError::InvalidBody(err.message),
        })
}

impl From<StoreError> for VisitsError {
    fn from(err: StoreError) -> Self {
        VisitsError::Storage(err.to_string())
    }
}

fn json_response(status: u16, value: &impl serde::Serialize) -> Response {
    // Serialising our own rows and maps cannot fail.
    let body = serde_json::to_vec(value).unwrap_or_default();
    response_with_body(status, body)
}

/// Every response is JSON and readable cross-origin.
fn response_with_body(status: u16, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("access-control-allow-origin", "*")
        .body(body)
        .build()
}

fn preflight_response(resource: &Resource) -> Response {
    let mut response = response_with_body(204, Vec::new());
    response.set_header("allow", resource.allowed_methods());
    response.set_header("access-control-allow-methods", resource.allowed_methods());
    response.set_header("access-control-allow-headers", "content-type");
    response.set_header("access-control-max-age", "86400");
    response
}

fn error_response(err: &VisitsError) -> Response {
    if let VisitsError::Storage(detail) = err {
        eprintln!("visits: storage error: {detail}");
    }
    let (status, body) = err.status_and_body();
    let mut response = response_with_body(status, body);
    if let VisitsError::MethodNotAllowed { allow, .. } = err {
        response.set_header("allow", *allow);
    }
    response
}
