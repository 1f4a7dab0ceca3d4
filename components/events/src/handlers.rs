//! One function per endpoint: read the request, call the domain and the store, answer; and
//! `serve`, which picks the endpoint for a path and method. An answer may carry work to do
//! after the response is sent (`After`), which the entry in `lib.rs` runs.

use service_kit::api::{empty_response, json_response, ApiError, ApiResult};
use service_kit::clock::now_millis;
use service_kit::contract::sqlite_health;
use service_kit::request::{header, parse_json, path_and_query, read_body, Query};
use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::sqlite::Connection;

use crate::domain::{
    SubscriptionSpec, DEFAULT_READ_LIMIT, MAX_PUBLISH_BYTES, MAX_READ_LIMIT, MAX_SUBSCRIPTION_BYTES,
};
use crate::route::Resource;
use crate::store::Due;
use crate::wire::{
    DeadLetterPage, DispatchReport, Published, ReadPage, ReplayReport, SubscriptionList, TopicList,
};
use crate::{bootstrap, contract, delivery, domain, route, store, SERVICE};

/// Time a dispatch or replay request may spend delivering before it answers.
const REQUEST_BUDGET_MS: i64 = 20_000;

/// Work to do once the response has been sent.
pub enum After {
    /// Deliver the topic's due cursors (after a publish).
    Topic(Connection, String),
    /// Deliver the subscription's due cursors (after it was created or changed).
    Subscription(Connection, String),
}

pub type Answer = (Response, Option<After>);

pub async fn serve(request: IncomingRequest) -> ApiResult<Answer> {
    let (path, query) = path_and_query(&request);
    let resource = route::resource(&path)?;
    let method = request.method();
    match (&resource, method) {
        (Resource::Topic(topic), Method::Post) => publish(topic, request).await,
        (Resource::Topic(topic), Method::Get) => read(topic, &query),
        (Resource::Topics, Method::Get) => {
            let topics = store::topics(&store::open()?)?;
            Ok((json_response(200, &TopicList { topics }), None))
        }
        (Resource::Dispatch, Method::Post) => dispatch().await,
        (Resource::Subscriptions, Method::Get) => {
            let conn = store::open()?;
            bootstrap::ensure(&conn, true);
            let subscriptions = store::subscription_views(&conn, None)?;
            let list = SubscriptionList { subscriptions };
            Ok((json_response(200, &list), None))
        }
        (Resource::Subscription(name), Method::Put) => put_subscription(name, request).await,
        (Resource::Subscription(name), Method::Get) => {
            let conn = store::open()?;
            bootstrap::ensure(&conn, true);
            let view = store::subscription_views(&conn, Some(name))?
                .pop()
                .ok_or_else(|| unknown(name))?;
            Ok((json_response(200, &view), None))
        }
        (Resource::Subscription(name), Method::Delete) => {
            let conn = store::open()?;
            bootstrap::ensure(&conn, true);
            if !store::delete_subscription(&conn, name)? {
                return Err(unknown(name));
            }
            Ok((empty_response(204), None))
        }
        (Resource::DeadLetters(name), Method::Get) => dead_letters(name, &query),
        (Resource::Replay(name), Method::Post) => replay(name).await,
        (Resource::Health, Method::Get) => Ok((sqlite_health(SERVICE, store::LABEL), None)),
        (Resource::OpenApi, Method::Get) => Ok((
            service_kit::embedded_document::response(contract::DOCUMENT),
            None,
        )),
        (resource, method) => Err(resource.refuse(&method.to_string())),
    }
}

fn unknown(name: &str) -> ApiError {
    ApiError::not_found(format!("no subscription named {name:?}"))
}

