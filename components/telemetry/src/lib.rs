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
//! cache rebuilt from SQLite when missing or stale (see `hot`). This file is the Spin layer only:
//! judging readings is in `engine`, validation in `reading` and `rules`, orchestration in
//! `ingest` and `sensors`, SQL in `store`. The API is described in the crate's README.md.

pub mod contract;
pub mod engine;
pub mod hot;
pub mod ingest;
pub mod reading;
pub mod route;
pub mod rules;
pub mod sensors;
pub mod store;
pub mod views;

use serde_json::Value;
use service_kit::api::{json_response, respond};
use service_kit::outbox::forwarder;
use service_kit::request::{header, parse_json, path_and_query, read_body, Query};
use service_kit::{clock, outbox, ApiError, ApiResult};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

use crate::hot::HotCache;
use crate::reading::ReadingsBody;
use crate::route::Resource;
use crate::rules::RulesBody;
use crate::store::AlertFilter;
use crate::views::{AlertsView, IngestView, ReadingsView, RulesView, SensorView};
use service_kit::contract::ErrorBody;

pub const SERVICE: &str = "telemetry";
/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default window of `GET .../readings` when `since` is not given.
const DEFAULT_READINGS_WINDOW_MILLIS: i64 = 60 * 60 * 1000;

#[http_component]
async fn handle_telemetry(request: IncomingRequest) -> Response {
    service_kit::trace::begin(&request);
    respond(SERVICE, serve(request).await)
}

async fn serve(request: IncomingRequest) -> ApiResult<Response> {
    let (path, query) = path_and_query(&request);
    let resource = route::resource(&path)?;
    match (&resource, request.method()) {
        (Resource::Readings, Method::Post) => post_readings(request).await,
        (Resource::Sensor(id), Method::Get) => get_sensor(id, &query),
        (Resource::SensorRules(id), Method::Get) => get_rules(id, &query),
        (Resource::SensorRules(id), Method::Put) => put_rules(id, request).await,
        (Resource::SensorReadings(id), Method::Get) => get_readings(id, &query),
        (Resource::Alerts, Method::Get) => get_alerts(&query),
        (Resource::Outbox, Method::Get) => get_outbox(&query),
        (Resource::OutboxFlush, Method::Post) => flush_outbox().await,
        (Resource::Health, Method::Get) => Ok(contract::health()),
        (Resource::OpenApi, Method::Get) => Ok(contract::openapi()),
        (_, method) => Err(ApiError::method_not_allowed(
            &method.to_string(),
            resource.allowed_methods(),
        )),
    }
}

async fn read_json(request: IncomingRequest) -> ApiResult<Value> {
    let content_type = header(&request, "content-type");
    let body = read_body(request, MAX_BODY_BYTES).await?;
    parse_json(content_type.as_deref(), &body)
}

#[utoipa::path(
    post,
    path = "/telemetry/readings",
    tag = "readings",
    summary = "Ingest temperature readings",
    description = "One reading or an array of 1 to 1000, all or nothing: any invalid reading refuses \
        the whole request (400 or 422, naming it as `readings[i].field`). `at` may be at most 5 minutes in \
        the future; without it the reading is taken now, so two readings of one sensor without `at` \
        in one request are refused. A reading already stored for (sensor, at) is a duplicate; one \
        older than the sensor's latest is stored but not judged (`out_of_order`).",
    request_body(content = ReadingsBody, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; the alerts raised or resolved by these readings.", body = IngestView),
        (status = 400, description = "The JSON or a reading is invalid; the message names it.", body = ErrorBody),
        (status = 413, description = "More than 1000 readings, or a body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
        (status = 422, description = "A reading's `at` is more than 5 minutes in the future, or two \
            readings of one sensor lack `at`; the message names the reading.", body = ErrorBody),
    )
)]
async fn post_readings(request: IncomingRequest) -> ApiResult<Response> {
    let body = read_json(request).await?;
    let batch = reading::parse_batch(&body, clock::now_millis())?;
    let conn = store::open()?;
    let mut report = ingest::ingest(&conn, &HotCache::open(), &batch, clock::now_millis())?;
    // After the commit; trouble only leaves the events for a later forward or flush.
    forwarder::forward_if_claimed(&conn, report.forwarder.take(), SERVICE).await;
    Ok(json_response(202, &views::ingested(&report)))
}

