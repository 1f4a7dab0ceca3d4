//! The `spin-*` request headers: how a component learns the route and URL it
//! was reached by. Spin appends them after the client's own headers.

use crate::routes::{param_header_name, RouteMatch};
use std::net::SocketAddr;

/// The values behind the headers for one request.
pub struct SpinHeaders {
    full_url: String,
    path_info: String,
    matched_route: String,
    raw_component_route: String,
    component_route: String,
    client_addr: String,
    params: Vec<(String, String)>,
}

impl SpinHeaders {
    /// A request that came in over HTTP and matched a route.
    pub fn inbound(
        uri: &http::Uri,
        host: &str,
        matched: &RouteMatch<'_>,
        peer: SocketAddr,
    ) -> SpinHeaders {
        SpinHeaders {
            full_url: format!("http://{host}{}", path_and_query(uri)),
            path_info: matched.path_info.clone(),
            matched_route: matched.entry.matched.clone(),
            raw_component_route: matched.entry.raw.clone(),
            component_route: matched.entry.component_route.clone(),
            client_addr: peer.to_string(),
            params: matched.params.clone(),
        }
    }

    /// A service-chained request: no routing, so the whole path is the path info.
    pub fn chained(uri: &http::Uri) -> SpinHeaders {
        SpinHeaders {
            full_url: format!("http://localhost{}", path_and_query(uri)),
            path_info: uri.path().to_string(),
            matched_route: "/...".into(),
            raw_component_route: "/...".into(),
            component_route: String::new(),
            client_addr: "0.0.0.0:0".into(),
            params: Vec::new(),
        }
    }

    /// Appends the headers; the client's own `spin-*` headers stay, as in Spin.
    pub fn append_to(self, headers: &mut http::HeaderMap) {
        let fixed = [
            ("spin-full-url".to_string(), self.full_url),
            ("spin-path-info".to_string(), self.path_info),
            ("spin-matched-route".to_string(), self.matched_route),
            ("spin-base-path".to_string(), "/".to_string()),
            (
                "spin-raw-component-route".to_string(),
                self.raw_component_route,
            ),
            ("spin-component-route".to_string(), self.component_route),
            ("spin-client-addr".to_string(), self.client_addr),
        ];
        let params = self
            .params
            .into_iter()
            .map(|(name, value)| (param_header_name(&name), value));
        for (name, value) in fixed.into_iter().chain(params) {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(name),
                http::HeaderValue::try_from(value),
            ) {
                headers.append(name, value);
            }
        }
    }
}

fn path_and_query(uri: &http::Uri) -> &str {
    uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
}
