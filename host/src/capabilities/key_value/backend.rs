//! What serves a key-value store: a backend per label, shared by every
//! component declaring it.

use super::config::KeyValueConfig;
use super::redis_backend::RedisBackend;
use super::sqlite_backend::SqliteFileBackend;
use anyhow::Result;
use std::sync::Arc;

/// One backend per store label. Errors are backend messages for `other(..)`.
#[async_trait::async_trait]
pub trait KeyValueBackend: Send + Sync {
    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, String>;
    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), String>;
    async fn delete(&self, key: String) -> Result<(), String>;
    async fn exists(&self, key: String) -> Result<bool, String>;
    async fn get_keys(&self) -> Result<Vec<String>, String>;
}

/// Opens the backend a label is configured with.
pub fn open_backend(label: &str, config: &KeyValueConfig) -> Result<Arc<dyn KeyValueBackend>> {
    Ok(match config {
        KeyValueConfig::Spin { path } => Arc::new(SqliteFileBackend::open(label, path.as_deref())?),
        KeyValueConfig::Redis { url } => Arc::new(RedisBackend::new(url)?),
    })
}
