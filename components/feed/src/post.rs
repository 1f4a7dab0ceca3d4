//! Posts: what a user may post (1 to 2,000 characters) and what a post shows. Its id is assigned
//! by the store and grows with every post, so it is also the post's place in "newest first".

use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_kit::clock::format_millis;
use utoipa::ToSchema;

use crate::error::{invalid, FeedError};

pub const MAX_TEXT_CHARS: usize = 2_000;

/// A `POST /feed/users/{id}/posts` body, as received (unknown fields refused).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "A new post (unknown fields are refused).")]
pub struct NewPostBody {
    /// 1 to 2,000 characters (Unicode code points).
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

/// A post to publish, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewPost {
    pub text: String,
}

pub fn parse_new_post(body: Value) -> Result<NewPost, FeedError> {
    // serde would also read a struct from an array (`["hi"]`); the contract says object.
    if !body.is_object() {
        return Err(FeedError::Invalid(
            "invalid post: expected a JSON object".into(),
        ));
    }
    let body: NewPostBody = serde_json::from_value(body)
        .map_err(|err| FeedError::Invalid(format!("invalid post: {err}")))?;
    let chars = body.text.chars().count();
    if !(1..=MAX_TEXT_CHARS).contains(&chars) {
        return Err(invalid(
            "text",
            format!("1 to {MAX_TEXT_CHARS} characters, got {chars}"),
        ));
    }
    Ok(NewPost { text: body.text })
}

/// A stored post. `created_at` is Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub id: i64,
    pub author: String,
    pub text: String,
    pub created_at: i64,
}

impl Post {
    pub fn view(&self) -> PostView {
        PostView {
            id: self.id,
            author: self.author.clone(),
            text: self.text.clone(),
            created_at: format_millis(self.created_at),
        }
    }

    pub fn location(&self) -> String {
        format!("/feed/users/{}/posts/{}", self.author, self.id)
    }
}

/// A post on the wire (and in `feed.post.created`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PostView {
    /// Larger is newer.
    #[schema(minimum = 1)]
    pub id: i64,
    #[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub author: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_post_is_one_to_2000_characters() {
        for text in ["h", " ", "line\nbreak", &"é".repeat(2000)] {
            let new = parse_new_post(json!({ "text": text })).unwrap();
            assert_eq!(new.text, text);
        }
        for text in ["", &"x".repeat(2001)] {
            let err = parse_new_post(json!({ "text": text })).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.to_string().starts_with("text:"), "{err}");
        }
    }

    #[test]
    fn unknown_or_missing_fields_are_refused() {
        for body in [
            json!({}),
            json!({ "text": 5 }),
            json!({ "text": "hi", "author": "ada" }),
            json!(["hi"]),
        ] {
            assert_eq!(
                parse_new_post(body.clone()).unwrap_err().status(),
                400,
                "{body}"
            );
        }
    }

    #[test]
    fn a_post_shows_where_it_lives() {
        let post = Post {
            id: 7,
            author: "ada".into(),
            text: "hi".into(),
            created_at: 0,
        };
        assert_eq!(post.location(), "/feed/users/ada/posts/7");
        assert_eq!(post.view().created_at, "1970-01-01T00:00:00Z");
    }
}

#[cfg(test)]
mod fingerprint_tests {
    //! The fingerprint an `Idempotency-Key` is stored with sees the validated request.
    use super::parse_new_post;
    use serde_json::json;
    use service_kit::idempotency::fingerprint;

    fn print(body: serde_json::Value) -> String {
        fingerprint(&parse_new_post(body).unwrap())
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint() {
        let a = print(json!({ "text": "hi" }));
        let b = print(serde_json::from_str(r#"{ "text" :"hi" }"#).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn a_different_request_has_a_different_fingerprint() {
        assert_ne!(
            print(json!({ "text": "hi" })),
            print(json!({ "text": "hi!" }))
        );
    }
}
