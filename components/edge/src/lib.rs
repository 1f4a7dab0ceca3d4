//! The edge as middleware: a component that imports `wasi:http/incoming-handler` (the service
//! it protects) and exports it. Each request is checked by the gateway's rules (`edge-rules`)
//! and then handed, whole, to the imported handler in the same instance: no network hop.
//!
//! The service it guards is the `edge_service` variable, a name of the `services` registry; its
//! scopes are `<service>:read|write` and the `public_read` list applies to it. `wasi:http` 0.2
//! gives a middleware no way to build a request or to see the answer (`incoming-request` and
//! `response-outparam` have no constructors), so an admitted request reaches the service as the
//! client sent it and the service answers the client directly. What follows from that is in
//! `admission`.

pub mod admission;

use std::time::Instant;

use edge_rules::access_log::AccessLog;
use edge_rules::guard::{RequestHead, Trace};
use edge_rules::respond::send;

use crate::admission::Admission;

mod bindings {
    wit_bindgen::generate!({
        world: "middleware",
        path: "wit",
        // The request and response types are spin-sdk's own, so its helpers apply to them.
        with: {
            "wasi:http/types@0.2.0": spin_sdk::wit::wasi::http0_2_0::types,
            "wasi:http/incoming-handler@0.2.0": generate,
            "wasi:io/error@0.2.0": ::wasi::io::error,
            "wasi:io/streams@0.2.0": ::wasi::io::streams,
            "wasi:io/poll@0.2.0": ::wasi::io::poll,
            "wasi:clocks/monotonic-clock@0.2.0": spin_sdk::wit::wasi::clocks0_2_0::monotonic_clock,
        },
    });
}

use bindings::exports::wasi::http::incoming_handler::Guest;
use bindings::wasi::http::incoming_handler as service;
use spin_sdk::wit::wasi::http0_2_0::types::{IncomingRequest, ResponseOutparam};

struct Edge;

impl Guest for Edge {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        spin_sdk::http::run(serve(request, out));
    }
}

bindings::export!(Edge with_types_in bindings);

async fn serve(request: IncomingRequest, out: ResponseOutparam) {
    let started = Instant::now();
    let head = RequestHead::read(&request);
    let mut trace = Trace::default();
    match admission::admit(&head, request, &mut trace).await {
        Admission::Answered(reply) => {
            let status = reply.status;
            send(sdk_outparam(out), reply, head.method == "HEAD").await;
            AccessLog::of(&head, trace, Some(status), started).write();
        }
        Admission::Admitted {
            request,
            service: name,
            after,
        } => {
            trace.upstream = Some(name);
            let handed = Instant::now();
            // Returns once the service's handler has returned: its answer is sent.
            service::handle(request, out);
            trace.upstream_time = Some(handed.elapsed());
            after.run();
            AccessLog::of(&head, trace, None, started).write();
        }
    }
}

/// The same response-outparam as spin-sdk's wrapper, which the shared `send` writes through.
fn sdk_outparam(out: ResponseOutparam) -> spin_sdk::http::ResponseOutparam {
    // SAFETY: the handle is taken out of `out`, so it is owned by the wrapper alone (this is
    // how spin-sdk's own `http_component` macro hands its handler the outparam).
    unsafe { spin_sdk::http::ResponseOutparam::from_handle(out.take_handle()) }
}
