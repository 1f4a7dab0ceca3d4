//! `Idempotency-Key` on a creating request: a retried request with the same key gets the first
//! result back instead of creating a second one. Each service stores the key with a fingerprint of
//! the request, in the transaction that creates the resource, so a reused key with a different
//! request is recognised (422) and concurrent retries cannot both create. The key's rule and the
//! fingerprint are the same everywhere; what a key is scoped to belongs to each service.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ApiError;

pub const HEADER: &str = "idempotency-key";
/// Set on a response that replays the first result.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_CHARS: usize = 255;

/// Checks a key: 1 to 255 printable ASCII characters (400 otherwise).
pub fn parse_key(header: &str) -> Result<String, ApiError> {
    let key = header.trim();
    if key.is_empty()
        || key.len() > MAX_KEY_CHARS
        || !key.bytes().all(|b| (b' '..=b'~').contains(&b))
    {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key: must be 1 to {MAX_KEY_CHARS} printable ASCII characters"
        )));
    }
    Ok(key.to_owned())
}

/// What identifies the request behind a key: a SHA-256 of the validated request, so the same
/// request sent with different JSON spacing or field order still matches.
pub fn fingerprint(request: &impl Serialize) -> String {
    // Field order is fixed by the struct, and JSON strings are quoted: the text is canonical.
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Pair {
        a: String,
        b: String,
    }

    fn print(a: &str, b: &str) -> String {
        fingerprint(&Pair {
            a: a.into(),
            b: b.into(),
        })
    }

    #[test]
    fn fingerprints_are_sha256_hex_and_tell_fields_apart() {
        assert_eq!(print("ada", "hi"), print("ada", "hi"));
        assert_eq!(print("ada", "hi").len(), 64);
        assert_ne!(print("ada", "hi"), print("bob", "hi"));
        // No ambiguity from where one field ends and the next begins.
        assert_ne!(print("ab", "c"), print("a", "bc"));
    }

    #[test]
    fn keys_are_one_to_255_printable_characters() {
        assert_eq!(parse_key(" retry-1 ").unwrap(), "retry-1");
        assert!(parse_key(&"k".repeat(255)).is_ok());
        for bad in ["", "   ", &"k".repeat(256), "k\u{1}", "ключ"] {
            let err = parse_key(bad).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(err.message.contains("Idempotency-Key"), "{err:?}");
        }
    }
}
