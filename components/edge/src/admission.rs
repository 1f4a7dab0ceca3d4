//! Whether a request may reach the guarded service: the gateway's checks, in the gateway's
//! order, with the limits of a `wasi:http` 0.2 middleware:
//!
//! - the request reaches the service as the client sent it, so the edge cannot strip or add
//!   headers: a request carrying the gateway's identity headers (`x-gateway-*`) is refused
//!   instead (400), and the service reads the client's own `x-request-id`, if any;
//! - the edge does not see the service's answer, so only answers it makes itself (refusals,
//!   preflights) carry the request id, CORS and rate-limit headers, and reads are not cached;
//!   writes still start a new cache generation, so that a gateway caching the same service
//!   never serves what they changed;
//! - a body is refused by its declared length only; a streamed one is the service's to bound.

use edge_rules::access;
use edge_rules::cache;
use edge_rules::config::Settings;
use edge_rules::forwarding::poses_as_gateway;
use edge_rules::guard::{
    authenticate, authorize, decorate, preflight, within_body_limit, RequestHead, Trace,
};
use edge_rules::reply::{Refused, Reply};
use service_kit::ApiError;
use spin_sdk::wit::wasi::http0_2_0::types::IncomingRequest;

/// The variable naming the service this edge guards (a name of the `services` registry).
pub const SERVICE_VARIABLE: &str = "edge_service";

/// What the edge decided about a request.
pub enum Admission {
    /// The edge answers itself: a refusal or a preflight, every header set.
    Answered(Reply),
    /// The service gets the request; `after` runs once it has answered.
    Admitted {
        request: IncomingRequest,
        service: String,
        after: AfterService,
    },
}

/// What is left to do once the service has answered an admitted request.
pub struct AfterService {
    /// The cached service a write went to, whose cache generation must change.
    invalidate: Option<String>,
}

impl AfterService {
    pub fn run(self) {
        if let Some(service) = self.invalidate {
            if let Err(err) = cache::invalidate(&service) {
                eprintln!("edge: cache of {service} NOT invalidated after a write: {err:?}");
            }
        }
    }
}

pub async fn admit(head: &RequestHead, request: IncomingRequest, trace: &mut Trace) -> Admission {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            return Admission::Answered(
                Reply::error(err).with_header("x-request-id", &head.request_id),
            )
        }
    };
    match check(&settings, head, request, trace).await {
        Ok(admission) => admission,
        Err(Refused(reply)) => Admission::Answered(decorate(reply, &settings, head, trace)),
    }
}

async fn check(
    settings: &Settings,
    head: &RequestHead,
    request: IncomingRequest,
    trace: &mut Trace,
) -> Result<Admission, Refused> {
    let service = guarded_service(settings)?;
    if head.is_preflight() {
        return Err(Refused(preflight(settings, head)?));
    }
    let request = within_body_limit(head, request, settings.max_body_bytes).await?;
    if let Some((name, _)) = head.headers.iter().find(|(name, _)| poses_as_gateway(name)) {
        return Err(ApiError::bad_request(format!(
            "the header {name} is set by the edge only; send the request without it"
        ))
        .into());
    }
    let caller = authenticate(head, settings, trace)?;
    authorize(caller.as_ref(), &service, head, settings)?;
    let invalidate =
        (!access::is_read(&head.method) && settings.is_cached(&service)).then(|| service.clone());
    Ok(Admission::Admitted {
        request,
        service,
        after: AfterService { invalidate },
    })
}

/// The guarded service, which must be registered (its scopes and `public_read` are the
/// registry's); a missing or unknown name is the operator's error.
fn guarded_service(settings: &Settings) -> Result<String, Refused> {
    let misconfigured = |problem: String| ApiError {
        detail: Some(problem),
        ..ApiError::new(500, "edge misconfigured")
    };
    let service = spin_sdk::variables::get(SERVICE_VARIABLE)
        .map_err(|err| misconfigured(format!("variable {SERVICE_VARIABLE}: {err:?}")))?;
    if !settings.is_registered(&service) {
        return Err(misconfigured(format!(
            "variable {SERVICE_VARIABLE}: {service:?} is not in the services registry"
        ))
        .into());
    }
    Ok(service)
}
