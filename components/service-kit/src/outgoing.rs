//! Sending a request through `wasi:http` directly, for callers that need what
//! `spin_sdk::http::send` does not give: request options (timeouts), and the answer of a
//! receiver that refuses before reading the whole body. `send` writes the body first and
//! reports the failed write instead of the answer; here the answer still counts.
//!
//! [`request`] builds the request from a URL without spin-sdk's `Request` conversion, whose
//! `anyhow` errors (and URL parsing with the `http` crate) cost a component about 45 KB: see
//! [`reply`](crate::reply).

use std::future::poll_fn;
use std::task::Poll;

use futures::SinkExt;
use spin_sdk::http::{ErrorCode, Headers, IncomingResponse, Method, OutgoingRequest, Scheme};
use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::RequestOptions;

/// What became of a request: the answer (or the error code saying why there is none; `None`
/// when the host gave neither), and whether the whole body was written.
pub struct Sent {
    pub response: Result<IncomingResponse, Option<ErrorCode>>,
    /// Why the body could not be written in full, if it could not.
    pub body_written: Result<(), String>,
}

/// An outgoing request for `method` and `url` with `headers`, as spin-sdk's `Request` would
/// send it (see [`split_url`]). An error names what the host refused.
pub fn request(
    method: &Method,
    url: &str,
    headers: &[(&str, &[u8])],
) -> Result<OutgoingRequest, String> {
    let fields: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.to_vec()))
        .collect();
    let headers = Headers::from_list(&fields).map_err(|err| format!("invalid headers: {err:?}"))?;
    let request = OutgoingRequest::new(headers);
    let target = split_url(url);
    request
        .set_method(method)
        .map_err(|()| format!("invalid method {method}"))?;
    request
        .set_scheme(Some(&target.scheme))
        .map_err(|()| format!("invalid scheme in {url:?}"))?;
    request
        .set_authority(Some(target.authority))
        .map_err(|()| format!("invalid host in {url:?}"))?;
    request
        .set_path_with_query(Some(&target.path_and_query))
        .map_err(|()| format!("invalid path in {url:?}"))?;
    Ok(request)
}

/// Where a URL points, in the parts `wasi:http` takes.
#[derive(Debug)]
pub struct UrlParts<'a> {
    pub scheme: Scheme,
    pub authority: &'a str,
    pub path_and_query: String,
}

/// Splits `url` as spin-sdk does for an outgoing request: `https://` (any case) is https, any
/// other scheme or none is http; a bare path (`/...`), which has neither, goes out as spin-sdk
/// sends it, https to the authority `:443`. The fragment is dropped and an empty path is `/`.
/// Whether the parts are valid is left to the host.
pub fn split_url(url: &str) -> UrlParts<'_> {
    let url = url.split('#').next().unwrap_or_default();
    if url.starts_with('/') {
        return UrlParts {
            scheme: Scheme::Https,
            authority: ":443",
            path_and_query: url.to_owned(),
        };
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((name, rest)) if name.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
        Some((_, rest)) => (Scheme::Http, rest),
        None => (Scheme::Http, url),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(end);
    let path_and_query = match path_and_query.starts_with('/') {
        true => path_and_query.to_owned(),
        false => format!("/{path_and_query}"),
    };
    UrlParts {
        scheme,
        authority,
        path_and_query,
    }
}

/// Sends `request` with `body` and waits for the answer without busy polling: the executor
/// wakes the task when the host has it.
pub async fn send(
    request: OutgoingRequest,
    body: Option<Vec<u8>>,
    options: Option<RequestOptions>,
) -> Sent {
    let mut sink = request.take_body();
    let pending = match outgoing_handler::handle(request, options) {
        Ok(pending) => pending,
        Err(code) => {
            return Sent {
                response: Err(Some(code)),
                body_written: Ok(()),
            }
        }
    };
    let body_written = match body {
        Some(body) if !body.is_empty() => sink.send(body).await.map_err(|err| err.to_string()),
        _ => Ok(()),
    };
    // Dropping the sink finishes the body.
    drop(sink);
    let mut token = None;
    let answer = poll_fn(|context| match pending.get() {
        Some(result) => Poll::Ready(result),
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
    let response = match answer {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(code)) => Err(Some(code)),
        Err(()) => Err(None),
    };
    Sent {
        response,
        body_written,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, String, String) {
        let parts = split_url(url);
        let scheme = match parts.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Other(_) => "other",
        };
        (
            scheme.into(),
            parts.authority.to_owned(),
            parts.path_and_query,
        )
    }

    fn expected(scheme: &str, authority: &str, path: &str) -> (String, String, String) {
        (scheme.into(), authority.into(), path.into())
    }

    #[test]
    fn urls_split_as_spin_sdk_splits_them() {
        for (url, scheme, authority, path) in [
            // Absolute URLs: scheme, authority, and the path with its query (no fragment).
            (
                "http://events.spin.internal/events/t?x=1#frag",
                "http",
                "events.spin.internal",
                "/events/t?x=1",
            ),
            ("HTTPS://127.0.0.1:8443", "https", "127.0.0.1:8443", "/"),
            ("http://h:1?q", "http", "h:1", "/?q"),
            // Anything but https is sent as http; a bare path goes as spin-sdk sends it.
            ("example.com/a", "http", "example.com", "/a"),
            ("ftp://example.com", "http", "example.com", "/"),
            ("/events/t", "https", ":443", "/events/t"),
        ] {
            assert_eq!(parts(url), expected(scheme, authority, path), "{url}");
        }
    }
}
