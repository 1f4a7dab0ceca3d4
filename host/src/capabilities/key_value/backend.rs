//! What serves a key-value store: a backend per label, shared by every
//! component declaring it (see `sqlite_backend`, `redis_backend`).

/// One backend per store label. Errors are backend messages for `other(..)`.
#[async_trait::async_trait]
pub trait KeyValueBackend: Send + Sync {
    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, String>;
    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), String>;
    async fn delete(&self, key: String) -> Result<(), String>;
    async fn exists(&self, key: String) -> Result<bool, String>;
    async fn get_keys(&self) -> Result<Vec<String>, String>;
}
