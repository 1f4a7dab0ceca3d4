//! A middleware for the host's dependency tests: it imports and exports
//! `wasi:http/incoming-handler@0.2.0`. It answers `/__middleware` itself
//! (so a test can see it is there) and passes every other request, as it
//! is, to the handler it imports.

wit_bindgen::generate!({
    world: "middleware",
    path: "wit",
    // The request and response types are the `wasi` crate's; only the handler is generated.
    with: {
        "wasi:http/types@0.2.0": ::wasi::http::types,
        "wasi:io/error@0.2.0": ::wasi::io::error,
        "wasi:io/poll@0.2.0": ::wasi::io::poll,
        "wasi:io/streams@0.2.0": ::wasi::io::streams,
        "wasi:clocks/monotonic-clock@0.2.0": ::wasi::clocks::monotonic_clock,
        "wasi:http/incoming-handler@0.2.0": generate,
    },
});

use ::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use exports::wasi::http::incoming_handler::Guest;

struct Middleware;

impl Guest for Middleware {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        if request.path_with_query().as_deref() == Some("/__middleware") {
            answer(response_out, b"answered by the middleware");
        } else {
            wasi::http::incoming_handler::handle(request, response_out);
        }
    }
}

fn answer(response_out: ResponseOutparam, text: &[u8]) {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("a new response has a body");
    ResponseOutparam::set(response_out, Ok(response));
    let stream = body.write().expect("a new body has a stream");
    stream
        .blocking_write_and_flush(text)
        .expect("write the body");
    drop(stream);
    OutgoingBody::finish(body, None).expect("finish the body");
}

export!(Middleware);
