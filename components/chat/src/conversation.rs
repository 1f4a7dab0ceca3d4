//! Conversations: who may be in one (2 to 50 distinct user ids), an optional title, and what a
//! conversation shows.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_kit::clock::format_millis;
use service_kit::ids::{is_user_id, MAX_USER_ID_LEN};
use utoipa::ToSchema;

use crate::error::{invalid, ChatError};

pub const MIN_MEMBERS: usize = 2;
pub const MAX_MEMBERS: usize = 50;
pub const MAX_TITLE_CHARS: usize = 200;

/// Checks a user id, naming `field` in the refusal.
pub fn parse_user_id(field: &str, id: &str) -> Result<String, ChatError> {
    if !is_user_id(id) {
        return Err(invalid(
            field,
            format!("{id:?} is not a user id (1 to {MAX_USER_ID_LEN} of a-z, 0-9, _ and -)"),
        ));
    }
    Ok(id.to_owned())
}

/// A `POST /chat/conversations` body, as received (unknown fields refused). The schema
/// attributes are the contract's statement of `parse_new_conversation`'s rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "A new conversation (unknown fields are refused).")]
pub struct NewConversationBody {
    /// 2 to 50 distinct user ids.
    #[schema(value_type = BTreeSet<UserId>, min_items = 2, max_items = 50)]
    pub members: Vec<String>,
    /// 1 to 200 characters, not blank, no control characters; none when absent or null.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: Option<String>,
}

/// A user id, as the contract states it.
#[derive(ToSchema)]
#[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
pub struct UserId(#[allow(dead_code)] String);

/// A new conversation, validated: members in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConversation {
    pub members: Vec<String>,
    pub title: Option<String>,
}

pub fn parse_new_conversation(body: Value) -> Result<NewConversation, ChatError> {
    let body: NewConversationBody = serde_json::from_value(body)
        .map_err(|err| ChatError::Invalid(format!("invalid conversation: {err}")))?;
    let count = body.members.len();
    if !(MIN_MEMBERS..=MAX_MEMBERS).contains(&count) {
        return Err(invalid(
            "members",
            format!("a conversation has {MIN_MEMBERS} to {MAX_MEMBERS} members, got {count}"),
        ));
    }
    for (index, member) in body.members.iter().enumerate() {
        parse_user_id(&format!("members[{index}]"), member)?;
        if body.members[..index].contains(member) {
            return Err(invalid(
                "members",
                format!("{member:?} is listed twice; members are distinct"),
            ));
        }
    }
    if let Some(title) = &body.title {
        check_title(title)?;
    }
    Ok(NewConversation {
        members: body.members,
        title: body.title,
    })
}

/// One line: not blank, at most 200 characters, no control characters.
fn check_title(title: &str) -> Result<(), ChatError> {
    let chars = title.chars().count();
    if title.trim().is_empty() {
        return Err(invalid("title", "must not be empty or blank"));
    }
    if chars > MAX_TITLE_CHARS {
        return Err(invalid(
            "title",
            format!("at most {MAX_TITLE_CHARS} characters, got {chars}"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(invalid("title", "must not contain control characters"));
    }
    Ok(())
}

/// A stored conversation. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: i64,
    pub title: Option<String>,
    pub members: Vec<String>,
    /// The `seq` of its last message (0 before the first): also its message count.
    pub last_seq: i64,
    pub created_at: i64,
    /// When the last message was sent (its creation before the first).
    pub last_activity_at: i64,
    /// Where it stands in "most recently active first": unique, larger is more recent.
    pub activity: i64,
}

impl Conversation {
    pub fn is_member(&self, user: &str) -> bool {
        self.members.iter().any(|m| m == user)
    }

    pub fn view(&self) -> ConversationView {
        ConversationView {
            id: self.id,
            title: self.title.clone(),
            members: self.members.clone(),
            message_count: self.last_seq,
            created_at: format_millis(self.created_at),
            last_activity_at: format_millis(self.last_activity_at),
        }
    }
}

/// A conversation on the wire.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    #[schema(minimum = 1)]
    pub id: i64,
    #[schema(required = true)]
    pub title: Option<String>,
    /// In the order they were given at creation.
    #[schema(value_type = Vec<UserId>, min_items = 2, max_items = 50)]
    pub members: Vec<String>,
    /// Messages sent so far: also the `seq` of the last one.
    #[schema(minimum = 0)]
    pub message_count: i64,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339: the last message's time, or the creation's before the first.
    #[schema(format = DateTime)]
    pub last_activity_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_conversation_has_two_to_fifty_distinct_members() {
        let members = |n: usize| (0..n).map(|i| format!("u{i}")).collect::<Vec<_>>();
        for n in [2, 50] {
            let new = parse_new_conversation(json!({ "members": members(n) })).unwrap();
            assert_eq!(new.members, members(n));
            assert_eq!(new.title, None);
        }
        for n in [0, 1, 51] {
            let err = parse_new_conversation(json!({ "members": members(n) })).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.to_string().starts_with("members:"), "{err}");
        }
        let twice = parse_new_conversation(json!({ "members": ["a", "b", "a"] })).unwrap_err();
        assert!(
            twice.to_string().contains("\"a\" is listed twice"),
            "{twice}"
        );
        let bad = parse_new_conversation(json!({ "members": ["a", "B"] })).unwrap_err();
        assert!(bad.to_string().starts_with("members[1]:"), "{bad}");
    }

    #[test]
    fn titles_are_one_line() {
        let body = |title: Value| json!({ "members": ["a", "b"], "title": title });
        assert_eq!(
            parse_new_conversation(body(json!("Lunch"))).unwrap().title,
            Some("Lunch".into())
        );
        assert_eq!(
            parse_new_conversation(body(json!(null))).unwrap().title,
            None
        );
        for bad in [
            json!(""),
            json!("  "),
            json!("a\nb"),
            json!("t".repeat(201)),
            json!(5),
        ] {
            assert!(parse_new_conversation(body(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_fields_and_missing_members_are_refused() {
        for body in [
            json!({}),
            json!({ "members": ["a", "b"], "topic": "x" }),
            json!([]),
        ] {
            let err = parse_new_conversation(body.clone()).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
        }
    }

    #[test]
    fn membership_is_exact() {
        let conversation = Conversation {
            id: 1,
            title: None,
            members: vec!["ada".into(), "bob".into()],
            last_seq: 0,
            created_at: 0,
            last_activity_at: 0,
            activity: 1,
        };
        assert!(conversation.is_member("bob"));
        assert!(!conversation.is_member("bo"));
        assert_eq!(conversation.view().created_at, "1970-01-01T00:00:00Z");
    }
}
