//! Live-status cache (实时状态缓存) in front of the register: in-process by default, Redis when
//! configured so every instance sees a change at once.
//!
//! Correctness rests on generations, not on timing: a writer bumps the certificate's
//! generation after its transaction commits; an entry is only served while it carries the
//! generation current when its data was read, so a reader that loaded old data just before a
//! commit can never make it live again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use zizhi_shared::CertificateNumber;

use crate::register::model::CertificateStatus;
use crate::shared_redis::SharedRedis;
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub enum LiveStatusCache {
    InProcess(Arc<InProcessCache>),
    Redis(RedisCache),
}

pub struct InProcessCache {
    entries: moka::future::Cache<CertificateNumber, Arc<Option<CertificateStatus>>>,
    generation: AtomicU64,
}

#[derive(Clone)]
pub struct RedisCache {
    redis: SharedRedis,
    ttl_secs: u64,
    /// Decoded entries kept in this instance, each valid only while its generation is the
    /// one Redis holds: a repeat scan costs one small GET and no decoding.
    local: moka::future::Cache<CertificateNumber, (u64, Arc<Option<CertificateStatus>>)>,
}

#[derive(Serialize, Deserialize)]
struct RedisEntry {
    generation: u64,
    status: Option<CertificateStatus>,
}

impl RedisCache {
    fn entry_key(&self, n: &CertificateNumber) -> String {
        self.redis.key("status", n)
    }

    fn generation_key(&self, n: &CertificateNumber) -> String {
        self.redis.key("gen", n)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl LiveStatusCache {
    /// Shared through `redis` when there is one, else kept in this process.
    pub fn new(ttl: Duration, redis: Option<SharedRedis>) -> LiveStatusCache {
        fn local<V: Clone + Send + Sync + 'static>(
            ttl: Duration,
        ) -> moka::future::Cache<CertificateNumber, V> {
            moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build()
        }
        match redis {
            Some(redis) => LiveStatusCache::Redis(RedisCache {
                redis,
                ttl_secs: ttl.as_secs().max(1),
                local: local(ttl),
            }),
            None => LiveStatusCache::InProcess(Arc::new(InProcessCache {
                entries: local(ttl),
                generation: AtomicU64::new(0),
            })),
        }
    }

    /// The certificate's status, from the cache when it is current, from the store otherwise.
    pub async fn status(
        &self,
        store: &Store,
        number: &CertificateNumber,
    ) -> Result<Arc<Option<CertificateStatus>>, CacheError> {
        match self {
            LiveStatusCache::InProcess(m) => {
                if let Some(hit) = m.entries.get(number).await {
                    return Ok(hit);
                }
                let generation = m.generation.load(Ordering::Acquire);
                let loaded = Arc::new(store.certificate_status(number).await?);
                m.entries.insert(number.clone(), loaded.clone()).await;
                if m.generation.load(Ordering::Acquire) != generation {
                    // A change committed while we read: our copy may predate it.
                    m.entries.invalidate(number).await;
                }
                Ok(loaded)
            }
            LiveStatusCache::Redis(r) => {
                let mut conn = r.redis.conn();
                let generation: Option<u64> = conn.get(r.generation_key(number)).await?;
                let generation = generation.unwrap_or(0);
                if let Some((g, status)) = r.local.get(number).await
                    && g == generation
                {
                    return Ok(status);
                }
                let entry: Option<Vec<u8>> = conn.get(r.entry_key(number)).await?;
                if let Some(bytes) = entry
                    && let Ok(e) = serde_json::from_slice::<RedisEntry>(&bytes)
                    && e.generation == generation
                {
                    let status = Arc::new(e.status);
                    r.local
                        .insert(number.clone(), (generation, status.clone()))
                        .await;
                    return Ok(status);
                }
                let status = store.certificate_status(number).await?;
                let bytes = serde_json::to_vec(&RedisEntry {
                    generation,
                    status: status.clone(),
                })
                .expect("status serialises");
                let _: () = conn.set_ex(r.entry_key(number), bytes, r.ttl_secs).await?;
                let status = Arc::new(status);
                r.local
                    .insert(number.clone(), (generation, status.clone()))
                    .await;
                Ok(status)
            }
        }
    }

    /// Called after a change to the certificate has committed.
    pub async fn invalidate(&self, number: &CertificateNumber) -> Result<(), CacheError> {
        match self {
            LiveStatusCache::InProcess(m) => {
                m.generation.fetch_add(1, Ordering::AcqRel);
                m.entries.invalidate(number).await;
            }
            LiveStatusCache::Redis(r) => {
                let mut conn = r.redis.conn();
                let _: u64 = conn.incr(r.generation_key(number), 1u64).await?;
            }
        }
        Ok(())
    }
}
