//! What a request path addresses: one of the gateway's own resources, or a registered service.

use service_kit::request::segments;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/health`: every service's health in one answer.
    Health,
    /// `/services`: the registry.
    ServiceList,
    /// `/services/{name}`.
    ServiceEntry(String),
    /// `/services/{name}/openapi.json`.
    ServiceContract(String),
    /// `/admin/keys`.
    Keys,
    /// `/admin/keys/{id}`.
    Key(String),
    /// `/{service}/...`: passed on to that service.
    Upstream(String),
    NotFound,
}

/// Routes `path` (the request's own path, without the query) against the registry `services`.
pub fn route(path: &str, services: &[String]) -> Route {
    let parts = segments(path);
    match parts.as_slice() {
        ["health"] => Route::Health,
        ["services"] => Route::ServiceList,
        ["services", name] => Route::ServiceEntry((*name).to_owned()),
        ["services", name, "openapi.json"] => Route::ServiceContract((*name).to_owned()),
        ["admin", "keys"] => Route::Keys,
        ["admin", "keys", id] => Route::Key((*id).to_owned()),
        [first, ..] if services.iter().any(|name| name == first) => {
            Route::Upstream((*first).to_owned())
        }
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<String> {
        vec!["visits".into(), "support".into()]
    }

    #[test]
    fn own_resources() {
        assert_eq!(route("/health", &services()), Route::Health);
        assert_eq!(route("/services/", &services()), Route::ServiceList);
        assert_eq!(
            route("/services/support/openapi.json", &services()),
            Route::ServiceContract("support".into())
        );
        assert_eq!(
            route("/admin/keys/k1", &services()),
            Route::Key("k1".into())
        );
        assert_eq!(route("/admin", &services()), Route::NotFound);
    }

    #[test]
    fn registered_services_by_first_segment() {
        assert_eq!(
            route("/support/tickets/7", &services()),
            Route::Upstream("support".into())
        );
        assert_eq!(
            route("/visits", &services()),
            Route::Upstream("visits".into())
        );
        assert_eq!(route("/supportx/tickets", &services()), Route::NotFound);
        assert_eq!(route("/", &services()), Route::NotFound);
    }
}
