//! Nonces already used: the platform signs the timestamp and nonce of every call, and a
//! timestamp is accepted for [`MAX_AGE_SECS`] either way, so a captured call (URL and body)
//! could otherwise be replayed for that long. Each (timestamp, nonce) is accepted once;
//! shared through Redis when configured, so a replay to another instance is caught too, and
//! kept in this process while Redis does not answer.
//!
//! The platform's retries of a slow delivery are still answered: a repeat whose message is
//! still being answered waits for that answer (see `chat::receive`), and a retry that comes
//! with a fresh nonce is an ordinary delivery, answered from [`super::dedupe`].

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::signature::MAX_AGE_SECS;
use crate::shared_redis::SharedRedis;

/// A nonce is remembered as long as its timestamp could be accepted: up to five minutes old
/// or five minutes ahead.
const KEEP: Duration = Duration::from_secs(2 * MAX_AGE_SECS as u64 + 60);

#[derive(Clone)]
pub struct Nonces {
    local: moka::sync::Cache<[u8; 32], ()>,
    shared: Option<SharedRedis>,
}

impl Nonces {
    pub fn new(redis: Option<SharedRedis>) -> Nonces {
        Nonces {
            // The chat endpoint's per-address limit bounds how fast this fills; a million
            // 32-byte keys is a few tens of megabytes.
            local: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(KEEP)
                .build(),
            shared: redis,
        }
    }

    /// Whether this is the first use of `(timestamp, nonce)`; remembers it either way.
    pub async fn first_use(&self, timestamp: &str, nonce: &str) -> bool {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(timestamp.as_bytes())
            .chain_update([0])
            .chain_update(nonce.as_bytes())
            .finalize()
            .into();
        if let Some(redis) = &self.shared {
            let key = redis.key("chat:nonce", hex::encode(digest));
            let won = redis
                .call(|mut conn| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(1)
                        .arg("NX")
                        .arg("EX")
                        .arg(KEEP.as_secs())
                        .query_async::<Option<String>>(&mut conn)
                        .await
                })
                .await;
            if let Ok(won) = won {
                // Kept here too, so a replay during a later Redis outage is still caught by
                // this instance.
                self.local.insert(digest, ());
                return won.is_some();
            }
        }
        let entry = self.local.entry(digest).or_insert(());
        entry.is_fresh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timestamp_and_nonce_are_accepted_once() {
        let n = Nonces::new(None);
        assert!(n.first_use("1700000000", "abc").await);
        assert!(!n.first_use("1700000000", "abc").await);
        assert!(n.first_use("1700000001", "abc").await);
        assert!(n.first_use("1700000000", "abd").await);
    }
}
