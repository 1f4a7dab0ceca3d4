//! The service's domain errors and their one mapping to an HTTP status (via service-kit's `ApiError`,
//! which renders `{"message": ...}`).

use std::fmt;

use service_kit::ApiError;

/// Everything the domain can refuse; storage and transport failures are `ApiError`s already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    /// A request field, parameter or header is malformed (400).
    Invalid(String),
    /// A path segment names no user or post (404).
    NotFound(String),
    /// `user` does not follow `other`, so there is nothing to unfollow (404).
    NotFollowing { user: String, other: String },
    /// A user asked to follow themselves (422: well formed, refused by the rule).
    SelfFollow(String),
    /// An `Idempotency-Key` was reused with a different request (422).
    KeyReused(String),
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Invalid(message) | FeedError::NotFound(message) => f.write_str(message),
            FeedError::NotFollowing { user, other } => {
                write!(f, "user {user:?} does not follow {other:?}")
            }
            FeedError::SelfFollow(user) => {
                write!(f, "user {user:?} cannot follow themselves")
            }
            FeedError::KeyReused(key) => write!(
                f,
                "Idempotency-Key {key:?} was already used for a different post by this user"
            ),
        }
    }
}

impl FeedError {
    pub fn status(&self) -> u16 {
        match self {
            FeedError::Invalid(_) => 400,
            FeedError::NotFound(_) | FeedError::NotFollowing { .. } => 404,
            FeedError::SelfFollow(_) | FeedError::KeyReused(_) => 422,
        }
    }
}

impl From<FeedError> for ApiError {
    fn from(err: FeedError) -> ApiError {
        ApiError::new(err.status(), err.to_string())
    }
}

/// A 400 naming the field and the problem.
pub fn invalid(field: &str, problem: impl fmt::Display) -> FeedError {
    FeedError::Invalid(format!("{field}: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_names_the_problem() {
        let cases = [
            (invalid("text", "too long"), 400, "text: too long"),
            (FeedError::NotFound("no user \"A\"".into()), 404, "no user"),
            (
                FeedError::NotFollowing {
                    user: "ada".into(),
                    other: "bob".into(),
                },
                404,
                "\"ada\" does not follow \"bob\"",
            ),
            (FeedError::SelfFollow("ada".into()), 422, "themselves"),
            (FeedError::KeyReused("k".into()), 422, "\"k\""),
        ];
        for (err, status, words) in cases {
            let api: ApiError = err.into();
            assert_eq!(api.status, status);
            assert!(api.message.contains(words), "{}", api.message);
        }
    }
}
