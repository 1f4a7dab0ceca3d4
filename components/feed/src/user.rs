//! Users and who follows whom: user ids (`[a-z0-9_-]{1,32}`, the same shape as chat's members) and
//! the one rule of following (nobody follows themselves). A user exists as soon as anyone names
//! them: there is no sign-up, so an unknown user simply has no posts and no follows.

use serde::Serialize;
use service_kit::clock::format_millis;
use service_kit::ids::{is_user_id, MAX_USER_ID_LEN};
use utoipa::ToSchema;

use crate::error::FeedError;

/// A user id from a path segment: anything else names no user (404).
pub fn parse_user_segment(segment: &str) -> Result<String, FeedError> {
    if !is_user_id(segment) {
        return Err(FeedError::NotFound(format!(
            "no user {segment:?}: user ids are 1 to {MAX_USER_ID_LEN} of a-z, 0-9, _ and -"
        )));
    }
    Ok(segment.to_owned())
}

/// A follow request, checked: `user` will follow `other`, who is someone else.
pub fn parse_follow(user: &str, other: &str) -> Result<(String, String), FeedError> {
    let user = parse_user_segment(user)?;
    let other = parse_user_segment(other)?;
    if user == other {
        return Err(FeedError::SelfFollow(user));
    }
    Ok((user, other))
}

/// A user id, as the contract states it.
#[derive(ToSchema)]
#[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
pub struct UserId(#[allow(dead_code)] String);

/// A stored follow. `since` is Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub user: String,
    pub following: String,
    pub since: i64,
}

impl Follow {
    pub fn view(&self) -> FollowView {
        FollowView {
            user: self.user.clone(),
            following: self.following.clone(),
            since: format_millis(self.since),
        }
    }
}

/// A follow on the wire.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowView {
    #[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub user: String,
    /// Whom `user` follows.
    #[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub following: String,
    /// RFC 3339: when the follow began (a repeated follow keeps the first time).
    #[schema(format = DateTime)]
    pub since: String,
}

/// A user's counts on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserView {
    #[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub id: String,
    /// Posts the user wrote.
    #[schema(minimum = 0)]
    pub posts: i64,
    /// Users this user follows.
    #[schema(minimum = 0)]
    pub following: i64,
    /// Users who follow this user.
    #[schema(minimum = 0)]
    pub followers: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_segment_that_is_not_a_user_id_names_no_user() {
        assert_eq!(parse_user_segment("ada").unwrap(), "ada");
        for bad in ["", "Ada", "a b", "a.b", "ü", &"a".repeat(33)] {
            assert_eq!(parse_user_segment(bad).unwrap_err().status(), 404);
        }
    }

    #[test]
    fn a_user_follows_someone_else() {
        assert_eq!(
            parse_follow("ada", "bob"),
            Ok(("ada".to_owned(), "bob".to_owned()))
        );
        let err = parse_follow("ada", "ada").unwrap_err();
        assert_eq!(err, FeedError::SelfFollow("ada".into()));
        assert_eq!(err.status(), 422);
        assert_eq!(parse_follow("ada", "Bob").unwrap_err().status(), 404);
    }

    #[test]
    fn a_follow_shows_its_start_in_rfc_3339() {
        let follow = Follow {
            user: "ada".into(),
            following: "bob".into(),
            since: 10,
        };
        assert_eq!(follow.view().since, "1970-01-01T00:00:00.01Z");
    }
}
