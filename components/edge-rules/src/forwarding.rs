//! Which headers cross the gateway. A request keeps its end-to-end headers; hop-by-hop headers
//! stay on their hop; credentials stop here; and anything a service could take for the gateway's
//! word about the caller is removed before the gateway sets its own.

/// A header as it travels: lowercase name, raw value.
pub type Header = (String, Vec<u8>);

/// Hop-by-hop headers (RFC 9110 section 7.6.1) and others the HTTP layer sets itself.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Request headers that end at the gateway: the caller's secrets.
const CREDENTIALS: [&str; 2] = ["authorization", "x-api-key"];

/// Prefixes of headers that only the gateway (or Spin) may set for a service.
const IDENTITY_PREFIXES: [&str; 3] = ["x-gateway-", "spin-", "x-forwarded-"];

/// The name of a header only the gateway sets: the caller's identity as it vouches for it. The
/// edge middleware, which cannot remove a header before the service reads it, refuses these.
pub fn poses_as_gateway(name: &str) -> bool {
    name.starts_with("x-gateway-")
}

/// What the gateway tells a service about the request.
pub struct Identity<'a> {
    pub request_id: &'a str,
    /// The key's id; `None` for anonymous callers.
    pub key_id: Option<&'a str>,
    pub scopes: &'a [String],
    /// The client's address as Spin saw it.
    pub client_addr: Option<&'a str>,
}

/// The headers sent to a service for a client request with `incoming` headers.
pub fn upstream_headers(incoming: &[Header], identity: &Identity) -> Vec<Header> {
    let dropped = connection_listed(incoming);
    let mut headers: Vec<Header> = incoming
        .iter()
        .filter(|(name, _)| {
            !is_hop_by_hop(name, &dropped)
                && !CREDENTIALS.contains(&name.as_str())
                && !is_identity(name)
                && name != "content-length"
                && name != "x-request-id"
        })
        .cloned()
        .collect();
    let mut set = |name: &str, value: &str| headers.push((name.to_owned(), value.into()));
    set("x-request-id", identity.request_id);
    if let Some(key_id) = identity.key_id {
        set("x-gateway-key-id", key_id);
        set("x-gateway-scopes", &identity.scopes.join(" "));
    }
    if let Some(addr) = identity.client_addr {
        set("x-forwarded-for", client_ip(addr));
    }
    headers
}

/// The headers of a service's response passed on to the client. The length is set anew, and
/// CORS is the gateway's policy alone, so a service's own CORS headers are dropped.
pub fn downstream_headers(upstream: &[Header]) -> Vec<Header> {
    let dropped = connection_listed(upstream);
    upstream
        .iter()
        .filter(|(name, _)| {
            !is_hop_by_hop(name, &dropped)
                && name != "content-length"
                && name != "x-request-id"
                && !name.starts_with("access-control-")
        })
        .cloned()
        .collect()
}

fn is_identity(name: &str) -> bool {
    name == "forwarded"
        || IDENTITY_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

fn is_hop_by_hop(name: &str, connection_listed: &[String]) -> bool {
    HOP_BY_HOP.contains(&name) || connection_listed.iter().any(|listed| listed == name)
}

/// Header names a `Connection` header declares hop-by-hop.
fn connection_listed(headers: &[Header]) -> Vec<String> {
    headers
        .iter()
        .filter(|(name, _)| name == "connection")
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .filter(|token| !token.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `127.0.0.1:5000` -> `127.0.0.1`; `[::1]:5000` -> `::1`.
fn client_ip(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            host.trim_start_matches('[').trim_end_matches(']')
        }
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
            .collect()
    }

    fn values<'a>(headers: &'a [Header], name: &str) -> Vec<&'a str> {
        headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| std::str::from_utf8(value).unwrap())
            .collect()
    }

    #[test]
    fn only_the_gateways_own_headers_pose_as_it() {
        assert!(poses_as_gateway("x-gateway-key-id"));
        assert!(poses_as_gateway("x-gateway-scopes"));
        for name in ["x-request-id", "x-forwarded-for", "gateway", "x-gatewayish"] {
            assert!(!poses_as_gateway(name), "{name}");
        }
    }

    #[test]
    fn spoofed_identity_and_credentials_do_not_pass() {
        let incoming = headers(&[
            ("accept", "application/json"),
            ("authorization", "Bearer secret"),
            ("x-api-key", "secret"),
            ("x-gateway-key-id", "key_admin"),
            ("x-gateway-scopes", "support:write"),
            ("spin-path-info", "/admin"),
            ("x-forwarded-for", "10.0.0.1"),
            ("forwarded", "for=10.0.0.1"),
            ("x-request-id", "client-chosen"),
            ("if-match", "\"3\""),
            ("if-match", "\"4\""),
        ]);
        let scopes = vec!["support:read".to_owned()];
        let sent = upstream_headers(
            &incoming,
            &Identity {
                request_id: "rid-1",
                key_id: Some("key_1"),
                scopes: &scopes,
                client_addr: Some("[::1]:51000"),
            },
        );
        assert_eq!(values(&sent, "accept"), ["application/json"]);
        assert_eq!(values(&sent, "if-match"), ["\"3\"", "\"4\""]);
        assert!(values(&sent, "authorization").is_empty());
        assert!(values(&sent, "x-api-key").is_empty());
        assert!(values(&sent, "spin-path-info").is_empty());
        assert!(values(&sent, "forwarded").is_empty());
        assert_eq!(values(&sent, "x-gateway-key-id"), ["key_1"]);
        assert_eq!(values(&sent, "x-gateway-scopes"), ["support:read"]);
        assert_eq!(values(&sent, "x-forwarded-for"), ["::1"]);
        assert_eq!(values(&sent, "x-request-id"), ["rid-1"]);
    }

    #[test]
    fn anonymous_callers_get_no_identity_headers() {
        let sent = upstream_headers(
            &headers(&[("x-gateway-key-id", "key_admin")]),
            &Identity {
                request_id: "rid",
                key_id: None,
                scopes: &[],
                client_addr: None,
            },
        );
        assert!(values(&sent, "x-gateway-key-id").is_empty());
        assert!(values(&sent, "x-gateway-scopes").is_empty());
    }

    #[test]
    fn hop_by_hop_headers_stay_on_their_hop() {
        let incoming = headers(&[
            ("connection", "keep-alive, x-trace-hop"),
            ("keep-alive", "timeout=5"),
            ("x-trace-hop", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("content-length", "12"),
            ("access-control-allow-origin", "*"),
            ("content-type", "application/json"),
        ]);
        let sent = downstream_headers(&incoming);
        assert_eq!(sent, headers(&[("content-type", "application/json")]));
    }
}
