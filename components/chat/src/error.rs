//! The service's domain errors and their one mapping to an HTTP status (via service-kit's `ApiError`,
//! which renders `{"message": ...}`).

use std::fmt;

use service_kit::ApiError;

/// Everything the domain can refuse; storage and transport failures are `ApiError`s already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatError {
    /// A request field, parameter or header is malformed (400).
    Invalid(String),
    /// No conversation with this id (404).
    ConversationNotFound(String),
    /// The sender is not a member of the conversation (422: the request is well formed, and only
    /// the conversation's state refuses it; the key that sent it may well hold `chat:write`).
    NotAMember { sender: String, conversation: i64 },
    /// An `Idempotency-Key` was reused with a different request (422).
    KeyReused(String),
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatError::Invalid(message) => f.write_str(message),
            ChatError::ConversationNotFound(id) => write!(f, "no conversation {id:?}"),
            ChatError::NotAMember {
                sender,
                conversation,
            } => write!(
                f,
                "sender {sender:?} is not a member of conversation {conversation}; only members may send"
            ),
            ChatError::KeyReused(key) => write!(
                f,
                "Idempotency-Key {key:?} was already used for a different message in this conversation"
            ),
        }
    }
}

impl ChatError {
    pub fn status(&self) -> u16 {
        match self {
            ChatError::Invalid(_) => 400,
            ChatError::ConversationNotFound(_) => 404,
            ChatError::NotAMember { .. } | ChatError::KeyReused(_) => 422,
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> ApiError {
        ApiError::new(err.status(), err.to_string())
    }
}

/// A 400 naming the field and the problem.
pub fn invalid(field: &str, problem: impl fmt::Display) -> ChatError {
    ChatError::Invalid(format!("{field}: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_names_the_problem() {
        let cases = [
            (invalid("text", "too long"), 400, "text: too long"),
            (ChatError::ConversationNotFound("9".into()), 404, "\"9\""),
            (
                ChatError::NotAMember {
                    sender: "eve".into(),
                    conversation: 3,
                },
                422,
                "\"eve\" is not a member of conversation 3",
            ),
            (ChatError::KeyReused("k".into()), 422, "\"k\""),
        ];
        for (err, status, words) in cases {
            let api: ApiError = err.into();
            assert_eq!(api.status, status);
            assert!(api.message.contains(words), "{}", api.message);
        }
    }
}
