//! The checks a request passes before it reaches a service, the same at the gateway and at the
//! edge middleware: what is read of the request, the preflight, the body's declared size, the
//! key with its rate count, the scope, and the headers every answer carries.

use std::time::Duration;

use service_kit::clock::now_millis;
use service_kit::request::read_body;
use service_kit::ApiError;
use spin_sdk::http::IncomingRequest;

use crate::access::{self, Credential, Refusal};
use crate::config::Settings;
use crate::forwarding::Header;
use crate::keys::KeyRecord;
use crate::keystore::KeyStore;
use crate::rate_limit::{self, Verdict};
use crate::reply::{Refused, Reply};
use crate::request_id;

/// What is read of a request before deciding anything.
pub struct RequestHead {
    pub method: String,
    pub path: String,
    /// `?` and the query, or empty.
    pub query: String,
    pub headers: Vec<Header>,
    pub request_id: String,
}

impl RequestHead {
    /// Reads the head; the request itself (its body) is left to whoever serves it.
    pub fn read(request: &IncomingRequest) -> RequestHead {
        let path_with_query = request.path_with_query().unwrap_or_default();
        // The header fields are a child resource of the request: dropped here, before the
        // request may be handed on whole.
        let headers: Vec<Header> = request
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        RequestHead::new(request.method().to_string(), &path_with_query, headers)
    }

    pub fn new(method: String, path_with_query: &str, headers: Vec<Header>) -> RequestHead {
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), format!("?{query}")),
            None => (path_with_query.to_owned(), String::new()),
        };
        let mut head = RequestHead {
            method,
            path,
            query,
            headers,
            request_id: String::new(),
        };
        head.request_id = request_id::accept_or_generate(head.header("x-request-id"));
        head
    }

    /// The first value of `name` (lowercase), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// Spin appends its own `spin-client-addr` after any the client sent, so the last is true.
    pub fn client_addr(&self) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == "spin-client-addr")
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    fn declared_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    pub fn is_preflight(&self) -> bool {
        self.method == "OPTIONS"
            && self.header("origin").is_some()
            && self.header("access-control-request-method").is_some()
    }
}

/// What the access log reports beyond the request itself.
#[derive(Debug, Default)]
pub struct Trace {
    pub key_id: Option<String>,
    pub rate: Option<Verdict>,
    pub upstream: Option<String>,
    pub upstream_time: Option<Duration>,
    pub cache: Option<&'static str>,
}

/// Refuses (413) a body declared larger than `limit` before anything else is done for it (no
/// key lookup, no rate count). The body is still read and dropped (up to a bound), so that a
/// client that is still sending gets to read the answer. Gives the request back otherwise.
pub async fn within_body_limit(
    head: &RequestHead,
    request: IncomingRequest,
    limit: usize,
) -> Result<IncomingRequest, Refused> {
    if head
        .declared_length()
        .is_none_or(|length| length <= limit as u64)
    {
        return Ok(request);
    }
    let refusal = read_body(request, limit).await.err();
    Err(refusal
        .unwrap_or_else(|| ApiError::too_large("request body too large"))
        .into())
}

/// The key the request carries, checked and counted; `None` for an anonymous request. A key
/// that is sent is always checked, even where none is needed.
pub fn authenticate(
    head: &RequestHead,
    settings: &Settings,
    trace: &mut Trace,
) -> Result<Option<KeyRecord>, Refused> {
    let token =
        match Credential::from_headers(head.header("authorization"), head.header("x-api-key")) {
            Credential::None => return Ok(None),
            Credential::Malformed => {
                return Err(invalid_token(
                    "send the key as Authorization: Bearer <key> or x-api-key: <key>",
                ))
            }
            Credential::Token(token) => token,
        };
    let Some(key) = KeyStore::open()?.authenticate(&token)? else {
        return Err(invalid_token("the API key is unknown or revoked"));
    };
    trace.key_id = Some(key.id.clone());
    let verdict = rate_limit::count_request(
        &key.id,
        key.rate_per_minute,
        now_millis(),
        settings.rate_window,
    )?;
    trace.rate = Some(verdict.clone());
    if let Some(retry_after) = verdict.retry_after {
        let message = format!(
            "rate limit of {} requests per {} reached; retry in {retry_after} s",
            verdict.limit,
            rate_limit::describe_window(settings.rate_window)
        );
        return Err(Refused(
            Reply::error(ApiError::new(429, message))
                .with_header("retry-after", &retry_after.to_string()),
        ));
    }
    Ok(Some(key))
}

/// The caller (`None`: anonymous) may make this request of `service`: it holds the scope the
/// method needs, or the service's reads are public.
pub fn authorize(
    caller: Option<&KeyRecord>,
    service: &str,
    head: &RequestHead,
    settings: &Settings,
) -> Result<(), Refused> {
    access::authorize(
        caller,
        service,
        &head.method,
        settings.is_public_read(service),
    )
    .map_err(refused)
}

fn invalid_token(message: &str) -> Refused {
    Refused(Reply::error(ApiError::new(401, message)).with_header(
        "www-authenticate",
        "Bearer realm=\"gateway\", error=\"invalid_token\"",
    ))
}

