//! Retries: when a reply is slow the platform delivers the same message again (up to three
//! times). The first delivery claims the message's key and answers it; a retry gets the stored
//! answer, waits briefly for it while the first is still working, or says nothing. Shared
//! through Redis when configured, so a retry that lands on another instance is caught too.

use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::shared_redis::SharedRedis;

/// Retries come within about 15 s; a minute covers them with room to spare.
const KEEP_SECS: u64 = 60;

/// What a delivery finds when it claims its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The first delivery: answer it, then [`Dedupe::finish`].
    First,
    /// Another delivery is still answering.
    Pending,
    /// Already answered; the stored reply XML, or `None` when the answer was `success`.
    Done(Option<String>),
}

#[derive(Clone)]
enum Slot {
    Pending,
    Done(Option<String>),
}

/// Where claims live: Redis shared by every instance when configured and answering, else
/// this process (also while Redis is away: a retry that lands on another instance then may be
/// answered twice, which beats not answering).
#[derive(Clone)]
pub struct Dedupe {
    local: moka::future::Cache<String, Slot>,
    shared: Option<SharedRedis>,
}

// Values stored in Redis: a marker byte, then the reply.
const PENDING: &str = "P";
const DONE_REPLY: char = 'R';
const DONE_NOTHING: &str = "N";

impl Dedupe {
    /// Shared through `redis` when there is one, else kept in this process.
    pub fn new(redis: Option<SharedRedis>) -> Dedupe {
        Dedupe {
            local: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(KEEP_SECS))
                .build(),
            shared: redis,
        }
    }

    fn redis_key(redis: &SharedRedis, key: &str) -> String {
        redis.key("chat:seen", key)
    }

    pub async fn claim(&self, key: &str) -> Claim {
        if let Some(redis) = &self.shared {
            let k = Self::redis_key(redis, key);
            // SET NX EX: only one instance wins the key, and it expires on its own.
            let won = redis
                .call(|mut conn| async move {
                    let won: Option<String> = redis::cmd("SET")
                        .arg(&k)
                        .arg(PENDING)
                        .arg("NX")
                        .arg("EX")
                        .arg(KEEP_SECS)
                        .query_async(&mut conn)
                        .await?;
                    if won.is_some() {
                        return Ok(Claim::First);
                    }
                    Self::peek_redis(&mut conn, &k).await
                })
                .await;
            if let Ok(claim) = won {
                return claim;
            }
        }
        let entry = self
            .local
            .entry(key.to_owned())
            .or_insert(Slot::Pending)
            .await;
        if entry.is_fresh() {
            Claim::First
        } else {
            match entry.into_value() {
                Slot::Pending => Claim::Pending,
                Slot::Done(r) => Claim::Done(r),
            }
        }
    }

    async fn peek_redis(conn: &mut ConnectionManager, k: &str) -> Result<Claim, redis::RedisError> {
        let v: Option<String> = redis::cmd("GET").arg(k).query_async(conn).await?;
        Ok(match v.as_deref() {
            // Expired between SET and GET: the first delivery is long gone.
            None | Some(PENDING) => Claim::Pending,
            Some(DONE_NOTHING) => Claim::Done(None),
            Some(s) => match s.strip_prefix(DONE_REPLY) {
                Some(xml) => Claim::Done(Some(xml.to_owned())),
                None => Claim::Pending,
            },
        })
    }

    /// Looks again at a key another delivery holds.
    pub async fn peek(&self, key: &str) -> Claim {
        if let Some(Slot::Done(r)) = self.local.get(key).await {
            return Claim::Done(r);
        }
        if let Some(redis) = &self.shared {
            let k = Self::redis_key(redis, key);
            if let Ok(claim) = redis
                .call(|mut conn| async move { Self::peek_redis(&mut conn, &k).await })
                .await
            {
                return claim;
            }
        }
        Claim::Pending
    }

    /// Whether a delivery of `key` is being answered right now (claimed, not yet finished),
    /// here or on another instance.
    pub async fn is_pending(&self, key: &str) -> bool {
        match self.local.get(key).await {
            Some(Slot::Pending) => return true,
            Some(Slot::Done(_)) => return false,
            None => {}
        }
        if let Some(redis) = &self.shared {
            let k = Self::redis_key(redis, key);
            let v = redis
                .call(|mut conn| async move {
                    redis::cmd("GET")
                        .arg(&k)
                        .query_async::<Option<String>>(&mut conn)
                        .await
                })
                .await;
            return matches!(v, Ok(Some(v)) if v == PENDING);
        }
        false
    }

    /// Stores the answer of the first delivery for its retries: here, and in Redis when it
    /// answers.
    pub async fn finish(&self, key: &str, reply_xml: Option<&str>) {
        self.local
            .insert(key.to_owned(), Slot::Done(reply_xml.map(str::to_owned)))
            .await;
        if let Some(redis) = &self.shared {
            let v = match reply_xml {
                Some(xml) => format!("{DONE_REPLY}{xml}"),
                None => DONE_NOTHING.to_owned(),
            };
            let k = Self::redis_key(redis, key);
            let stored = redis
                .call(|mut conn| async move {
                    redis::cmd("SET")
                        .arg(k)
                        .arg(v)
                        .arg("EX")
                        .arg(KEEP_SECS)
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if let Err(e) = stored {
                tracing::warn!(error = %e, "chat reply not shared for retries");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_the_first_claim_wins_and_retries_get_its_reply() {
        let d = Dedupe::new(None);
        assert_eq!(d.claim("msg:1").await, Claim::First);
        assert_eq!(d.claim("msg:1").await, Claim::Pending);
        d.finish("msg:1", Some("<xml/>")).await;
        assert_eq!(d.claim("msg:1").await, Claim::Done(Some("<xml/>".into())));
        assert_eq!(d.claim("msg:2").await, Claim::First);
        d.finish("msg:2", None).await;
        assert_eq!(d.peek("msg:2").await, Claim::Done(None));
        assert!(!d.is_pending("msg:2").await);
        assert!(!d.is_pending("msg:3").await, "never claimed");
        assert_eq!(d.claim("msg:3").await, Claim::First);
        assert!(d.is_pending("msg:3").await);
    }
}
