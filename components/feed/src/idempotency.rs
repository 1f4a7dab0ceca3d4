//! `Idempotency-Key` on publishing a post: a retried request with the same key (per author) gets
//! the first post back instead of publishing a second one. The key is stored with a fingerprint of
//! the request, in the transaction that stores the post, so a reused key with a different request
//! is recognised (422) and concurrent retries cannot both publish.

use sha2::{Digest, Sha256};

use crate::error::{invalid, FeedError};
use crate::post::NewPost;

pub const HEADER: &str = "idempotency-key";
/// Set on a response that replays the first result.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_CHARS: usize = 255;

/// Checks a key: 1 to 255 printable ASCII characters.
pub fn parse_key(header: &str) -> Result<String, FeedError> {
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

/// What identifies the request behind a key: a SHA-256 of the validated post, so the same
/// request sent with different JSON spacing or field order still matches.
pub fn fingerprint(post: &NewPost) -> String {
    // Field order is fixed by the struct, and JSON strings are quoted: the text is canonical.
    let canonical = serde_json::to_vec(post).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::parse_new_post;
    use serde_json::json;

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
