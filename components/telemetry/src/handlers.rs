//! One function per endpoint: read the request, call the domain and the store, answer; and
//! `serve`, which picks the endpoint for the path `route` names and the method.

use serde_json::Value;
use service_kit::api::json_response;
use service_kit::contract::{check_key_value, check_sqlite, Health};
use service_kit::outbox::forwarder;
use service_kit::request::{header, parse_json, path_and_query, read_body, Query};
use service_kit::{clock, outbox, ApiError, ApiResult};
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::hot::HotCache;
use crate::route::{self, Resource};
use crate::store::AlertFilter;
use crate::wire::{AlertsView, ReadingsView};
use crate::{contract, hot, ingest, reading, rules, sensors, store, wire, SERVICE};

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default window of `GET .../readings` when `since` is not given.
const DEFAULT_READINGS_WINDOW_MILLIS: i64 = 60 * 60 * 1000;

pub async fn serve(request: IncomingRequest) -> ApiResult<Response> {
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
        (Resource::OutboxFlush, Method::Post) => {
            outbox::flush_endpoint(&store::open()?, store::SCHEMA_PARTS).await
        }
        (Resource::Health, Method::Get) => Ok(health()),
        (Resource::OpenApi, Method::Get) => {
            Ok(service_kit::embedded_document::response(contract::DOCUMENT))
        }
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

async fn post_readings(request: IncomingRequest) -> ApiResult<Response> {
    let body = read_json(request).await?;
    let batch = reading::parse_batch(&body, clock::now_millis())?;
    let conn = store::open()?;
    let mut report = ingest::ingest(&conn, &HotCache::open(), &batch, clock::now_millis())?;
    // Forwarded once the answer is sent; trouble only leaves the events for a later forward.
    forwarder::forward_after_response(report.forwarder.take(), store::DATABASE_LABEL);
    Ok(json_response(202, &wire::ingested(&report)))
}

fn get_sensor(sensor_id: &str, query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let conn = store::open()?;
    let view = sensors::view(&conn, &HotCache::open(), sensor_id, clock::now_millis())?;
    let view = view.ok_or_else(|| ApiError::not_found(format!("no such sensor: {sensor_id}")))?;
    Ok(json_response(200, &view))
}

fn get_rules(sensor_id: &str, query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    let rules = sensors::rules(&store::open()?, sensor_id)?;
    Ok(json_response(200, &wire::rules(sensor_id, &rules)))
}

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
    Ok(json_response(200, &wire::rules(sensor_id, &rules)))
}

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
        readings: points.iter().map(wire::point).collect(),
    };
    Ok(json_response(200, &view))
}

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
        alerts: alerts.iter().map(wire::alert).collect(),
    };
    Ok(json_response(200, &view))
}

fn get_outbox(query: &str) -> ApiResult<Response> {
    Query::parse(query, &[])?;
    outbox::status_endpoint(&store::open()?, store::SCHEMA_PARTS)
}

/// `GET /telemetry/health`: 200 when the service's own stores answer, else 503.
fn health() -> Response {
    let checks = vec![
        ("sqlite", check_sqlite(store::DATABASE_LABEL)),
        ("key_value", check_key_value(hot::KEY_VALUE_LABEL)),
    ];
    Health::from_checks(SERVICE, checks).into_response()
}
