//! `Idempotency-Key` on ticket creation: a retried request with the same key (per customer) gets the
//! first result back instead of creating a second ticket. The key is stored with a fingerprint of
//! the request, in the transaction that creates the ticket, so a reused key with a different
//! request is recognised (422) and concurrent retries cannot both create one.

use sha2::{Digest, Sha256};

use crate::error::{invalid, SupportError};
use crate::ticket::NewTicket;

pub const HEADER: &str = "idempotency-key";
/// Set on a response that replays the first result.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_CHARS: usize = 255;

/// Checks a key: 1 to 255 printable ASCII characters.
pub fn parse_key(header: &str) -> Result<String, SupportError> {
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

/// What identifies the request behind a key: a SHA-256 of the validated ticket with its defaults
/// applied, so the same request sent with different JSON spacing or field order still matches.
pub fn fingerprint(ticket: &NewTicket) -> String {
    // Field order is fixed by the struct, so this text is canonical.
    let canonical = serde_json::to_vec(ticket).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::parse_new_ticket;
    use serde_json::json;

    fn print(body: serde_json::Value) -> String {
        fingerprint(&parse_new_ticket(body).unwrap())
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint() {
        let a = print(json!({ "subject": "s", "description": "d", "priority": "normal" }));
        let b = print(
            serde_json::from_str(r#"{"priority":"normal",  "description":"d","subject":"s"}"#)
                .unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        // Defaults are part of the request: omitting them is the same request.
        assert_eq!(
            print(json!({ "subject": "s", "description": "" })),
            print(json!({ "subject": "s", "priority": "normal" }))
        );
    }

    #[test]
    fn a_different_request_has_a_different_fingerprint() {
        let base = print(json!({ "subject": "s", "description": "d" }));
        assert_ne!(base, print(json!({ "subject": "s2", "description": "d" })));
        assert_ne!(base, print(json!({ "subject": "s", "description": "d2" })));
        assert_ne!(
            base,
            print(json!({ "subject": "s", "description": "d", "priority": "high" }))
        );
        // No ambiguity from where one field ends and the next begins.
        assert_ne!(
            print(json!({ "subject": "ab", "description": "c" })),
            print(json!({ "subject": "a", "description": "bc" }))
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
