//! Sending a handler's [`Response`] to the client, for entries of the form
//! `async fn(IncomingRequest, ResponseOutparam)`.
//!
//! spin-sdk turns a `Response` into an `OutgoingResponse` through conversions whose errors are
//! `anyhow::Error`s. Building one of those links anyhow's error formatting, which prints
//! `std::backtrace::Backtrace`s and so brings std's backtrace printer and `rustc_demangle`
//! (about 40 KB of a component) even though a component never has a backtrace to print. This
//! builds the response from `wasi:http` types directly, with the same headers and status.

use futures::SinkExt;
use spin_sdk::http::{Headers, OutgoingResponse, Response, ResponseOutparam};

/// Sends `response` (status, headers, a `content-length` and the whole body) and finishes the
/// body, so the client has all of it before any work the caller does next. A response that
/// cannot be built is logged with `service`'s name; the host then answers 500.
pub async fn send(out: ResponseOutparam, mut response: Response, service: &str) {
    let body = std::mem::take(response.body_mut());
    let status = *response.status();
    let mut fields: Vec<(String, Vec<u8>)> = response
        .headers()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .map(|(name, value)| (name.to_owned(), value.as_bytes().to_vec()))
        .collect();
    if has_body(status) {
        fields.push((
            "content-length".to_owned(),
            body.len().to_string().into_bytes(),
        ));
    }
    let headers = match Headers::from_list(&fields) {
        Ok(headers) => headers,
        Err(err) => return eprintln!("{service}: invalid response headers: {err:?}"),
    };
    let outgoing = OutgoingResponse::new(headers);
    if outgoing.set_status_code(status).is_err() {
        return eprintln!("{service}: invalid response status {status}");
    }
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if let Err(err) = sink.send(body).await {
        eprintln!("{service}: could not send the response body: {err}");
    }
    // Dropping the sink finishes the body.
}

/// Sends `response` whole, then runs the outbox forward its handler deferred, if any.
///
/// A write that claimed the outbox forwarder lease publishes the outbox: a chained call to
/// `events` and a few more writes. Done before the answer, that made the lease holder's client
/// wait for everyone's events and set the tail latency of every write under load. Spin lets a
/// guest keep running once its response is complete, so the client is answered first.
pub async fn send_then_forward(out: ResponseOutparam, response: Response, service: &str) {
    send(out, response, service).await;
    crate::outbox::forwarder::forward_deferred(service).await;
}

/// Whether a response with `status` has a body, and so a `content-length` (RFC 9110 8.6: none
/// on 1xx, 204 and 304).
fn has_body(status: u16) -> bool {
    !(100..200).contains(&status) && status != 204 && status != 304
}

#[cfg(test)]
mod tests {
    use super::has_body;

    #[test]
    fn only_statuses_with_a_body_get_a_content_length() {
        for status in [200, 201, 202, 400, 404, 500] {
            assert!(has_body(status), "{status}");
        }
        for status in [101, 204, 304] {
            assert!(!has_body(status), "{status}");
        }
    }
}
