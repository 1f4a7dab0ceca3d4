//! The HTTP listeners: the app's (Spin's built-in `/.well-known/spin/`
//! endpoints, routing, and the `spin-*` headers each component sees) and the
//! optional metrics one (`--metrics-listen`, `GET /metrics`).

use crate::authority;
use crate::loaded_app::LoadedApp;
use crate::manifest::TriggerTarget;
use crate::metrics::{self, Metrics};
use crate::runtime::{empty_response, AppRuntime};
use crate::spin_headers::SpinHeaders;
use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// How long a client may take to send a request's head.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long in-flight requests get to finish once shutdown starts.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then lets in-flight
/// requests finish (up to `SHUTDOWN_GRACE`) while refusing new ones.
pub async fn serve(
    app: Arc<AppRuntime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    accept_loop(listener, shutdown, move |peer| {
        let app = app.clone();
        hyper::service::service_fn(move |request| handle(app.clone(), request, peer))
    })
    .await
}

/// The metrics listener: `GET /metrics` in the OpenMetrics text format, `404`
/// for any other path. Stops like [`serve`].
pub async fn serve_metrics(
    metrics: Arc<Metrics>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    accept_loop(listener, shutdown, move |_peer| {
        let metrics = metrics.clone();
        hyper::service::service_fn(move |request| {
            let response = metrics_response(&metrics, &request);
            std::future::ready(Ok::<_, std::convert::Infallible>(response))
        })
    })
    .await
}

fn metrics_response(
    metrics: &Metrics,
    request: &http::Request<Incoming>,
) -> http::Response<HyperOutgoingBody> {
    if request.uri().path() != "/metrics" {
        return empty_response(404);
    }
    if !matches!(*request.method(), http::Method::GET | http::Method::HEAD) {
        let mut response = empty_response(405);
        response.headers_mut().insert(
            http::header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD"),
        );
        return response;
    }
    text_response(200, metrics::CONTENT_TYPE, metrics.encode())
}

/// The accept loop both listeners share: one hyper HTTP/1 connection per
/// client, `make_service` called with the peer's address.
async fn accept_loop<S>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    make_service: impl Fn(SocketAddr) -> S,
) -> Result<()>
where
    S: hyper::service::Service<
            http::Request<Incoming>,
            Response = http::Response<HyperOutgoingBody>,
        > + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(shutdown);
    let connections = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Running out of file descriptors is transient: back off.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = make_service(peer);
        // A client that never finishes its request head must not hold a
        // connection (and a task) forever.
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    Ok(())
}

/// One inbound request. An `Err` closes the connection without a response,
/// which is what Spin does for requests without a usable authority.
async fn handle(
    app: Arc<AppRuntime>,
    mut request: http::Request<Incoming>,
    peer: SocketAddr,
) -> Result<http::Response<HyperOutgoingBody>> {
    let path = request.uri().path().to_string();
    // One version for the whole request, even if a reload swaps meanwhile.
    let current = app.current();
    if let Some(rest) = path.strip_prefix("/.well-known/spin/") {
        return Ok(well_known(&current, rest));
    }
    let Some(matched) = current.router.route(&path) else {
        return Ok(empty_response(404));
    };
    match &matched.entry.target {
        TriggerTarget::Static(response) => Ok(static_response(response)),
        TriggerTarget::Component(id) => {
            let component = current
                .components
                .get(id)
                .cloned()
                .expect("routed components are loaded");
            let target = request.uri().authority().cloned();
            let inbound = authority::resolve(request.headers_mut(), target.as_ref())?;
            set_authority(&mut request, inbound.authority);
            // Spin refuses (500) only header values that are not UTF-8; `to_str` would also
            // refuse UTF-8 beyond visible ASCII, which Spin passes on.
            if request
                .headers()
                .values()
                .any(|value| std::str::from_utf8(value.as_bytes()).is_err())
            {
                return Ok(empty_response(500));
            }
            let host = inbound.host_header.as_deref().unwrap_or("localhost");
            SpinHeaders::inbound(request.uri(), host, &matched, peer)
                .append_to(request.headers_mut());
            Ok(app.invoke(&component, request).await)
        }
    }
}

/// Puts the decided authority into the request target, as Spin does, so the guest's
/// `authority` is that one whether it came from `Host` or from an absolute-form target.
fn set_authority(request: &mut http::Request<Incoming>, authority: http::uri::Authority) {
    let mut parts = std::mem::take(request.uri_mut()).into_parts();
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    *request.uri_mut() =
        http::Uri::from_parts(parts).expect("scheme, authority and path make a URI");
}

fn well_known(app: &LoadedApp, rest: &str) -> http::Response<HyperOutgoingBody> {
    match rest {
        "health" => text_response(200, "text/plain", "OK".into()),
        "info" => {
            let mut info = serde_json::json!({ "name": app.name });
            if !app.version.is_empty() {
                info["version"] = app.version.clone().into();
            }
            let body = serde_json::to_string_pretty(&info).expect("json value serialises");
            text_response(200, "application/json", body)
        }
        _ => empty_response(404),
    }
}

fn static_response(
    response: &crate::manifest::StaticResponse,
) -> http::Response<HyperOutgoingBody> {
    let mut out = text_response(response.status, "", response.body.clone());
    out.headers_mut().remove(http::header::CONTENT_TYPE);
    for (name, value) in &response.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value.as_str()),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

fn text_response(
    status: u16,
    content_type: &str,
    body: String,
) -> http::Response<HyperOutgoingBody> {
    let mut response = http::Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    if let Ok(value) = http::HeaderValue::try_from(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}
