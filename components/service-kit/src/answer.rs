//! Sending a service's answer, then the work it left for after the answer.
//!
//! A write that claimed the outbox forwarder lease publishes the outbox (`outbox::forwarder`).
//! That publish is a chained call to `events` and a few more writes; done before the answer, it
//! made the lease holder's client wait for everyone's events, which set the tail latency of every
//! write under load. Spin lets a guest keep running once its response is complete, so the entry
//! point sends the whole response first and forwards afterwards.

use futures::SinkExt;
use spin_sdk::http::{OutgoingResponse, Response, ResponseOutparam};

use crate::outbox::forwarder;

/// Sends `response` whole (its body finished, so the client has all of it), then runs the outbox
/// forward the handler deferred, if any.
pub async fn send_then_forward(out: ResponseOutparam, response: Response, service: &str) {
    send(out, response, service).await;
    forwarder::forward_deferred(service).await;
}

/// Sends the whole response and finishes its body.
pub async fn send(out: ResponseOutparam, mut response: Response, service: &str) {
    let body = std::mem::take(response.body_mut());
    if !matches!(*response.status(), 204 | 304) {
        response.set_header("content-length", body.len().to_string());
    }
    let outgoing = match OutgoingResponse::try_from(response) {
        Ok(outgoing) => outgoing,
        Err(err) => return eprintln!("{service}: could not build the response: {err}"),
    };
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if let Err(err) = sink.send(body).await {
        eprintln!("{service}: could not send the response body: {err}");
    }
    // Dropping the sink finishes the body.
}