#[utoipa::path(
    get,
    path = "/telemetry/sensors/{id}",
    tag = "sensors",
    summary = "A sensor's state, rules and last hour",
    params(
        ("id" = String, Path, description = "The sensor id.",
            pattern = "^[A-Za-z0-9_.:-]{1,64}$", min_length = 1, max_length = 64),
    ),
    responses(
        (status = 200, description = "The sensor.", body = SensorView),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 404, description = "No reading of this sensor was ever stored (or the id breaks the sensor id rule).", body = ErrorBody),
    )
)]
fn get_sensor(sensor_id: &str, query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let conn = store::open()?;
    let view = sensors::view(&conn, &HotCache::open(), sensor_id, clock::now_millis())?;
    let view = view.ok_or_else(|| ApiError::not_found(format!("no such sensor: {sensor_id}")))?;
    Ok(json_response(200, &view))
}

#[utoipa::path(
    get,
    path = "/telemetry/sensors/{id}/rules",
    tag = "sensors",
    summary = "A sensor's rules (the defaults if none were set)",
    params(
        ("id" = String, Path, description = "The sensor id.",
            pattern = "^[A-Za-z0-9_.:-]{1,64}$", min_length = 1, max_length = 64),
    ),
    responses(
        (status = 200, description = "The rules the sensor's next readings are judged by.", body = RulesView),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
        (status = 404, description = "The id breaks the sensor id rule, so no such sensor can exist.", body = ErrorBody),
    )
)]
fn get_rules(sensor_id: &str, query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let rules = sensors::rules(&store::open()?, sensor_id)?;
    Ok(json_response(200, &views::rules(sensor_id, &rules)))
}

#[utoipa::path(
    put,
    path = "/telemetry/sensors/{id}/rules",
    tag = "sensors",
    summary = "Replace a sensor's rules",
    description = "Fields left out take their defaults (`{}` resets them); `min_celsius` must be below \
        `max_celsius`. The new rules judge the next readings; an open alert stays open until a \
        reading within them ends it.",
    params(
        ("id" = String, Path, description = "The sensor id.",
            pattern = "^[A-Za-z0-9_.:-]{1,64}$", min_length = 1, max_length = 64),
    ),
    request_body(content = RulesBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The effective rules.", body = RulesView),
        (status = 400, description = "The JSON or a rule is invalid; the message names it.", body = ErrorBody),
        (status = 404, description = "The id breaks the sensor id rule, so no such sensor can exist.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB.", body = ErrorBody),
        (status = 415, description = "The content type is not JSON.", body = ErrorBody),
        (status = 422, description = "`min_celsius` (given or default) is not below `max_celsius`.", body = ErrorBody),
    )
)]
async fn put_rules(sensor_id: &str, request: IncomingRequest) -> ApiResult<Response> {
    let rules = rules::parse_rules(&read_json(request).await?)?;
    let conn = store::open()?;
    sensors::put_rules(
        &conn,
        &HotCache::open(),
        sensor_id,
        &rules,
        clock::now_millis(),
    )?;
    Ok(json_response(200, &views::rules(sensor_id, &rules)))
}

