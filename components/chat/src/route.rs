//! Which resource a request path names. The path is the request's own (never `spin-path-info`), so
//! the service answers the same under its `/chat/...` route and under service chaining.

use service_kit::request::segments;
use service_kit::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `/chat/conversations`
    Conversations,
    /// `/chat/conversations/{id}` (the id segment as given; see [`conversation_id`])
    Conversation(&'a str),
    /// `/chat/conversations/{id}/messages`
    Messages(&'a str),
    /// `/chat/outbox`
    Outbox,
    /// `/chat/outbox/flush`
    OutboxFlush,
    /// `/chat/health`
    Health,
    /// `/chat/openapi.json`
    OpenApi,
}

impl Resource<'_> {
    /// The methods the resource answers, as an `allow` header value.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Resource::Conversations | Resource::Messages(_) => "GET, POST",
            Resource::OutboxFlush => "POST",
            Resource::Conversation(_) | Resource::Outbox | Resource::Health | Resource::OpenApi => {
                "GET"
            }
        }
    }
}

pub fn resource(path: &str) -> Result<Resource<'_>, ApiError> {
    match segments(path).as_slice() {
        ["chat", "conversations"] => Ok(Resource::Conversations),
        ["chat", "conversations", id] => Ok(Resource::Conversation(id)),
        ["chat", "conversations", id, "messages"] => Ok(Resource::Messages(id)),
        ["chat", "outbox"] => Ok(Resource::Outbox),
        ["chat", "outbox", "flush"] => Ok(Resource::OutboxFlush),
        ["chat", "health"] => Ok(Resource::Health),
        ["chat", "openapi.json"] => Ok(Resource::OpenApi),
        _ => Err(ApiError::not_found(format!("no such resource: {path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_resources() {
        assert_eq!(resource("/chat/conversations"), Ok(Resource::Conversations));
        assert_eq!(
            resource("/chat/conversations/7/"),
            Ok(Resource::Conversation("7"))
        );
        assert_eq!(
            resource("//chat/conversations/7/messages"),
            Ok(Resource::Messages("7"))
        );
        assert_eq!(resource("/chat/outbox"), Ok(Resource::Outbox));
        assert_eq!(resource("/chat/outbox/flush"), Ok(Resource::OutboxFlush));
        assert_eq!(resource("/chat/health"), Ok(Resource::Health));
        assert_eq!(resource("/chat/openapi.json"), Ok(Resource::OpenApi));
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in [
            "/",
            "/chat",
            "/chat/conversations/1/members",
            "/chat/conversations/1/messages/2",
            "/chatx/conversations",
        ] {
            let err = resource(path).unwrap_err();
            assert_eq!(err.status, 404, "{path}");
            assert!(err.message.contains(path), "{}", err.message);
        }
    }
}
