//! `Idempotency-Key` on sending a message: a retried request with the same key (per conversation)
//! gets the first message back instead of sending a second one. The key is stored with a
//! fingerprint of the request, in the transaction that assigns the message's `seq`, so a reused
//! key with a different request is recognised (422) and concurrent retries cannot both send.

use sha2::{Digest, Sha256};

use crate::error::{invalid, ChatError};
use crate::message::NewMessage;

pub const HEADER: &str = "idempotency-key";
/// Set on a response that replays the first result.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_CHARS: usize = 255;

/// Checks a key: 1 to 255 printable ASCII characters.
pub fn parse_key(header: &str) -> Result<String, ChatError> {
    let key = header.trim();
    if key.is_empty()
        || key.len() > MAX_KEY_CHARS
        || !key.bytes().all(|b| (b' '..=b'~').contains(&b))
    {
        return Err(invalid(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_CHARS} printable ASCII characters"),
        ));
    }
    Ok(key.to_owned())
}

/// What identifies the request behind a key: a SHA-256 of the validated message, so the same
/// request sent with different JSON spacing or field order still matches.
pub fn fingerprint(message: &NewMessage) -> String {
    // Field order is fixed by the struct, and JSON strings are quoted: the text is canonical.
    let canonical = serde_json::to_vec(message).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_new_message;
    use serde_json::json;

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

    #[test]
    fn keys_are_one_to_255_printable_characters() {
        assert_eq!(parse_key(" retry-1 ").unwrap(), "retry-1");
        assert!(parse_key(&"k".repeat(255)).is_ok());
        for bad in ["", "   ", &"k".repeat(256), "k\u{1}", "ключ"] {
            let err = parse_key(bad).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.to_string().contains("Idempotency-Key"), "{err}");
        }
    }
}
