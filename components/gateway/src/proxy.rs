//! One call to a service by service chaining: `http://<service>.spin.internal<path>`. Spin hands
//! it to the component in-process; the service's route (private) plays no part. Every call has a
//! deadline covering the answer and its body: a service that hangs (a store that does not answer,
//! say) costs the caller that long, never an indefinite wait.

use std::time::Duration;

use service_kit::deadline;
use spin_sdk::http::conversions::TryIntoOutgoingRequest;

use crate::forwarding::Header;

/// A service's whole answer.
pub struct Upstream {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

/// Why a call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The service could not be reached or gave no usable answer (the caller answers 502).
    Failed(String),
    /// No whole answer within the deadline (the caller answers 504).
    TimedOut(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Failed(why) | CallError::TimedOut(why) => f.write_str(why),
        }
    }
}

/// Sends the request and reads the whole response within `limit`.
pub async fn call(
    service: &str,
    method: &str,
    path_and_query: &str,
    headers: &[Header],
    body: Vec<u8>,
    limit: Duration,
) -> Result<Upstream, CallError> {
    let exchange = exchange(service, method, path_and_query, headers, body);
    match deadline::within(limit, exchange).await {
        Ok(answer) => answer.map_err(CallError::Failed),
        Err(timed_out) => Err(CallError::TimedOut(format!("{service} {timed_out}"))),
    }
}

async fn exchange(
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
    // A service may answer without reading the body (a refusal, say): the answer is what counts.
    let sent = service_kit::outgoing::send(request, body, None).await;
    let response = match sent.response {
        Ok(response) => response,
        Err(Some(code)) => return Err(format!("{service} is unreachable: {code:?}")),
        Err(None) => {
            let write = sent
                .body_written
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

/// A `GET` of one of the service's own documents (health, contract) as JSON.
pub async fn get_json(
    service: &str,
    path: &str,
    request_id: &str,
    limit: Duration,
) -> Result<(u16, serde_json::Value), CallError> {
    let headers = [("x-request-id".to_owned(), request_id.as_bytes().to_vec())];
    let upstream = call(service, "GET", path, &headers, Vec::new(), limit).await?;
    let json = serde_json::from_slice(&upstream.body).map_err(|err| {
        CallError::Failed(format!(
            "{service} answered {} with a body that is not JSON: {err}",
            upstream.status
        ))
    })?;
    Ok((upstream.status, json))
}
