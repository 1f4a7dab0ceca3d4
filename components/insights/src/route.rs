//! Which resource a request path names. The path is the request's own (never `spin-path-info`), so
//! the service answers the same under its `/insights/...` route and under service chaining.

use service_kit::api::ApiError;
use service_kit::request::segments;

use crate::event::is_customer_id;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/insights/events`: the push-subscription endpoint.
    Events,
    /// `/insights/rebuild`: drop the views and replay the logs.
    Rebuild,
    /// `/insights/support/customers/{id}`.
    Customer(String),
    /// `/insights/support/summary`.
    Summary,
    /// `/insights/telemetry/alerts`.
    Alerts,
    /// `/insights/health`.
    Health,
    /// `/insights/openapi.json`.
    OpenApi,
}

impl Resource {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Resource::Events | Resource::Rebuild => "POST",
            Resource::Customer(_)
            | Resource::Summary
            | Resource::Alerts
            | Resource::Health
            | Resource::OpenApi => "GET",
        }
    }
}

pub fn resource(path: &str) -> Result<Resource, ApiError> {
    let resource = match segments(path).as_slice() {
        ["insights", "events"] => Resource::Events,
        ["insights", "rebuild"] => Resource::Rebuild,
        ["insights", "health"] => Resource::Health,
        ["insights", "openapi.json"] => Resource::OpenApi,
        ["insights", "support", "summary"] => Resource::Summary,
        ["insights", "telemetry", "alerts"] => Resource::Alerts,
        ["insights", "support", "customers", id] => {
            if !is_customer_id(id) {
                return Err(ApiError::not_found(format!(
                    "no such customer: {id:?} (customer ids are [A-Za-z0-9_-]{{1,64}})"
                )));
            }
            Resource::Customer((*id).to_owned())
        }
        _ => return Err(ApiError::not_found(format!("no such resource: {path}"))),
    };
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_name_their_resource() {
        assert_eq!(resource("/insights/events"), Ok(Resource::Events));
        assert_eq!(resource("/insights/rebuild/"), Ok(Resource::Rebuild));
        assert_eq!(resource("/insights/support/summary"), Ok(Resource::Summary));
        assert_eq!(
            resource("//insights/telemetry/alerts"),
            Ok(Resource::Alerts)
        );
        assert_eq!(
            resource("/insights/support/customers/c-1"),
            Ok(Resource::Customer("c-1".into()))
        );
        assert_eq!(resource("/insights/health"), Ok(Resource::Health));
        assert_eq!(resource("/insights/openapi.json"), Ok(Resource::OpenApi));
        // A customer may be called `health`: it is deeper down.
        assert_eq!(
            resource("/insights/support/customers/health"),
            Ok(Resource::Customer("health".into()))
        );
    }

    #[test]
    fn other_paths_and_bad_ids_are_not_found() {
        for path in [
            "/",
            "/insights",
            "/insights/support",
            "/insights/support/customers",
            "/insights/support/customers/a%20b",
            "/insights/support/customers/c-1/tickets",
            "/insights/telemetry",
            "/other/events",
        ] {
            assert_eq!(resource(path).unwrap_err().status, 404, "{path}");
        }
    }
}
