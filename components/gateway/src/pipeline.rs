//! A request's way through the gateway: preflight, route, authenticate, count, authorize, read
//! the body, pass it on; then the headers every answer carries (request id, CORS, rate limit).

use std::time::{Duration, Instant};

use serde_json::json;
use service_kit::clock::now_millis;
use service_kit::request::read_body;
use service_kit::ApiError;
use spin_sdk::http::IncomingRequest;

use crate::access::{self, Credential, Refusal};
use crate::cache::{self, Lookup};
use crate::config::Settings;
use crate::forwarding::{downstream_headers, upstream_headers, Header, Identity};
use crate::keys::KeyRecord;
use crate::keystore::KeyStore;
use crate::proxy::CallError;
use crate::rate_limit::{self, Verdict};
use crate::reply::{method_not_allowed, Refused, Reply};
use crate::route::{self, Route};
use crate::{admin, proxy, registry, request_id};

/// What the gateway reads of a request before deciding anything.
pub struct RequestHead {
    pub method: String,
    pub path: String,
    /// `?` and the query, or empty.
    pub query: String,
    pub headers: Vec<Header>,
    pub request_id: String,
}

impl RequestHead {
    pub fn read(request: &IncomingRequest) -> RequestHead {
        let path_with_query = request.path_with_query().unwrap_or_default();
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), format!("?{query}")),
            None => (path_with_query, String::new()),
        };
        let headers: Vec<Header> = request
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        let mut head = RequestHead {
            method: request.method().to_string(),
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
    fn client_addr(&self) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == "spin-client-addr")
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    fn declared_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    fn is_preflight(&self) -> bool {
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

/// The whole answer to a request, every header included.
pub async fn serve(head: &RequestHead, request: IncomingRequest, trace: &mut Trace) -> Reply {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => return Reply::error(err).with_header("x-request-id", &head.request_id),
    };
    let reply = match dispatch(&settings, head, request, trace).await {
        Ok(reply) | Err(Refused(reply)) => reply,
    };
    decorate(reply, &settings, head, trace)
}

async fn dispatch(
    settings: &Settings,
    head: &RequestHead,
    request: IncomingRequest,
    trace: &mut Trace,
) -> Result<Reply, Refused> {
    if head.is_preflight() {
        return preflight(settings, head);
    }
    let route = route::route(&head.path, &settings.services);
    let body_limit = match route {
        Route::Keys | Route::Key(_) => admin::MAX_BODY_BYTES.min(settings.max_body_bytes),
        _ => settings.max_body_bytes,
    };
    // A body declared too large is refused before anything else is done for it (no key lookup,
    // no rate count). It is still read and dropped (up to a bound), so that a client that is
    // still sending gets to read the 413.
    if head
        .declared_length()
        .is_some_and(|length| length > body_limit as u64)
    {
        let refusal = read_body(request, body_limit).await.err();
        return Err(refusal
            .unwrap_or_else(|| ApiError::too_large("request body too large"))
            .into());
    }
    match &route {
        Route::Keys | Route::Key(_) => {
            admin::authorize(head.header("authorization"))?;
            let body = read_body(request, body_limit).await?;
            admin::serve(
                &route,
                &head.method,
                head.header("content-type"),
                &body,
                settings,
            )
        }
        Route::Health | Route::ServiceList | Route::ServiceEntry(_) | Route::ServiceContract(_) => {
            if !access::is_read(&head.method) {
                return Err(method_not_allowed(&head.method, "GET, HEAD"));
            }
            authenticate(head, settings, trace)?;
            Ok(discovery(&route, settings, &head.request_id).await)
        }
        Route::Upstream(service) => {
            let caller = authenticate(head, settings, trace)?;
            access::authorize(
                caller.as_ref(),
                service,
                &head.method,
                settings.is_public_read(service),
            )
            .map_err(refused)?;
            let caller = caller.as_ref();
            if settings.is_cached(service) {
                return through_cache(settings, service, head, caller, request, body_limit, trace)
                    .await;
            }
            let body = read_body(request, body_limit).await?;
            Ok(pass_on(settings, service, head, caller, body, trace).await)
        }
        Route::NotFound => Err(ApiError::not_found(format!(
            "nothing at {}: services are reached under /<service>/...; GET /services lists them",
            head.path
        ))
        .into()),
    }
}