async fn publish(topic: &str, request: IncomingRequest) -> ApiResult<Answer> {
    domain::check_content_type(header(&request, "content-type").as_deref())?;
    let body = read_body(request, MAX_PUBLISH_BYTES).await?;
    let request_id = service_kit::trace::request_id();
    let events = domain::parse_publish(&body, request_id.as_deref())?;
    let conn = store::open()?;
    let state = store::topic_state(&conn, topic)?;
    if state.is_none() {
        // Before the topic exists, so that it gets the bootstrap subscriptions' cursors. Only
        // here on the publish path: every later publish skips the variable (a subscription
        // added to it later is created by the next dispatch or subscription call).
        bootstrap::ensure(&conn, false);
    }
    let offsets = store::publish(&conn, topic, &events, now_millis(), state.is_some())?;
    let published = Published {
        topic: topic.to_owned(),
        offsets,
    };
    let response = json_response(201, &published);
    // No cursor on the topic: nothing to push.
    let after = (state != Some(false)).then(|| After::Topic(conn, topic.to_owned()));
    Ok((response, after))
}

fn read(topic: &str, query: &str) -> ApiResult<Answer> {
    let query = Query::parse(query, &["after", "limit"])?;
    let after = query.integer("after", 0, i64::MAX, 0)?;
    let limit = query.integer("limit", 1, MAX_READ_LIMIT, DEFAULT_READ_LIMIT)?;
    let (head, events) = store::read(&store::open()?, topic, after, limit)?;
    let page = ReadPage {
        topic: topic.to_owned(),
        head,
        events,
    };
    Ok((json_response(200, &page), None))
}

async fn dispatch() -> ApiResult<Answer> {
    let conn = store::open()?;
    bootstrap::ensure(&conn, true);
    let deadline = now_millis() + REQUEST_BUDGET_MS;
    let report = delivery::deliver_due(&conn, Due::All, deadline).await?;
    let pending = store::total_lag(&conn)?;
    let body = DispatchReport {
        delivered: report.delivered,
        retrying: report.retrying,
        dead_lettered: report.dead_lettered,
        pending,
    };
    Ok((json_response(200, &body), None))
}

async fn put_subscription(name: &str, request: IncomingRequest) -> ApiResult<Answer> {
    let content_type = header(&request, "content-type");
    domain::check_content_type(content_type.as_deref())?;
    let body = read_body(request, MAX_SUBSCRIPTION_BYTES).await?;
    let value: serde_json::Value = parse_json(content_type.as_deref(), &body)?;
    let spec = SubscriptionSpec::from_json(value).map_err(ApiError::bad_request)?;
    let conn = store::open()?;
    bootstrap::ensure(&conn, true);
    let created = store::put_subscription(&conn, name, &spec, now_millis())?;
    let view = store::subscription_views(&conn, Some(name))?
        .pop()
        .ok_or_else(|| ApiError::storage("subscription vanished after writing it"))?;
    let status = if created { 201 } else { 200 };
    Ok((
        json_response(status, &view),
        Some(After::Subscription(conn, name.to_owned())),
    ))
}

fn dead_letters(name: &str, query: &str) -> ApiResult<Answer> {
    let query = Query::parse(query, &["limit"])?;
    let limit = query.integer("limit", 1, MAX_READ_LIMIT, DEFAULT_READ_LIMIT)?;
    let conn = store::open()?;
    if !store::subscription_exists(&conn, name)? {
        return Err(unknown(name));
    }
    let (total, dead_letters) = store::dead_letters(&conn, name, limit)?;
    let page = DeadLetterPage {
        subscription: name.to_owned(),
        total,
        dead_letters,
    };
    Ok((json_response(200, &page), None))
}

async fn replay(name: &str) -> ApiResult<Answer> {
    let conn = store::open()?;
    let endpoint = store::subscription_endpoint(&conn, name)?.ok_or_else(|| unknown(name))?;
    let deadline = now_millis() + REQUEST_BUDGET_MS;
    let (replayed, remaining) = delivery::replay(&conn, name, &endpoint, deadline).await?;
    let body = ReplayReport {
        replayed,
        remaining,
    };
    Ok((json_response(200, &body), None))
}
