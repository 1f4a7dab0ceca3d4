//! The id shape the services share: a customer's id in support's paths, in the events about it
//! and in insights' views is 1 to 64 of `A-Z a-z 0-9 _ -`, so it needs no escaping anywhere.
//! One definition: the check, the pattern and the schema every contract shows for it.
//!
//! A user id (chat's members and senders, feed's authors and followers) is a narrower shape:
//! 1 to 32 of `a-z 0-9 _ -`, one check for both services.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The longest id.
pub const MAX_ID_LEN: usize = 64;
/// The ids' pattern, as the contracts state it.
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// Whether `text` is an id of this shape.
pub fn is_id(text: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The longest user id.
pub const MAX_USER_ID_LEN: usize = 32;

/// Whether `text` is a user id: 1 to 32 of `a-z`, `0-9`, `_`, `-`.
pub fn is_user_id(text: &str) -> bool {
    (1..=MAX_USER_ID_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A row id in a path segment (a conversation, post or ticket): a positive integer in plain
/// digits; anything else names no row.
pub fn positive_id(segment: &str) -> Option<i64> {
    let all_digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    all_digits
        .then(|| segment.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
}

/// An id's schema: `inline(Id)` for a path parameter, `schema_with = id_schema` for a field.
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        id_schema().into()
    }
}

impl ToSchema for Id {}

/// The schema of a string holding an id.
pub fn id_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(ID_PATTERN))
        .min_length(Some(1))
        .max_length(Some(MAX_ID_LEN))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_plain_names() {
        for good in ["c1", "A-b_9", &"x".repeat(MAX_ID_LEN)] {
            assert!(is_id(good), "{good}");
        }
        for bad in ["", "a b", "a/b", "é", "a.b", &"x".repeat(MAX_ID_LEN + 1)] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn user_ids_are_short_lowercase_words() {
        for good in ["a", "ada", "user_1", "x-y", &"a".repeat(MAX_USER_ID_LEN)] {
            assert!(is_user_id(good), "{good:?}");
        }
        for bad in [
            "",
            "Ada",
            "a b",
            "a.b",
            "ü",
            &"a".repeat(MAX_USER_ID_LEN + 1),
        ] {
            assert!(!is_user_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn row_ids_are_positive_integers() {
        assert_eq!(positive_id("42"), Some(42));
        for bad in ["0", "-1", "+1", "1.0", "abc", "", "99999999999999999999"] {
            assert_eq!(positive_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_pattern_bounds_what_the_check_bounds() {
        // The services' contract tests match the pattern against `is_id` with a regex engine.
        assert!(ID_PATTERN.ends_with(&format!("{{1,{MAX_ID_LEN}}}$")));
    }
}
