//! Messages: what a sender may send (1 to 4,000 characters) and what a message shows. Its `seq`
//! is assigned by the store, inside the write transaction, so it is gapless per conversation.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use service_kit::clock::format_millis;
use utoipa::ToSchema;

use crate::conversation::parse_user_id;
use crate::error::{invalid, ChatError};

pub const MAX_TEXT_CHARS: usize = 4_000;

/// A `POST /chat/conversations/{id}/messages` body, as received (unknown fields refused).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(description = "A message to send (unknown fields are refused).")]
pub struct NewMessageBody {
    /// The sending user: a member of the conversation.
    #[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub sender: String,
    /// 1 to 4,000 characters (Unicode code points).
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

/// A message to send, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMessage {
    pub sender: String,
    pub text: String,
}

pub fn parse_new_message(body: Value) -> Result<NewMessage, ChatError> {
    let body: NewMessageBody = serde_json::from_value(body)
        .map_err(|err| ChatError::Invalid(format!("invalid message: {err}")))?;
    let sender = parse_user_id("sender", &body.sender)?;
    let chars = body.text.chars().count();
    if !(1..=MAX_TEXT_CHARS).contains(&chars) {
        return Err(invalid(
            "text",
            format!("1 to {MAX_TEXT_CHARS} characters, got {chars}"),
        ));
    }
    Ok(NewMessage {
        sender,
        text: body.text,
    })
}

/// A stored message. `sent_at` is Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub conversation_id: i64,
    pub seq: i64,
    pub sender: String,
    pub text: String,
    pub sent_at: i64,
}

impl Message {
    pub fn view(&self) -> MessageView {
        MessageView {
            conversation_id: self.conversation_id,
            seq: self.seq,
            sender: self.sender.clone(),
            text: self.text.clone(),
            sent_at: format_millis(self.sent_at),
        }
    }
}

/// A message on the wire (and in `chat.message.sent`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    #[schema(minimum = 1)]
    pub conversation_id: i64,
    /// 1 for the first message of the conversation, then one more for each: no gaps.
    #[schema(minimum = 1)]
    pub seq: i64,
    #[schema(pattern = "^[a-z0-9_-]{1,32}$", min_length = 1, max_length = 32)]
    pub sender: String,
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub sent_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_is_one_to_4000_characters_from_a_user() {
        let body = |sender: &str, text: &str| json!({ "sender": sender, "text": text });
        for text in ["h", " ", "line\nbreak", &"é".repeat(4000)] {
            let new = parse_new_message(body("ada", text)).unwrap();
            assert_eq!((new.sender.as_str(), new.text.as_str()), ("ada", text));
        }
        for (sender, text, field) in [
            ("ada", "", "text:"),
            ("ada", &"x".repeat(4001), "text:"),
            ("Ada", "hi", "sender:"),
            ("", "hi", "sender:"),
        ] {
            let err = parse_new_message(body(sender, text)).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.to_string().starts_with(field), "{err}");
        }
    }

    #[test]
    fn unknown_or_missing_fields_are_refused() {
        for body in [
            json!({ "sender": "ada" }),
            json!({ "text": "hi" }),
            json!({ "sender": "ada", "text": "hi", "to": "bob" }),
            json!({ "sender": "ada", "text": 5 }),
        ] {
            assert_eq!(
                parse_new_message(body.clone()).unwrap_err().status(),
                400,
                "{body}"
            );
        }
    }
}

#[cfg(test)]
mod fingerprint_tests {
    //! The fingerprint an `Idempotency-Key` is stored with sees the validated request.
    use super::parse_new_message;
    use serde_json::json;
    use service_kit::idempotency::fingerprint;

    fn print(body: serde_json::Value) -> String {
        fingerprint(&parse_new_message(body).unwrap())
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint() {
        let a = print(json!({ "sender": "ada", "text": "hi" }));
        let b = print(serde_json::from_str(r#"{"text":"hi",  "sender":"ada"}"#).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn a_different_request_has_a_different_fingerprint() {
        let base = print(json!({ "sender": "ada", "text": "hi" }));
        assert_ne!(base, print(json!({ "sender": "bob", "text": "hi" })));
        assert_ne!(base, print(json!({ "sender": "ada", "text": "hi!" })));
        assert_ne!(
            print(json!({ "sender": "ab", "text": "c" })),
            print(json!({ "sender": "a", "text": "bc" }))
        );
    }
}