fn refused(refusal: Refusal) -> Refused {
    match refusal {
        Refusal::NoKey => Refused(
            Reply::error(ApiError::new(
                401,
                "this request needs an API key: send Authorization: Bearer <key> or x-api-key: <key>",
            ))
            .with_header("www-authenticate", "Bearer realm=\"gateway\""),
        ),
        Refusal::MissingScope(scope) => Refused(Reply::error(ApiError::new(
            403,
            format!("this key lacks the scope {scope}"),
        ))),
    }
}

/// The answer to a CORS preflight: 204 with what the origin may do, or 403 for an origin that
/// is not allowed.
pub fn preflight(settings: &Settings, head: &RequestHead) -> Result<Reply, Refused> {
    let origin = head.header("origin").unwrap_or_default();
    if !settings.cors.allows(origin) {
        return Err(ApiError::new(403, format!("origin {origin:?} is not allowed")).into());
    }
    let mut reply = Reply::empty(204);
    for (name, value) in settings
        .cors
        .preflight_headers(origin, head.header("access-control-request-headers"))
    {
        reply = reply.with_header(&name, &value);
    }
    Ok(reply)
}

/// The headers every answer carries: the request id, CORS for an allowed origin, and the rate
/// limit's state for a keyed request.
pub fn decorate(mut reply: Reply, settings: &Settings, head: &RequestHead, trace: &Trace) -> Reply {
    reply = reply.with_header("x-request-id", &head.request_id);
    if let Some(origin) = head.header("origin") {
        if settings.cors.allows(origin) && !reply.has_header("access-control-allow-origin") {
            for (name, value) in settings.cors.response_headers(origin) {
                reply = reply.with_header(&name, &value);
            }
        }
    }
    if let Some(rate) = &trace.rate {
        reply = reply
            .with_header("ratelimit-limit", &rate.limit.to_string())
            .with_header("ratelimit-remaining", &rate.remaining.to_string());
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, target: &str, headers: &[(&str, &str)]) -> RequestHead {
        let headers = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
            .collect();
        RequestHead::new(method.into(), target, headers)
    }

    fn settings() -> Settings {
        Settings::parse("visits,events", "visits", "https://app.example", "1024").unwrap()
    }

    #[test]
    fn head_splits_the_query_and_keeps_a_sane_request_id() {
        let head = head("GET", "/visits/a?day=1", &[("x-request-id", "abc-1")]);
        assert_eq!(
            (head.path.as_str(), head.query.as_str()),
            ("/visits/a", "?day=1")
        );
        assert_eq!(head.request_id, "abc-1");
        let fresh = self::head("GET", "/visits", &[("x-request-id", "bad id")]);
        assert_eq!(fresh.request_id.len(), 36, "a new UUID replaces an odd id");
    }

    #[test]
    fn the_last_client_address_is_spins() {
        let head = head(
            "GET",
            "/",
            &[
                ("spin-client-addr", "6.6.6.6:1"),
                ("spin-client-addr", "127.0.0.1:9"),
            ],
        );
        assert_eq!(head.client_addr(), Some("127.0.0.1:9"));
    }

    #[test]
    fn anonymous_callers_read_public_services_only() {
        let settings = settings();
        assert!(authorize(None, "visits", &head("GET", "/visits", &[]), &settings).is_ok());
        let Err(Refused(reply)) =
            authorize(None, "visits", &head("POST", "/visits", &[]), &settings)
        else {
            panic!("an anonymous write must be refused");
        };
        assert_eq!(reply.status, 401);
        assert!(reply.has_header("www-authenticate"));
    }

    #[test]
    fn a_key_without_the_scope_is_forbidden() {
        let key = KeyRecord {
            id: "k1".into(),
            name: "reader".into(),
            scopes: vec!["visits:read".into()],
            rate_per_minute: 60,
            created_at: "2026-01-01T00:00:00Z".into(),
            hash: String::new(),
        };
        let Err(Refused(reply)) = authorize(
            Some(&key),
            "events",
            &head("GET", "/events", &[]),
            &settings(),
        ) else {
            panic!("events:read is missing");
        };
        assert_eq!(reply.status, 403);
    }

    #[test]
    fn preflight_answers_allowed_origins_only() {
        let settings = settings();
        let allowed = head(
            "OPTIONS",
            "/visits",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
            ],
        );
        assert!(allowed.is_preflight());
        assert_eq!(preflight(&settings, &allowed).unwrap().status, 204);
        let other = head(
            "OPTIONS",
            "/visits",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
        );
        assert!(matches!(preflight(&settings, &other), Err(Refused(reply)) if reply.status == 403));
    }

    #[test]
    fn every_answer_carries_the_request_id_and_cors() {
        let head = head("GET", "/visits", &[("origin", "https://app.example")]);
        let reply = decorate(Reply::empty(200), &settings(), &head, &Trace::default());
        assert!(reply.has_header("x-request-id"));
        assert!(reply.has_header("access-control-allow-origin"));
        assert!(!reply.has_header("ratelimit-limit"));
    }
}