#[utoipa::path(
    get,
    path = "/telemetry/sensors/{id}/readings",
    tag = "sensors",
    summary = "A sensor's readings since a time, oldest first",
    params(
        ("id" = String, Path, description = "The sensor id.",
            pattern = "^[A-Za-z0-9_.:-]{1,64}$", min_length = 1, max_length = 64),
        ("since" = Option<String>, Query, description = "RFC 3339 (default: an hour ago).",
            pattern = "^[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"),
        ("limit" = Option<i64>, Query, description = "At most this many readings (default 100).",
            minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The readings.", body = ReadingsView),
        (status = 400, description = "A query parameter is invalid or unknown.", body = ErrorBody),
        (status = 404, description = "The id breaks the sensor id rule, so no such sensor can exist.", body = ErrorBody),
    )
)]
fn get_readings(sensor_id: &str, query: &str) -> ApiResult<Response> {
    let query = Query::parse(query, &["since", "limit"])?;
    let since = match query.get("since") {
        Some(text) => clock::parse_rfc3339(text)
            .map_err(|err| ApiError::bad_request(format!("query parameter since: {err}")))?,
        None => clock::now_millis() - DEFAULT_READINGS_WINDOW_MILLIS,
    };
    let limit = query.integer("limit", 1, 1000, 100)?;
    let conn = store::open()?;
    let points = store::with_schema(&conn, |conn| {
        store::readings_since(conn, sensor_id, since, limit)
    })?;
    let view = ReadingsView {
        sensor_id: sensor_id.to_owned(),
        since: clock::format_millis(since),
        readings: points.iter().map(views::point).collect(),
    };
    Ok(json_response(200, &view))
}

#[utoipa::path(
    get,
    path = "/telemetry/alerts",
    tag = "alerts",
    summary = "Alerts, newest first",
    params(
        ("state" = Option<AlertFilter>, Query, description = "Which alerts (default `all`)."),
        ("sensor" = Option<String>, Query, description = "Only this sensor's alerts.",
            pattern = "^[A-Za-z0-9_.:-]{1,64}$", min_length = 1, max_length = 64),
        ("limit" = Option<i64>, Query, description = "At most this many (default 100).",
            minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The alerts.", body = AlertsView),
        (status = 400, description = "A query parameter is invalid or unknown.", body = ErrorBody),
    )
)]
fn get_alerts(query: &str) -> ApiResult<Response> {
    let query = Query::parse(query, &["state", "sensor", "limit"])?;
    let filter = match query.get("state") {
        None | Some("all") => AlertFilter::All,
        Some("active") => AlertFilter::Active,
        Some("resolved") => AlertFilter::Resolved,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter state: must be active, resolved or all, got {other:?}"
            )))
        }
    };
    let sensor_id = query.get("sensor");
    if let Some(id) = sensor_id.filter(|id| !reading::valid_sensor_id(id)) {
        return Err(ApiError::bad_request(format!(
            "query parameter sensor: must be {}, got {id:?}",
            reading::SENSOR_ID_RULE
        )));
    }
    let limit = query.integer("limit", 1, 1000, 100)?;
    let conn = store::open()?;
    let alerts = store::with_schema(&conn, |conn| store::alerts(conn, filter, sensor_id, limit))?;
    let view = AlertsView {
        alerts: alerts.iter().map(views::alert).collect(),
    };
    Ok(json_response(200, &view))
}

#[utoipa::path(
    get,
    path = "/telemetry/outbox",
    tag = "outbox",
    summary = "How many events wait to be forwarded",
    responses(
        (status = 200, description = "The outbox's size.", body = outbox::OutboxStatus),
        (status = 400, description = "A query parameter was given (none are known).", body = ErrorBody),
    )
)]
fn get_outbox(query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    store::with_schema(&store::open()?, outbox::status_response)
}

#[utoipa::path(
    post,
    path = "/telemetry/outbox/flush",
    tag = "outbox",
    summary = "Forward the pending events now",
    description = "Forwards the outbox to the event log, oldest first, stopping at the first failure \
        (the report says why; the events stay for later).",
    responses((status = 200, description = "How far the flush got.", body = outbox::ForwardReport))
)]
async fn flush_outbox() -> ApiResult<Response> {
    let conn = store::open()?;
    // Creates the schema on a fresh database, so forwarding has a table to read.
    store::with_schema(&conn, outbox::pending)?;
    outbox::flush_response(&conn).await
}
