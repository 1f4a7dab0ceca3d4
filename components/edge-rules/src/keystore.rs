//! API keys in the gateway's own key-value store (label `gateway`).
//!
//! Layout: `key/<id>` holds the record (for listing and revoking); `hash/<sha256>` holds it too,
//! so authenticating a request is one lookup. Creating writes `key/` first and revoking deletes
//! `hash/` first, so a half-done change never leaves a usable key that cannot be listed.

use service_kit::ApiError;
use spin_sdk::key_value::Store;

use crate::keys::{hash_secret, KeyRecord};

const LABEL: &str = "gateway";

pub struct KeyStore {
    store: Store,
}

impl KeyStore {
    pub fn open() -> Result<KeyStore, ApiError> {
        Ok(KeyStore {
            store: Store::open(LABEL)?,
        })
    }

    pub fn create(&self, record: &KeyRecord) -> Result<(), ApiError> {
        let json = serde_json::to_vec(record).map_err(ApiError::storage)?;
        self.store.set(&record_key(&record.id), &json)?;
        self.store.set(&hash_key(&record.hash), &json)?;
        Ok(())
    }

    /// The key whose secret is `secret`, if it exists and is not revoked.
    pub fn authenticate(&self, secret: &str) -> Result<Option<KeyRecord>, ApiError> {
        self.read(&hash_key(&hash_secret(secret)))
    }

    pub fn get(&self, id: &str) -> Result<Option<KeyRecord>, ApiError> {
        self.read(&record_key(id))
    }

    /// Every key, oldest first.
    pub fn list(&self) -> Result<Vec<KeyRecord>, ApiError> {
        let mut records = Vec::new();
        for key in self.store.get_keys()? {
            if key.starts_with("key/") {
                if let Some(record) = self.read(&key)? {
                    records.push(record);
                }
            }
        }
        records.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(records)
    }

    /// Revokes the key at once; `false` if there was none.
    pub fn revoke(&self, id: &str) -> Result<bool, ApiError> {
        let Some(record) = self.get(id)? else {
            return Ok(false);
        };
        self.store.delete(&hash_key(&record.hash))?;
        self.store.delete(&record_key(id))?;
        Ok(true)
    }

    fn read(&self, key: &str) -> Result<Option<KeyRecord>, ApiError> {
        match self.store.get(key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|err| ApiError::storage(format!("key record {key}: {err}"))),
            None => Ok(None),
        }
    }
}

fn record_key(id: &str) -> String {
    format!("key/{id}")
}

fn hash_key(hash: &str) -> String {
    format!("hash/{hash}")
}
