//! The outgoing-request hook of every instance: Spin's allow check, service
//! chaining to `http://<component>.spin.internal` (dispatched in-process) and
//! self requests (sent to this host's own listener).

use super::allowed_hosts::{default_port, OutboundRules};
use http::uri::Authority;
use std::net::SocketAddr;
use std::sync::Arc;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// The application as the chaining hook sees it: where self requests go,
/// and how a request reaches another component in-process. Implemented by
/// the runtime, so this capability never holds the runtime itself.
pub trait ServiceChain: Send + Sync {
    /// The configured listen address; self requests are sent here.
    fn listen_addr(&self) -> SocketAddr;
    /// Hands `request` to component `target`, whatever its route.
    fn send_chained(
        self: Arc<Self>,
        target: String,
        request: http::Request<WasiBody>,
    ) -> ResponseFuture;
}

/// The capability's per-component state.
pub struct OutboundComponent {
    pub(super) id: String,
    pub(super) rules: OutboundRules,
}

/// Per-instance hooks: the allow check, chaining and self requests.
pub struct OutboundHooks {
    pub(super) chain: Arc<dyn ServiceChain>,
    pub(super) component: Arc<OutboundComponent>,
}

/// What wasi-http's hook returns: the response, and a future for the rest
/// of the exchange.
pub type ResponseFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let uri = request.uri().clone();
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        let port = uri
            .port_u16()
            .or_else(|| default_port(&scheme))
            .unwrap_or(80);

        if let Some(target) = host.strip_suffix(".spin.internal") {
            if !self.component.rules.allows(&scheme, &host, port) {
                return self.deny(&scheme, &host, uri.port_u16());
            }
            // Chained requests never carry the caller's Host header.
            request.headers_mut().remove(http::header::HOST);
            return self.chain.clone().send_chained(target.to_string(), request);
        }

        if host.is_empty() || host == "self.alt" {
            if !self.component.rules.allows_self() {
                return self.deny(&scheme, "self", uri.port_u16());
            }
            // Self requests go to this host's own listener, routed like any other.
            let addr = self.chain.listen_addr();
            let mut parts = uri.into_parts();
            parts.scheme = Some(http::uri::Scheme::HTTP);
            parts.authority = Authority::try_from(addr.to_string()).ok();
            if parts.path_and_query.is_none() {
                parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
            }
            *request.uri_mut() = match http::Uri::from_parts(parts) {
                Ok(uri) => uri,
                Err(_) => return Box::new(async { Err(HttpError::HttpRequestUriInvalid) }),
            };
            request.headers_mut().insert(
                http::header::HOST,
                addr.to_string()
                    .parse()
                    .expect("socket address is a valid header"),
            );
            return send_over_network(request, options);
        }

        if !self.component.rules.allows(&scheme, &host, port) {
            return self.deny(&scheme, &host, uri.port_u16());
        }
        send_over_network(request, options)
    }
}

impl OutboundHooks {
    fn deny(&self, scheme: &str, host: &str, port: Option<u16>) -> ResponseFuture {
        let destination = match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        eprintln!(
            "Warning: A component tried to make an outbound network connection to disallowed destination '{destination}'.\n\
             To allow this request, add 'allowed_outbound_hosts = [\"{destination}\"]' to the manifest component section for '{}'.",
            self.component.id
        );
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

fn send_over_network(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> ResponseFuture {
    Box::new(async move {
        use http_body_util::BodyExt;
        let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
        Ok((
            response.map(BodyExt::boxed_unsync),
            Box::new(io) as Box<dyn std::future::Future<Output = Result<(), HttpError>> + Send>,
        ))
    })
}
