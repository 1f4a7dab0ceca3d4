//! One call to a service by service chaining: `http://<service>.spin.internal<path>`. Spin hands
//! it to the component in-process; the service's route (private) plays no part.

use spin_sdk::http::conversions::TryIntoOutgoingRequest;

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
