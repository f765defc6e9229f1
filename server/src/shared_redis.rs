//! The Redis that instances share when one is configured: one connection manager and one key
//! namespace, handed to each piece of shared state (the live-status cache, rate limits, chat
//! retries). Each of those is an enum of the same shape, `InProcess` or `Redis`, built from an
//! `Option<SharedRedis>`: without Redis every instance keeps its own.

use std::sync::Arc;

use redis::aio::ConnectionManager;

#[derive(Clone)]
pub struct SharedRedis {
    conn: ConnectionManager,
    namespace: Arc<str>,
}

impl SharedRedis {
    pub async fn connect(url: &str, namespace: &str) -> Result<SharedRedis, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(SharedRedis {
            conn: ConnectionManager::new(client).await?,
            namespace: namespace.into(),
        })
    }

    /// A connection to use for one operation (the manager multiplexes; cloning is cheap).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// `<namespace>:<kind>:<id>`: every key of every instance sharing this namespace.
    pub fn key(&self, kind: &str, id: impl std::fmt::Display) -> String {
        format!("{}:{kind}:{id}", self.namespace)
    }
}
