//! Key-value on Redis (`type = "redis"` in runtime config). The connection is
//! made on first use, so the host starts even while Redis is still coming up.

use super::backend::KeyValueBackend;
use anyhow::{Context, Result};
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use tokio::sync::OnceCell;

/// One label's store on a Redis server.
pub struct RedisBackend {
    client: redis::Client,
    connection: OnceCell<MultiplexedConnection>,
}

impl RedisBackend {
    pub fn new(url: &str) -> Result<RedisBackend> {
        let client =
            redis::Client::open(url).with_context(|| format!("invalid Redis url {url:?}"))?;
        Ok(RedisBackend {
            client,
            connection: OnceCell::new(),
        })
    }

    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        self.connection
            .get_or_try_init(|| self.client.get_multiplexed_async_connection())
            .await
            .cloned()
            .map_err(|e| format!("{e:?}"))
    }
}

#[async_trait::async_trait]
impl KeyValueBackend for RedisBackend {
    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, String> {
        let mut conn = self.connection().await?;
        conn.get(key).await.map_err(|e| format!("{e:?}"))
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), String> {
        let mut conn = self.connection().await?;
        conn.set(key, value).await.map_err(|e| format!("{e:?}"))
    }

    async fn delete(&self, key: String) -> Result<(), String> {
        let mut conn = self.connection().await?;
        conn.del(key).await.map_err(|e| format!("{e:?}"))
    }

    async fn exists(&self, key: String) -> Result<bool, String> {
        let mut conn = self.connection().await?;
        conn.exists(key).await.map_err(|e| format!("{e:?}"))
    }

    async fn get_keys(&self) -> Result<Vec<String>, String> {
        let mut conn = self.connection().await?;
        conn.keys("*").await.map_err(|e| format!("{e:?}"))
    }
}
