//! Which resource a request path names. The path is the request's own (never `spin-path-info`),
//! so the service answers the same under its `/events/...` route and under service chaining.

use service_kit::ApiError;

use crate::domain::{check_subscription_name, check_topic};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/events/topics`
    Topics,
    /// `/events/dispatch`
    Dispatch,
    /// `/events/subscriptions`
    Subscriptions,
    /// `/events/subscriptions/{name}`
    Subscription(String),
    /// `/events/subscriptions/{name}/dead-letters`
    DeadLetters(String),
    /// `/events/subscriptions/{name}/dead-letters/replay`
    Replay(String),
    /// `/events/health`
    Health,
    /// `/events/openapi.json`
    OpenApi,
    /// `/events/{topic}`
    Topic(String),
}

impl Resource {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allow(&self) -> &'static str {
        match self {
            Resource::Topics
            | Resource::Subscriptions
            | Resource::DeadLetters(_)
            | Resource::Health
            | Resource::OpenApi => "GET",
            Resource::Dispatch | Resource::Replay(_) => "POST",
            Resource::Subscription(_) => "GET, PUT, DELETE",
            Resource::Topic(_) => "GET, POST",
        }
    }

    /// The refusal of `method` here: 405 with the `allow` header. On a reserved name, a topic's
    /// methods (GET, POST) also say that the name is reserved, so a producer learns why its topic
    /// is refused; the status stays 405, as for any method the resource does not answer.
    pub fn refuse(&self, method: &str) -> ApiError {
        let reserved = match self {
            Resource::Topics => Some("topics"),
            Resource::Subscriptions => Some("subscriptions"),
            Resource::Dispatch => Some("dispatch"),
            Resource::Health => Some("health"),
            Resource::OpenApi => Some("openapi.json"),
            _ => None,
        };
        let mut refusal = ApiError::method_not_allowed(method, self.allow());
        if let Some(name) = reserved.filter(|_| method == "GET" || method == "POST") {
            refusal.message = format!(
                "{name:?} is a reserved name, not a topic: {} is not allowed here; allowed: {}",
                method,
                self.allow()
            );
        }
        refusal
    }
}

/// Maps a request path (no query) to its resource: 404 for unknown shapes, 400 for bad names.
pub fn resource(path: &str) -> Result<Resource, ApiError> {
    let segments = service_kit::request::segments(path);
    let not_found = || ApiError::not_found(format!("no such resource: {path}"));
    let subscription = |name: &str| {
        check_subscription_name(name).map_err(ApiError::bad_request)?;
        Ok::<String, ApiError>(name.to_owned())
    };
    match segments.as_slice() {
        ["events", "topics"] => Ok(Resource::Topics),
        ["events", "dispatch"] => Ok(Resource::Dispatch),
        ["events", "subscriptions"] => Ok(Resource::Subscriptions),
        ["events", "health"] => Ok(Resource::Health),
        ["events", "openapi.json"] => Ok(Resource::OpenApi),
        ["events", "subscriptions", name] => Ok(Resource::Subscription(subscription(name)?)),
        ["events", "subscriptions", name, "dead-letters"] => {
            Ok(Resource::DeadLetters(subscription(name)?))
        }
        ["events", "subscriptions", name, "dead-letters", "replay"] => {
            Ok(Resource::Replay(subscription(name)?))
        }
        ["events", topic] => {
            check_topic(topic).map_err(ApiError::bad_request)?;
            Ok(Resource::Topic((*topic).to_owned()))
        }
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_resources() {
        assert_eq!(resource("/events/topics").unwrap(), Resource::Topics);
        assert_eq!(resource("/events/dispatch/").unwrap(), Resource::Dispatch);
        assert_eq!(
            resource("/events/subscriptions").unwrap(),
            Resource::Subscriptions
        );
        assert_eq!(
            resource("/events/subscriptions/insights").unwrap(),
            Resource::Subscription("insights".into())
        );
        assert_eq!(
            resource("/events/subscriptions/a-1/dead-letters").unwrap(),
            Resource::DeadLetters("a-1".into())
        );
        assert_eq!(
            resource("/events/subscriptions/a/dead-letters/replay").unwrap(),
            Resource::Replay("a".into())
        );
        assert_eq!(
            resource("//events/support.tickets").unwrap(),
            Resource::Topic("support.tickets".into())
        );
    }

    #[test]
    fn unknown_shapes_are_404_and_bad_names_400() {
        for path in [
            "/",
            "/events",
            "/events/a/b",
            "/other/a",
            "/events/subscriptions/a/b",
        ] {
            assert_eq!(resource(path).unwrap_err().status, 404, "{path}");
        }
        for path in [
            "/events/Bad",
            "/events/a_b",
            "/events/subscriptions/A",
            "/events/subscriptions/a.b/dead-letters",
        ] {
            assert_eq!(resource(path).unwrap_err().status, 400, "{path}");
        }
    }

    #[test]
    fn health_and_the_contract_have_their_own_paths() {
        assert_eq!(resource("/events/health").unwrap(), Resource::Health);
        assert_eq!(
            resource("/events/openapi.json/").unwrap(),
            Resource::OpenApi
        );
        assert_eq!(resource("/events/health/x").unwrap_err().status, 404);
    }

    #[test]
    fn reserved_names_refuse_topic_methods_naming_the_reservation() {
        let err = Resource::Topics.refuse("POST");
        assert_eq!((err.status, err.allow), (405, Some("GET")));
        assert!(err.message.contains("reserved"), "{}", err.message);
        for resource in [Resource::Health, Resource::OpenApi] {
            let err = resource.refuse("POST");
            assert_eq!((err.status, err.allow), (405, Some("GET")));
            assert!(err.message.contains("reserved"), "{}", err.message);
        }
        let err = Resource::Dispatch.refuse("GET");
        assert_eq!((err.status, err.allow), (405, Some("POST")));
        assert!(err.message.contains("reserved"), "{}", err.message);
        let err = Resource::Topics.refuse("DELETE");
        assert_eq!((err.status, err.allow), (405, Some("GET")));
        assert!(!err.message.contains("reserved"), "{}", err.message);
        let err = Resource::Topic("a".into()).refuse("PUT");
        assert_eq!((err.status, err.allow), (405, Some("GET, POST")));
    }
}
