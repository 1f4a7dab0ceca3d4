//! A request's way through the gateway: preflight, route, authenticate, count, authorize, read
//! the body, pass it on; then the headers every answer carries (request id, CORS, rate limit).

use std::time::Instant;

use edge_rules::guard::{authenticate, authorize, decorate, preflight, within_body_limit};
use serde_json::json;
use service_kit::clock::now_millis;
use service_kit::request::read_body;
use service_kit::ApiError;
use spin_sdk::http::IncomingRequest;

pub use edge_rules::guard::{RequestHead, Trace};

use crate::access;
use crate::cache::{self, Lookup};
use crate::config::Settings;
use crate::forwarding::{downstream_headers, upstream_headers, Identity};
use crate::keys::KeyRecord;
use crate::proxy::CallError;
use crate::reply::{method_not_allowed, Refused, Reply};
use crate::route::{self, Route};
use crate::{admin, proxy, registry};

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
    let request = within_body_limit(head, request, body_limit).await?;
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
            authorize(caller.as_ref(), service, head, settings)?;
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
