//! Wrong certificate passwords per client address. The per-account lock (in the database,
//! see [`crate::pdf::credentials`]) stops guessing one enterprise's password; this stops one
//! address from guessing across many enterprises' passwords (with tokens it holds). After
//! [`FREE_FAILURES`] wrong passwords an address waits before its next try, twice as long
//! after each further one; forgotten an hour after its last failure. Counted in Redis when
//! configured, so every instance sees the same count; in this process while Redis is away.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::client_address::{self, limit_key};
use crate::error::AppError;
use crate::shared_redis::SharedRedis;

/// Wrong passwords an address may send before it has to wait.
pub const FREE_FAILURES: u32 = 10;
/// The longest wait.
const MOST_WAIT: Duration = Duration::from_secs(3600);

/// Marks a response that refused a wrong password (set by `AppError`'s response).
#[derive(Debug, Clone, Copy)]
pub struct WrongPasswordAnswered;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    wait_until: Option<Instant>,
}

/// Shared through Redis when configured; each account's lock is shared through the database
/// in any case.
#[derive(Clone)]
pub struct PasswordGuesses {
    local: moka::sync::Cache<IpAddr, Failures>,
    shared: Option<SharedRedis>,
}

impl Default for PasswordGuesses {
    fn default() -> Self {
        PasswordGuesses::new(None)
    }
}

/// How long the `count`-th wrong password from one address makes it wait, if at all.
fn wait_after(count: u32) -> Option<Duration> {
    let doublings = count.checked_sub(FREE_FAILURES)?.min(6);
    Some((Duration::from_secs(60) * 2u32.pow(doublings)).min(MOST_WAIT))
}

impl PasswordGuesses {
    pub fn new(redis: Option<SharedRedis>) -> PasswordGuesses {
        PasswordGuesses {
            local: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(MOST_WAIT)
                .build(),
            shared: redis,
        }
    }

    /// Seconds `ip` must still wait, if it must.
    async fn wait(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        if let Some(redis) = &self.shared {
            let key = redis.key("pw:wait", ip);
            // PTTL: -2 when there is no wait, else the milliseconds left.
            let left = redis
                .call(|mut conn| async move {
                    redis::cmd("PTTL")
                        .arg(&key)
                        .query_async::<i64>(&mut conn)
                        .await
                })
                .await;
            if let Ok(ms) = left {
                return (ms > 0).then(|| (ms as u64).div_ceil(1000));
            }
        }
        let until = self.local.get(&ip)?.wait_until?;
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    async fn record(&self, ip: IpAddr, now: Instant) -> u32 {
        if let Some(redis) = &self.shared {
            let (count_key, wait_key) = (redis.key("pw:count", ip), redis.key("pw:wait", ip));
            let counted = redis
                .call(|mut conn| async move {
                    let (count,): (u32,) = redis::pipe()
                        .atomic()
                        .incr(&count_key, 1u32)
                        .expire(&count_key, MOST_WAIT.as_secs() as i64)
                        .ignore()
                        .query_async(&mut conn)
                        .await?;
                    if let Some(wait) = wait_after(count) {
                        redis::cmd("SET")
                            .arg(&wait_key)
                            .arg(1)
                            .arg("PX")
                            .arg(wait.as_millis() as u64)
                            .query_async::<()>(&mut conn)
                            .await?;
                    }
                    Ok(count)
                })
                .await;
            if let Ok(count) = counted {
                return count;
            }
        }
        let mut f = self.local.get(&ip).unwrap_or(Failures {
            count: 0,
            wait_until: None,
        });
        f.count += 1;
        if let Some(wait) = wait_after(f.count) {
            f.wait_until = Some(now + wait);
        }
        self.local.insert(ip, f);
        f.count
    }
}

/// Middleware of the enterprise nest: refuses an address that must wait before the request
/// reaches the password check, and counts the wrong passwords it sends.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = limit_key(client_address::of(&req, &state.proxies));
    let guesses = &state.password_guesses;
    if let Some(retry_after_secs) = guesses.wait(ip, Instant::now()).await {
        tracing::warn!(%ip, "certificate password refused: too many wrong ones from this address");
        return AppError::PasswordLocked { retry_after_secs }.into_response();
    }
    let res = next.run(req).await;
    if res.extensions().get::<WrongPasswordAnswered>().is_some() {
        let failures = guesses.record(ip, Instant::now()).await;
        tracing::warn!(%ip, failures, "wrong certificate password from this address");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_waits_after_ten_wrong_passwords_twice_as_long_each_time() {
        let g = PasswordGuesses::default();
        let ip: IpAddr = "198.51.100.40".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            g.record(ip, t0).await;
            assert_eq!(g.wait(ip, t0).await, None);
        }
        g.record(ip, t0).await;
        assert_eq!(g.wait(ip, t0).await, Some(60));
        g.record(ip, t0).await;
        assert_eq!(g.wait(ip, t0).await, Some(120));
        assert_eq!(g.wait(ip, t0 + Duration::from_secs(121)).await, None);
        assert_eq!(g.wait("198.51.100.41".parse().unwrap(), t0).await, None);
    }
}
