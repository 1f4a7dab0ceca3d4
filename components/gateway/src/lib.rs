//! The API gateway: the app's only public component. Every request enters here and is
//! authenticated, throttled, checked and passed to its service by service chaining
//! (`http://<service>.spin.internal`); the services themselves have private routes.
//!
//! - `/<service>/...` for each registered service (the `services` variable): keys
//!   (`Authorization: Bearer` or `x-api-key`) with `<service>:read|write` scopes; anonymous
//!   reads of the `public_read` services; a per-key rate limit; a body limit.
//! - `GET /health`, `GET /services`, `GET /services/{name}[/openapi.json]`: discovery, anonymous.
//! - `/admin/keys[/{id}]`: key management with the `admin_token` variable.
//! - On every request: an `x-request-id`, CORS, and one JSON access-log line.
//! - Repeated `GET`s of the `cached_reads` services are answered from a cache that every write
//!   through the gateway invalidates (`cache`).
//!
//! This file is the Spin layer (reading the request, writing the response, the log line); the
//! request's way through the gateway is `pipeline`, and each rule has its own module.

pub mod access;
pub mod access_log;
pub mod admin;
pub mod cache;
pub mod config;
pub mod cors;
pub mod forwarding;
pub mod keys;
pub mod keystore;
pub mod pipeline;
pub mod proxy;
pub mod rate_limit;
pub mod registry;
pub mod reply;
pub mod request_id;
pub mod route;

use std::time::Instant;

use futures::SinkExt;
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

use crate::access_log::{millis, AccessLog};
use crate::pipeline::{RequestHead, Trace};
use crate::reply::Reply;

#[http_component]
async fn handle_gateway(request: IncomingRequest, out: ResponseOutparam) {
    let started = Instant::now();
    let head = RequestHead::read(&request);
    let mut trace = Trace::default();
    let reply = pipeline::serve(&head, request, &mut trace).await;
    let status = reply.status;
    send(out, reply, head.method == "HEAD").await;
    AccessLog {
        time: service_kit::clock::now_rfc3339(),
        request_id: head.request_id.clone(),
        key_id: trace.key_id,
        method: head.method.clone(),
        path: head.path.clone(),
        status,
        duration_ms: millis(started.elapsed()),
        upstream: trace.upstream,
        upstream_ms: trace.upstream_time.map(millis),
        cache: trace.cache,
    }
    .write();
}

/// Writes the whole reply and finishes its body.
async fn send(out: ResponseOutparam, reply: Reply, head_only: bool) {
    let mut headers = reply.headers;
    let body = if head_only { Vec::new() } else { reply.body };
    if !head_only && reply.status != 204 && reply.status != 304 {
        headers.push(("content-length".into(), body.len().to_string().into_bytes()));
    }
    let fields = Fields::from_list(&headers).unwrap_or_else(|err| {
        eprintln!("gateway: response headers refused ({err:?}); sending the body without them");
        Fields::new()
    });
    let response = OutgoingResponse::new(fields);
    if response.set_status_code(reply.status).is_err() {
        eprintln!("gateway: status {} refused", reply.status);
    }
    let mut sink = response.take_body();
    out.set(response);
    if !body.is_empty() {
        if let Err(err) = sink.send(body).await {
            eprintln!("gateway: could not send the response body: {err}");
        }
    }
    // Dropping the sink finishes the body.
}
