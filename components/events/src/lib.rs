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
//! This file is the Spin layer: the entry, sending the answer, and the work done after it.
//! Paths are in `route`, one function per endpoint in `handlers`, rules in `domain`, SQL in
//! `store` (by concern), delivery in `delivery` and `outbound`, the bodies sent in `wire`, the
//! OpenAPI document in `contract`.

pub mod bootstrap;
pub mod contract;
pub mod delivery;
pub mod domain;
pub mod handlers;
pub mod outbound;
pub mod route;
pub mod store;
pub mod wire;

use service_kit::clock::now_millis;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

use crate::handlers::After;
use crate::store::Due;

pub const SERVICE: &str = "events";
/// Time delivery after a response may take (the host's request timeout is far above it).
const AFTER_RESPONSE_BUDGET_MS: i64 = 10_000;

#[http_component]
async fn handle_events(request: IncomingRequest, out: ResponseOutparam) {
    service_kit::trace::begin(&request);
    let (response, after) = match handlers::serve(request).await {
        Ok(answer) => answer,
        Err(err) => (err.into_response(SERVICE), None),
    };
    // The whole response, its body finished, so the client has it before the work after it.
    service_kit::reply::send(out, response, SERVICE).await;
    if let Some(after) = after {
        deliver_after_response(after).await;
    }
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
