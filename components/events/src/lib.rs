//! The `events` service: a durable, ordered CloudEvents log per topic with push subscriptions.
//!
//! - `POST /events/{topic}` appends one event or an array (at most 500) in one transaction;
//!   an id already in the topic keeps its original offset. `GET /events/{topic}?after&limit`
//!   reads the log, `GET /events/topics` lists topics with their heads.
//! - `PUT|GET|DELETE /events/subscriptions/{name}`, `GET /events/subscriptions`,
//!   `GET .../dead-letters`, `POST .../dead-letters/replay`, `POST /events/dispatch`.
//! - `GET /events/health` checks the database; `GET /events/openapi.json` is the contract
//!   (`contract`). These names and `topics`, `subscriptions`, `dispatch` are never topics.
//!
//! # Delivery design
//! Push delivery is at-least-once and in order per (subscription, topic); any 2xx acknowledges.
//! Two triggers drive it, and the design relies on both:
//! - **Push after publish** (latency): once a publish has committed, the handler sends its 201
//!   and then, in the same instance, delivers the topic's due cursors (Spin lets a guest keep
//!   running after its response is complete; the work is bounded by a 10 s budget). Nothing
//!   waits for a poller, so an event reaches a healthy subscriber milliseconds after it is
//!   durable, and the publisher's latency does not include the subscribers'.
//! - **`POST /events/dispatch`** (retries and backstop): delivers everything due on every
//!   cursor. It is the only thing that retries after a backoff (nothing runs between requests
//!   in Spin), and it catches up what post-response work could not finish (an instance stopped,
//!   a budget spent). Call it from a scheduler (Spin's cron trigger in production; tests call it).
//! - **The lease** (order): one deliverer per cursor at a time, claimed with a conditional
//!   UPDATE and expiring after 30 s so a crashed instance blocks nobody for long. A publisher that
//!   finds the lease taken leaves its events to the holder, which re-checks the head after
//!   releasing, so no event waits for the next dispatch.
//!
//! Failed deliveries are retried with exponential backoff (`retry_base_ms` doubled per attempt,
//! at most 10 minutes); the attempt reaching `max_attempts` moves the event to the
//! subscription's dead letters and the cursor moves on. Subscriptions listed in the
//! `bootstrap_subscriptions` variable are created once (a later DELETE sticks) by the first
//! dispatch, subscription call or publish creating a topic; publishes to known topics skip the
//! check to keep the hot path at one read and one single-statement append.
//!
//! This file is the Spin layer: routing, reading requests, answering, and the work done after
//! the response. Rules are in `domain`, SQL in `store`, delivery in `delivery` and `outbound`.

pub mod bootstrap;
pub mod contract;
pub mod delivery;
pub mod domain;
pub mod outbound;
pub mod route;
pub mod store;

use futures::SinkExt;
use service_kit::api::{empty_response, json_response, ApiError, ApiResult};
use service_kit::clock::now_millis;
use service_kit::contract::{check_sqlite, document_response, Health};
use service_kit::request::{header, parse_json, path_and_query, read_body, Query};
use spin_sdk::http::{IncomingRequest, Method, OutgoingResponse, Response, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::sqlite::Connection;
use utoipa::OpenApi;

use crate::contract::{
    DeadLetterPage, DispatchReport, Published, ReadPage, ReplayReport, SubscriptionList, TopicList,
};
use crate::domain::{
    SubscriptionSpec, DEFAULT_READ_LIMIT, MAX_PUBLISH_BYTES, MAX_READ_LIMIT, MAX_SUBSCRIPTION_BYTES,
};
use crate::route::Resource;
use crate::store::Due;

const SERVICE: &str = "events";
/// Time delivery after a response may take (the host's request timeout is far above it).
const AFTER_RESPONSE_BUDGET_MS: i64 = 10_000;
/// Time a dispatch or replay request may spend delivering before it answers.
const REQUEST_BUDGET_MS: i64 = 20_000;

/// Work to do once the response has been sent.
enum After {
    /// Deliver the topic's due cursors (after a publish).
    Topic(Connection, String),
    /// Deliver the subscription's due cursors (after it was created or changed).
    Subscription(Connection, String),
}

#[http_component]
async fn handle_events(request: IncomingRequest, out: ResponseOutparam) {
    service_kit::trace::begin(&request);
    let (response, after) = match serve(request).await {
        Ok(answer) => answer,
        Err(err) => (err.into_response(SERVICE), None),
    };
    send(out, response).await;
    if let Some(after) = after {
        deliver_after_response(after).await;
    }
}

/// Sends the whole response and finishes its body, so the client has it before any later work.
async fn send(out: ResponseOutparam, mut response: Response) {
    let body = std::mem::take(response.body_mut());
    if *response.status() != 204 {
        response.set_header("content-length", body.len().to_string());
    }
    let outgoing = match OutgoingResponse::try_from(response) {
        Ok(outgoing) => outgoing,
        Err(err) => return eprintln!("events: could not build the response: {err}"),
    };
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if let Err(err) = sink.send(body).await {
        eprintln!("events: could not send the response body: {err}");
    }
    // Dropping the sink finishes the body.
}

async fn deliver_after_response(after: After) {
    let deadline = now_millis() + AFTER_RESPONSE_BUDGET_MS;
    let (conn, which) = match &after {
        After::Topic(conn, topic) => (conn, Due::Topic(topic)),
        After::Subscription(conn, name) => (conn, Due::Subscription(name)),
    };
    let result = delivery::deliver_due(conn, which, deadline).await;
    if let Err(err) = result {
        eprintln!(
            "events: delivery after response: {:?}",
            err.detail.unwrap_or(err.message)
        );
    }
}

type Answer = (Response, Option<After>);

async fn serve(request: IncomingRequest) -> ApiResult<Answer> {
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
        (Resource::Health, Method::Get) => {
            let checks = vec![("sqlite", check_sqlite(store::LABEL))];
            Ok((Health::from_checks(SERVICE, checks).into_response(), None))
        }
        (Resource::OpenApi, Method::Get) => {
            Ok((document_response(&contract::ApiDoc::openapi()), None))
        }
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
