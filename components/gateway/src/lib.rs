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
//! request's way through the gateway is `pipeline`. The rules themselves are the `edge-rules`
//! crate's (shared with the edge middleware, `components/edge`), re-exported here.

pub mod admin;
pub mod pipeline;
pub mod proxy;
pub mod registry;
pub mod route;

pub use edge_rules::{
    access, access_log, cache, config, cors, forwarding, keys, keystore, rate_limit, reply,
    request_id,
};

use std::time::Instant;

use edge_rules::access_log::AccessLog;
use edge_rules::respond::send;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

use crate::pipeline::{RequestHead, Trace};

#[http_component]
async fn handle_gateway(request: IncomingRequest, out: ResponseOutparam) {
    let started = Instant::now();
    let head = RequestHead::read(&request);
    let mut trace = Trace::default();
    let reply = pipeline::serve(&head, request, &mut trace).await;
    let status = reply.status;
    send(out, reply, head.method == "HEAD").await;
    AccessLog::of(&head, trace, Some(status), started).write();
}
