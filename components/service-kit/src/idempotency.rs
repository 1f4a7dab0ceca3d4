//! `Idempotency-Key` on a creating request: a retried request with the same key gets the first
//! result back instead of creating a second one. Each service stores the key with a fingerprint of
//! the request, in the transaction that creates the resource, so a reused key with a different
//! request is recognised (422) and concurrent retries cannot both create. The key's rule and the
//! fingerprint are the same everywhere; what a key is scoped to belongs to each service.

use serde::Serialize;
use sha2::{Digest, Sha256};

use spin_sdk::sqlite::{Connection, Value};

use crate::db::{col_int, col_text, exec, first_row, int, text};
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

/// The first result of a key: what a retry with the same key gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedResult {
    pub fingerprint: String,
    /// The id of what the first request created (a ticket, a message's `seq`, a post).
    pub resource_id: i64,
    /// The response body as first sent.
    pub response: String,
}

/// A service's table of keys: one row per `(scope, key)` (its primary key, so a second first
/// result for the same key fails), with the columns `key`, `fingerprint`, `response`,
/// `created_at`, the scope column and the created resource's id column. Each service declares
/// the table in its schema; the reads and writes are the same everywhere.
pub struct KeyTable {
    pub table: &'static str,
    /// The column a key is scoped to (a customer, a conversation, an author).
    pub scope: &'static str,
    /// The column holding the created resource's id.
    pub resource: &'static str,
}

impl KeyTable {
    /// The first result saved for `key` in `scope`, if any.
    pub fn find(
        &self,
        conn: &Connection,
        scope: Value,
        key: &str,
    ) -> Result<Option<SavedResult>, ApiError> {
        let sql = format!(
            "SELECT fingerprint, {resource} AS resource_id, response FROM {table}
             WHERE {scope} = ? AND key = ?",
            resource = self.resource,
            table = self.table,
            scope = self.scope,
        );
        let result = exec(conn, &sql, &[scope, text(key)])?;
        Ok(first_row(&result, |row| SavedResult {
            fingerprint: col_text(row, "fingerprint"),
            resource_id: col_int(row, "resource_id"),
            response: col_text(row, "response"),
        }))
    }

    /// Records a key's first result, in the transaction that created the resource.
    pub fn save(
        &self,
        conn: &Connection,
        scope: Value,
        key: &str,
        saved: &SavedResult,
        now: i64,
    ) -> Result<(), ApiError> {
        let sql = format!(
            "INSERT INTO {table} ({scope}, key, fingerprint, {resource}, response, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
            table = self.table,
            scope = self.scope,
            resource = self.resource,
        );
        let params = [
            scope,
            text(key),
            text(&saved.fingerprint),
            int(saved.resource_id),
            text(&saved.response),
            int(now),
        ];
        exec(conn, &sql, &params)?;
        Ok(())
    }
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
