//! API keys: what a key grants, how a new one is checked and minted, and how secrets are hashed.
//! Only the SHA-256 of a secret is ever stored; the secret is shown once, when it is created.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_SCOPES: usize = 64;
pub const DEFAULT_RATE_PER_MINUTE: u64 = 600;
pub const MAX_RATE_PER_MINUTE: u64 = 1_000_000;
/// Prefix of every secret, so a leaked one is recognisable (e.g. by secret scanners).
const SECRET_PREFIX: &str = "gwk_";
/// A key id: this prefix and 16 lowercase hex digits.
const ID_PREFIX: &str = "key_";
const ID_HEX_DIGITS: usize = 16;

/// Whether `id` has the shape of a key id, so anything else is answered without a lookup.
pub fn is_key_id(id: &str) -> bool {
    id.strip_prefix(ID_PREFIX).is_some_and(|hex| {
        hex.len() == ID_HEX_DIGITS && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A stored key: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub rate_per_minute: u64,
    pub created_at: String,
    /// Hex SHA-256 of the secret.
    pub hash: String,
}

/// A key as the admin API shows it (no hash, no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub scopes: &'a [String],
    pub rate_per_minute: u64,
    pub created_at: &'a str,
}

impl KeyRecord {
    pub fn view(&self) -> KeyView<'_> {
        KeyView {
            id: &self.id,
            name: &self.name,
            scopes: &self.scopes,
            rate_per_minute: self.rate_per_minute,
            created_at: &self.created_at,
        }
    }
}

/// The body of `POST /admin/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub rate_per_minute: Option<u64>,
}

/// A freshly minted key: the record to store and the secret to show once.
pub struct Minted {
    pub record: KeyRecord,
    pub secret: String,
}

impl NewKey {
    /// Checks the request against the registry and mints the key.
    pub fn mint(self, services: &[String], created_at: String) -> Result<Minted, String> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("name: must be 1 to {MAX_NAME_CHARS} characters"));
        }
        if self.scopes.is_empty() || self.scopes.len() > MAX_SCOPES {
            return Err(format!("scopes: give 1 to {MAX_SCOPES} scopes"));
        }
        let mut scopes: Vec<String> = Vec::new();
        for scope in self.scopes {
            let known = scope.split_once(':').is_some_and(|(service, access)| {
                services.iter().any(|name| name == service) && matches!(access, "read" | "write")
            });
            if !known {
                return Err(format!(
                    "scopes: {scope:?} is not <service>:read or <service>:write for a service of {}",
                    services.join(", ")
                ));
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let rate_per_minute = self.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
        if !(1..=MAX_RATE_PER_MINUTE).contains(&rate_per_minute) {
            return Err(format!(
                "rate_per_minute: must be from 1 to {MAX_RATE_PER_MINUTE}"
            ));
        }
        let secret = format!("{SECRET_PREFIX}{}", random_hex(2));
        let id = format!("{ID_PREFIX}{}", &random_hex(1)[..ID_HEX_DIGITS]);
        Ok(Minted {
            record: KeyRecord {
                id,
                name,
                scopes,
                rate_per_minute,
                created_at,
                hash: hash_secret(&secret),
            },
            secret,
        })
    }
}

/// Hex SHA-256: secrets are long and random, so a plain fast hash is enough to make a stolen
/// store useless (no dictionary to try).
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time independent of where they differ (and of their lengths, by
/// comparing digests).
pub fn secrets_match(given: &str, expected: &str) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    given.ct_eq(&expected).into()
}

/// `uuids` random v4 UUIDs as hex (122 random bits each).
fn random_hex(uuids: usize) -> String {
    (0..uuids)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<String> {
        vec!["support".into(), "visits".into()]
    }

    fn new_key(scopes: &[&str], rate: Option<u64>) -> NewKey {
        NewKey {
            name: " ci ".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            rate_per_minute: rate,
        }
    }

    #[test]
    fn minting_stores_only_the_hash() {
        let minted = new_key(&["support:read", "support:read", "visits:write"], None)
            .mint(&services(), "now".into())
            .unwrap();
        assert!(minted.secret.starts_with("gwk_") && minted.secret.len() == 68);
        assert_eq!(minted.record.hash, hash_secret(&minted.secret));
        assert!(!serde_json::to_string(&minted.record)
            .unwrap()
            .contains(&minted.secret));
        assert_eq!(minted.record.name, "ci");
        assert_eq!(minted.record.scopes, ["support:read", "visits:write"]);
        assert_eq!(minted.record.rate_per_minute, DEFAULT_RATE_PER_MINUTE);
        let view = serde_json::to_value(minted.record.view()).unwrap();
        assert!(view.get("hash").is_none());
    }

    #[test]
    fn bad_requests_are_named() {
        for (key, word) in [
            (new_key(&[], None), "scopes"),
            (new_key(&["support:admin"], None), "support:admin"),
            (new_key(&["billing:read"], None), "billing:read"),
            (new_key(&["support:read"], Some(0)), "rate_per_minute"),
            (
                new_key(&["support:read"], Some(MAX_RATE_PER_MINUTE + 1)),
                "rate_per_minute",
            ),
            (
                NewKey {
                    name: "  ".into(),
                    ..new_key(&["support:read"], None)
                },
                "name",
            ),
        ] {
            let err = key.mint(&services(), "now".into()).err().unwrap();
            assert!(err.contains(word), "{err}");
        }
        assert!(
            serde_json::from_str::<NewKey>(r#"{"name":"a","scopes":[],"admin":true}"#).is_err()
        );
    }

    #[test]
    fn minted_ids_have_the_id_shape() {
        let minted = new_key(&["support:read"], None)
            .mint(&services(), "now".into())
            .unwrap();
        assert!(is_key_id(&minted.record.id), "{}", minted.record.id);
        assert!(!is_key_id("key_"));
        assert!(!is_key_id("key_0123456789ABCDEF"));
        assert!(!is_key_id(&"x".repeat(3000)));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secrets_match("s3cret", "s3cret"));
        assert!(!secrets_match("s3cret", "s3cre"));
        assert!(!secrets_match("", "s3cret"));
    }

    #[test]
    fn minted_keys_differ() {
        let a = new_key(&["support:read"], None)
            .mint(&services(), "now".into())
            .unwrap();
        let b = new_key(&["support:read"], None)
            .mint(&services(), "now".into())
            .unwrap();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.record.id, b.record.id);
    }
}