async fn discovery(route: &Route, settings: &Settings, request_id: &str) -> Reply {
    match route {
        Route::Health => {
            registry::health(&settings.services, request_id, settings.health_timeout).await
        }
        Route::ServiceList => {
            let entries =
                registry::entries(&settings.services, request_id, settings.health_timeout).await;
            Reply::json(200, &json!({ "services": entries }))
        }
        Route::ServiceEntry(name) | Route::ServiceContract(name)
            if !settings.is_registered(name) =>
        {
            Reply::error(ApiError::not_found(format!(
                "no service {name:?}; GET /services lists them"
            )))
        }
        Route::ServiceEntry(name) => {
            let entries = registry::entries(
                std::slice::from_ref(name),
                request_id,
                settings.health_timeout,
            )
            .await;
            Reply::json(200, &entries[0])
        }
        Route::ServiceContract(name) => {
            registry::contract(name, request_id, settings.health_timeout).await
        }
        _ => Reply::error(ApiError::not_found("not a discovery resource")),
    }
}

/// The key the request carries, checked and counted; `None` for an anonymous request. A key
/// that is sent is always checked, even where none is needed.
fn authenticate(
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

/// A request to a service whose reads are cached: reads may be answered from the cache, and
/// anything else invalidates it once the service has answered. Cache trouble never fails the
/// request; it is logged and the request is passed on as if there were no cache.
async fn through_cache(
    settings: &Settings,
    service: &str,
    head: &RequestHead,
    caller: Option<&KeyRecord>,
    request: IncomingRequest,
    body_limit: usize,
    trace: &mut Trace,
) -> Result<Reply, Refused> {
    if !cache::is_cacheable(&head.method, &head.path) {
        let body = read_body(request, body_limit).await?;
        let reply = pass_on(settings, service, head, caller, body, trace).await;
        if !access::is_read(&head.method) {
            if let Err(err) = cache::invalidate(service) {
                eprintln!("gateway: cache of {service} NOT invalidated after a write: {err:?}");
            }
        }
        return Ok(reply);
    }
    let key = format!("{}{}", head.path, head.query);
    // `Cache-Control: no-cache` asks for the service's own answer (which then refreshes the cache).
    let ttl_millis = if head
        .header("cache-control")
        .is_some_and(cache::forbids_cached_answer)
    {
        0
    } else {
        settings.cache_ttl_millis
    };
    let generation = match cache::lookup(service, &key, now_millis(), ttl_millis) {
        // A hit never reads the request's body: a GET's body means nothing to a cached read.
        Ok(Lookup::Hit(reply)) => {
            trace.cache = Some("hit");
            return Ok(reply.with_header("x-gateway-cache", "hit"));
        }
        Ok(Lookup::Miss { generation }) => Some(generation),
        Err(err) => {
            eprintln!("gateway: cache lookup failed: {err:?}");
            None
        }
    };
    let body = read_body(request, body_limit).await?;
    let reply = pass_on(settings, service, head, caller, body, trace).await;
    let Some(generation) = generation else {
        return Ok(reply);
    };
    trace.cache = Some("miss");
    if let Err(err) = cache::store(&key, &generation, &reply, now_millis()) {
        eprintln!("gateway: cache store failed: {err:?}");
    }
    Ok(reply.with_header("x-gateway-cache", "miss"))
}

async fn pass_on(
    settings: &Settings,
    service: &str,
    head: &RequestHead,
    caller: Option<&KeyRecord>,
    body: Vec<u8>,
    trace: &mut Trace,
) -> Reply {
    let identity = Identity {
        request_id: &head.request_id,
        key_id: caller.map(|key| key.id.as_str()),
        scopes: caller.map(|key| key.scopes.as_slice()).unwrap_or_default(),
        client_addr: head.client_addr(),
    };
    let headers = upstream_headers(&head.headers, &identity);
    let path_and_query = format!("{}{}", head.path, head.query);
    trace.upstream = Some(service.to_owned());
    let started = Instant::now();
    let answer = proxy::call(
        service,
        &head.method,
        &path_and_query,
        &headers,
        body,
        settings.upstream_timeout,
    )
    .await;
    trace.upstream_time = Some(started.elapsed());
    match answer {
        Ok(upstream) => Reply {
            status: upstream.status,
            headers: downstream_headers(&upstream.headers),
            body: upstream.body,
        },
        Err(CallError::Failed(why)) => Reply::error(ApiError {
            detail: Some(why),
            ..ApiError::new(502, format!("the {service} service could not be reached"))
        }),
        Err(CallError::TimedOut(why)) => Reply::error(ApiError {
            detail: Some(why),
            ..ApiError::new(
                504,
                format!(
                    "the {service} service did not answer within {} ms",
                    settings.upstream_timeout.as_millis()
                ),
            )
        }),
    }
}

fn preflight(settings: &Settings, head: &RequestHead) -> Result<Reply, Refused> {
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
fn decorate(mut reply: Reply, settings: &Settings, head: &RequestHead, trace: &Trace) -> Reply {
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
