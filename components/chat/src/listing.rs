//! The two listings' queries: a member's conversations (most recently active first, cursor pages)
//! and a conversation's messages (in `seq` order, after a given `seq`).
//!
//! Every write gives its conversation a new, larger `activity` number, so "most recently active
//! first" is "activity descending", a total order. A cursor holds the activity of the page's last
//! conversation and the next page is "activity below it": no conversation is seen twice and none
//! that stayed put is skipped, while messages arrive (a conversation that becomes active again
//! moves above the cursor, to the start of the next listing). The cursor is `c` and 16 hex
//! digits (service-kit's `paging`).

use service_kit::paging::decode_cursor;
use service_kit::request::Query;
use service_kit::ApiError;

use crate::conversation::parse_user_id;
use crate::error::invalid;

pub const DEFAULT_CONVERSATIONS: i64 = 20;
pub const MAX_CONVERSATIONS: i64 = 100;
pub const DEFAULT_MESSAGES: i64 = 50;
pub const MAX_MESSAGES: i64 = 200;
/// The largest `after`: 2^53 - 1, exact in every JSON reader (no conversation gets near it).
pub const MAX_AFTER: i64 = (1 << 53) - 1;

/// `GET /chat/conversations?member=&limit=&cursor=`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationQuery {
    pub member: String,
    pub limit: i64,
    /// Only conversations with a smaller activity (from the cursor).
    pub before: Option<i64>,
}

pub fn parse_conversation_query(query: &str) -> Result<ConversationQuery, ApiError> {
    let query = Query::parse(query, &["member", "limit", "cursor"])?;
    let member = query
        .get("member")
        .ok_or_else(|| invalid("member", "required: whose conversations to list"))
        .and_then(|id| parse_user_id("member", id))?;
    let limit = query.integer("limit", 1, MAX_CONVERSATIONS, DEFAULT_CONVERSATIONS)?;
    let before = query.get("cursor").map(decode_cursor).transpose()?;
    Ok(ConversationQuery {
        member,
        limit,
        before,
    })
}

/// `GET /chat/conversations/{id}/messages?after=&limit=`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQuery {
    /// Only messages with a larger `seq` (0: from the first).
    pub after: i64,
    pub limit: i64,
}

pub fn parse_message_query(query: &str) -> Result<MessageQuery, ApiError> {
    let query = Query::parse(query, &["after", "limit"])?;
    Ok(MessageQuery {
        after: query.integer("after", 0, MAX_AFTER, 0)?,
        limit: query.integer("limit", 1, MAX_MESSAGES, DEFAULT_MESSAGES)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::paging::encode_cursor;

    #[test]
    fn the_conversation_query_needs_a_member_and_has_defaults() {
        let query = parse_conversation_query("member=ada").unwrap();
        assert_eq!(
            query,
            ConversationQuery {
                member: "ada".into(),
                limit: 20,
                before: None
            }
        );
        let text = format!("member=bob&limit=100&cursor={}", encode_cursor(9));
        let query = parse_conversation_query(&text).unwrap();
        assert_eq!(
            query,
            ConversationQuery {
                member: "bob".into(),
                limit: 100,
                before: Some(9)
            }
        );
    }

    #[test]
    fn bad_conversation_queries_are_400_naming_the_parameter() {
        for (text, word) in [
            ("", "member"),
            ("member=Ada", "member"),
            ("member=ada&limit=0", "limit"),
            ("member=ada&limit=101", "limit"),
            ("member=ada&cursor=zzz", "cursor"),
            ("member=ada&page=2", "page"),
        ] {
            let err = parse_conversation_query(text).unwrap_err();
            assert_eq!(err.status, 400, "{text}");
            assert!(err.message.contains(word), "{text}: {}", err.message);
        }
    }

    #[test]
    fn message_queries_read_after_and_a_limit_of_at_most_200() {
        assert_eq!(
            parse_message_query("").unwrap(),
            MessageQuery {
                after: 0,
                limit: 50
            }
        );
        assert_eq!(
            parse_message_query("after=7&limit=200").unwrap(),
            MessageQuery {
                after: 7,
                limit: 200
            }
        );
        for (text, word) in [
            ("limit=201", "limit"),
            ("limit=0", "limit"),
            ("after=-1", "after"),
            ("after=x", "after"),
            ("before=3", "before"),
        ] {
            let err = parse_message_query(text).unwrap_err();
            assert_eq!(err.status, 400, "{text}");
            assert!(err.message.contains(word), "{text}: {}", err.message);
        }
    }
}
