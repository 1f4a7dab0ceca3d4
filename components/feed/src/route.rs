//! Which resource a request path names. The path is the request's own (never `spin-path-info`), so
//! the service answers the same under its `/feed/...` route and under service chaining.

use service_kit::request::segments;
use service_kit::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `/feed/users/{id}` (segments as given; `user` checks them)
    User(&'a str),
    /// `/feed/users/{id}/following/{other}`
    Following(&'a str, &'a str),
    /// `/feed/users/{id}/posts`
    Posts(&'a str),
    /// `/feed/users/{id}/posts/{post}`
    Post(&'a str, &'a str),
    /// `/feed/users/{id}/timeline`
    Timeline(&'a str),
    /// `/feed/outbox`
    Outbox,
    /// `/feed/outbox/flush`
    OutboxFlush,
    /// `/feed/health`
    Health,
    /// `/feed/openapi.json`
    OpenApi,
}

impl Resource<'_> {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Resource::Following(..) => "PUT, DELETE",
            Resource::Posts(_) => "GET, POST",
            Resource::OutboxFlush => "POST",
            Resource::User(_)
            | Resource::Post(..)
            | Resource::Timeline(_)
            | Resource::Outbox
            | Resource::Health
            | Resource::OpenApi => "GET",
        }
    }
}

pub fn resource(path: &str) -> Result<Resource<'_>, ApiError> {
    match segments(path).as_slice() {
        ["feed", "users", id] => Ok(Resource::User(id)),
        ["feed", "users", id, "following", other] => Ok(Resource::Following(id, other)),
        ["feed", "users", id, "posts"] => Ok(Resource::Posts(id)),
        ["feed", "users", id, "posts", post] => Ok(Resource::Post(id, post)),
        ["feed", "users", id, "timeline"] => Ok(Resource::Timeline(id)),
        ["feed", "outbox"] => Ok(Resource::Outbox),
        ["feed", "outbox", "flush"] => Ok(Resource::OutboxFlush),
        ["feed", "health"] => Ok(Resource::Health),
        ["feed", "openapi.json"] => Ok(Resource::OpenApi),
        _ => Err(ApiError::not_found(format!("no such resource: {path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_resources() {
        assert_eq!(resource("/feed/users/ada"), Ok(Resource::User("ada")));
        assert_eq!(
            resource("/feed/users/ada/following/bob/"),
            Ok(Resource::Following("ada", "bob"))
        );
        assert_eq!(
            resource("//feed/users/ada/posts"),
            Ok(Resource::Posts("ada"))
        );
        assert_eq!(
            resource("/feed/users/ada/posts/3"),
            Ok(Resource::Post("ada", "3"))
        );
        assert_eq!(
            resource("/feed/users/ada/timeline"),
            Ok(Resource::Timeline("ada"))
        );
        assert_eq!(resource("/feed/outbox"), Ok(Resource::Outbox));
        assert_eq!(resource("/feed/outbox/flush"), Ok(Resource::OutboxFlush));
        assert_eq!(resource("/feed/health"), Ok(Resource::Health));
        assert_eq!(resource("/feed/openapi.json"), Ok(Resource::OpenApi));
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in [
            "/",
            "/feed",
            "/feed/users",
            "/feed/users/ada/following",
            "/feed/users/ada/followers",
            "/feed/users/ada/posts/1/likes",
            "/feedx/users/ada",
        ] {
            let err = resource(path).unwrap_err();
            assert_eq!(err.status, 404, "{path}");
            assert!(err.message.contains(path), "{}", err.message);
        }
    }
}
