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
    /// `/events/{topic}`
    Topic(String),
}

impl Resource {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allow(&self) -> &'static str {
        match self {
            Resource::Topics | Resource::Subscriptions | Resource::DeadLetters(_) => "GET",
            Resource::Dispatch | Resource::Replay(_) => "POST",
            Resource::Subscription(_) => "GET, PUT, DELETE",
            Resource::Topic(_) => "GET, POST",
        }
    }

    /// The refusal of `method` here. The reserved names answer a topic's methods (GET, POST)
    /// with 400 naming the reservation, so a producer learns why its topic is refused.
    pub fn refuse(&self, method: &str) -> ApiError {
        let reserved = match self {
            Resource::Topics => Some("topics"),
            Resource::Subscriptions => Some("subscriptions"),
            Resource::Dispatch => Some("dispatch"),
            _ => None,
        };
        match reserved {
            Some(name) if method == "GET" || method == "POST" => ApiError::bad_request(format!(
                "{name:?} is a reserved name, not a topic (this resource answers {} only)",
                self.allow()
            )),
            _ => ApiError::method_not_allowed(method, self.allow()),
        }
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
    fn reserved_names_refuse_topic_methods_with_400() {
        assert_eq!(Resource::Topics.refuse("POST").status, 400);
        assert!(Resource::Dispatch
            .refuse("GET")
            .message
            .contains("reserved"));
        let err = Resource::Topics.refuse("DELETE");
        assert_eq!((err.status, err.allow), (405, Some("GET")));
        let err = Resource::Topic("a".into()).refuse("PUT");
        assert_eq!((err.status, err.allow), (405, Some("GET, POST")));
    }
}
