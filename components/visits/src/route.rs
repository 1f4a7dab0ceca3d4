//! Which resource a request path names.
//!
//! The path is the request's own (wasi-http `path-with-query`), never Spin's `spin-path-info` header,
//! so the service answers the same whether reached through its `/visits/...` route or by service chaining.

use crate::domain::EventId;
use crate::error::VisitsError;

/// The resources the service serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/visits`: every event's counts (bulk load).
    AllVisits,
    /// `/visits/{event_id}`: one event's counts.
    EventVisits(EventId),
    /// `/visits/health`: the service's health (event ids are digits, so no event is named so).
    Health,
    /// `/visits/openapi.json`: the service's contract.
    OpenApi,
}

impl Resource {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Resource::AllVisits => "PUT, OPTIONS",
            Resource::EventVisits(_) => "GET, POST, OPTIONS",
            Resource::Health | Resource::OpenApi => "GET, OPTIONS",
        }
    }
}

/// Maps a request path (no query) to its resource; empty segments are ignored, as Spin ignores stray slashes.
pub fn resource(path: &str) -> Result<Resource, VisitsError> {
    let mut segments = path.split('/').filter(|segment| !segment.is_empty());
    match (segments.next(), segments.next(), segments.next()) {
        (Some("visits"), None, _) => Ok(Resource::AllVisits),
        (Some("visits"), Some("health"), None) => Ok(Resource::Health),
        (Some("visits"), Some("openapi.json"), None) => Ok(Resource::OpenApi),
        (Some("visits"), Some(id), None) => EventId::parse(id).map(Resource::EventVisits),
        _ => Err(VisitsError::UnknownPath(path.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collection_path_names_all_visits() {
        assert_eq!(resource("/visits"), Ok(Resource::AllVisits));
        assert_eq!(resource("/visits/"), Ok(Resource::AllVisits));
    }

    #[test]
    fn an_event_path_names_that_event() {
        let expected = Resource::EventVisits(EventId::parse("324").unwrap());
        assert_eq!(resource("/visits/324"), Ok(expected.clone()));
        assert_eq!(resource("/visits/324/"), Ok(expected));
    }

    #[test]
    fn health_and_the_contract_have_their_own_paths() {
        assert_eq!(resource("/visits/health"), Ok(Resource::Health));
        assert_eq!(resource("/visits/openapi.json/"), Ok(Resource::OpenApi));
        assert!(matches!(
            resource("/visits/health/x"),
            Err(VisitsError::UnknownPath(_))
        ));
    }

    #[test]
    fn a_bad_event_id_is_not_found() {
        assert!(matches!(
            resource("/visits/abc"),
            Err(VisitsError::InvalidEventId(_))
        ));
        assert!(matches!(
            resource("/visits/%33"),
            Err(VisitsError::InvalidEventId(_))
        ));
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in ["", "/", "/visit", "/visitsx/1", "/other/1", "/visits/1/2"] {
            assert!(
                matches!(resource(path), Err(VisitsError::UnknownPath(_))),
                "{path}"
            );
        }
    }
}
