//! The Redis that instances share when one is configured: one connection manager and one key
//! namespace, handed to each piece of shared state (the live-status cache, rate limits, chat
//! retries). Each of those is built from an `Option<SharedRedis>`: without Redis every instance
//! keeps its own.
//!
//! Redis is a cache, never a point of failure: every call goes through [`SharedRedis::call`],
//! which bounds it in time and, once Redis has failed, stops asking for a moment, so callers
//! fall back to what they do without Redis at no cost in latency. The connection manager
//! reconnects on its own; nothing needs a restart when Redis returns.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// After a failure, calls skip Redis for this long before one tries again.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_millis(1000);

#[derive(Clone)]
pub struct SharedRedis {
    conn: ConnectionManager,
    namespace: Arc<str>,
    timeout: Duration,
    health: Arc<Health>,
}

struct Health {
    /// Instant (as nanoseconds since `epoch`) before which calls do not try Redis.
    paused_until_nanos: AtomicU64,
    /// Whether the last call failed: logged on the change only, not on every request.
    down: AtomicBool,
    /// Calls that failed or timed out (`/metrics`).
    failures: Counter,
}

/// Redis did not answer in time, or answered with an error; the caller goes on without it.
#[derive(Debug, thiserror::Error)]
pub enum RedisUnavailable {
    #[error("redis skipped after a recent failure")]
    Paused,
    #[error("redis did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("redis: {0}")]
    Failed(#[from] redis::RedisError),
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl SharedRedis {
    /// Prepares the connection without waiting for it: an instance starts (and serves from
    /// its database) while Redis is down, and uses Redis as soon as it answers.
    pub fn connect(
        url: &str,
        namespace: &str,
        timeout: Duration,
        failures: Counter,
    ) -> Result<SharedRedis, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout.max(Duration::from_millis(100))))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        Ok(SharedRedis {
            conn: ConnectionManager::new_lazy_with_config(client, config)?,
            namespace: namespace.into(),
            timeout,
            health: Arc::new(Health {
                paused_until_nanos: AtomicU64::new(0),
                down: AtomicBool::new(false),
                failures,
            }),
        })
    }

    /// Runs one Redis operation within the timeout. While Redis is known to be failing the
    /// call returns at once; one call a second tries again.
    pub async fn call<T, F, Fut>(&self, op: F) -> Result<T, RedisUnavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let now = epoch().elapsed().as_nanos() as u64;
        if now < self.health.paused_until_nanos.load(Ordering::Relaxed) {
            return Err(RedisUnavailable::Paused);
        }
        let result = match tokio::time::timeout(self.timeout, op(self.conn.clone())).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RedisUnavailable::Failed(e)),
            Err(_) => Err(RedisUnavailable::TimedOut(self.timeout)),
        };
        match &result {
            Ok(_) => {
                if self.health.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis answers again");
                }
            }
            Err(e) => {
                self.health.failures.inc();
                let until = epoch().elapsed() + PAUSE_AFTER_FAILURE;
                self.health
                    .paused_until_nanos
                    .store(until.as_nanos() as u64, Ordering::Relaxed);
                if !self.health.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "redis unavailable: going on without it");
                }
            }
        }
        result
    }

    /// Asks Redis now, ignoring the pause (for readiness checks).
    pub async fn ping(&self) -> Result<(), RedisUnavailable> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(
            self.timeout.max(Duration::from_millis(200)),
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(RedisUnavailable::Failed(e)),
            Err(_) => Err(RedisUnavailable::TimedOut(self.timeout)),
        }
    }

    /// `<namespace>:<kind>:<id>`: every key of every instance sharing this namespace.
    pub fn key(&self, kind: &str, id: impl std::fmt::Display) -> String {
        format!("{}:{kind}:{id}", self.namespace)
    }
}
