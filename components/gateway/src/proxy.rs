//! One call to a service by service chaining: `http://<service>.spin.internal<path>`. Spin hands
//! it to the component in-process; the service's route (private) plays no part.

use std::future::poll_fn;
use std::task::Poll;

use futures::SinkExt;
use spin_sdk::http::conversions::TryIntoOutgoingRequest;
use spin_sdk::http::{ErrorCode, IncomingResponse};
use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::FutureIncomingResponse;

use crate::forwarding::Header;

/// A service's whole answer.
pub struct Upstream {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

/// Sends the request and reads the whole response; `Err` says why the service could not be
/// reached (the caller answers 502).
pub async fn call(
    service: &str,
    method: &str,
    path_and_query: &str,
    headers: &[Header],
    body: Vec<u8>,
) -> Result<Upstream, String> {
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("method {method:?} cannot be sent"))?;
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("http://{service}.spin.internal{path_and_query}"));
    for (name, value) in headers {
        // Names and values came in over HTTP, so they parse; anything odd is left behind.
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            builder = builder.header(name.as_str(), value);
        }
    }
    let request = builder
        .body(body)
        .map_err(|err| format!("request to {service}: {err}"))?;
    let (request, body) = request
        .try_into_outgoing_request()
        .map_err(|err| format!("request to {service}: {err}"))?;
    let mut sink = request.take_body();
    let pending = outgoing_handler::handle(request, None)
        .map_err(|code| format!("{service} is unreachable: {code:?}"))?;
    // A service may answer without reading the body (a refusal, say): the write then fails,
    // and the answer is what counts.
    let written = match body {
        Some(body) if !body.is_empty() => sink.send(body).await,
        _ => Ok(()),
    };
    drop(sink);
    let response = match response_of(&pending).await {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(format!("{service} is unreachable: {code:?}")),
        _ => {
            let write = written
                .err()
                .map(|err| format!(" (sending the body: {err})"));
            return Err(format!(
                "{service} gave no answer{}",
                write.unwrap_or_default()
            ));
        }
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    let body = response
        .into_body()
        .await
        .map_err(|err| format!("{service}: reading the response: {err:?}"))?;
    Ok(Upstream {
        status,
        headers,
        body,
    })
}

/// Waits for the response without polling in a loop: the executor wakes the task when the
/// host says the response is there.
async fn response_of(
    pending: &FutureIncomingResponse,
) -> Option<Result<Result<IncomingResponse, ErrorCode>, ()>> {
    let mut token = None;
    let response = poll_fn(|context| match pending.get() {
        Some(result) => Poll::Ready(Some(result)),
        None => {
            token = Some(spin_executor::CancelOnDropToken::from(
                spin_executor::push_waker_and_get_token(
                    pending.subscribe(),
                    context.waker().clone(),
                ),
            ));
            Poll::Pending
        }
    })
    .await;
    drop(token);
    response
}

/// A `GET` of one of the service's own documents (health, contract) as JSON.
pub async fn get_json(
    service: &str,
    path: &str,
    request_id: &str,
) -> Result<(u16, serde_json::Value), String> {
    let headers = [("x-request-id".to_owned(), request_id.as_bytes().to_vec())];
    let upstream = call(service, "GET", path, &headers, Vec::new()).await?;
    let json = serde_json::from_slice(&upstream.body).map_err(|err| {
        format!(
            "{service} answered {} with a body that is not JSON: {err}",
            upstream.status
        )
    })?;
    Ok((upstream.status, json))
}
