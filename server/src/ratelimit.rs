//! Per-client rate limits on every audience (public, issuer, enterprise, chat), each with its
//! own budget: `governor` in-process, or a fixed window in Redis when configured so every
//! instance counts against the same budget. Clients are told apart by
//! [`crate::client_address`]. While Redis does
//! not answer, each instance counts on its own (the same budget, per instance).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::app::AppState;
use crate::client_address::{self, limit_key};
use crate::error::AppError;
use crate::settings::{Budget, RateLimitSettings};
use crate::shared_redis::SharedRedis;

/// One limiter per audience, each with its own budget and its own count.
#[derive(Clone)]
pub struct RateLimits {
    pub public: RateLimiter,
    pub issuer: RateLimiter,
    pub enterprise: RateLimiter,
    pub chat: RateLimiter,
}

impl RateLimits {
    pub fn new(s: &RateLimitSettings, redis: Option<SharedRedis>) -> RateLimits {
        let one = |group, budget| RateLimiter::new(s.enabled, group, budget, redis.clone());
        RateLimits {
            public: one("public", s.public()),
            issuer: one("issuer", s.issuer),
            enterprise: one("enterprise", s.enterprise),
            chat: one("chat", s.chat),
        }
    }
}

#[derive(Clone)]
pub enum RateLimiter {
    Off,
    InProcess(Arc<DefaultKeyedRateLimiter<IpAddr>>),
    Redis {
        redis: SharedRedis,
        /// Part of the Redis key, so each audience counts apart.
        group: &'static str,
        per_minute: u32,
        burst: u32,
        /// Counts while Redis is away.
        fallback: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    },
}

impl RateLimiter {
    /// Shared through `redis` when there is one, else counted in this process.
    pub fn new(
        enabled: bool,
        group: &'static str,
        budget: Budget,
        redis: Option<SharedRedis>,
    ) -> RateLimiter {
        if !enabled {
            return RateLimiter::Off;
        }
        let per_minute = budget.per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).expect("nonzero"))
            .allow_burst(NonZeroU32::new(budget.burst.max(1)).expect("nonzero"));
        let in_process = Arc::new(governor::RateLimiter::keyed(quota));
        forget_idle_clients(Arc::downgrade(&in_process));
        match redis {
            Some(redis) => RateLimiter::Redis {
                redis,
                group,
                per_minute,
                burst: budget.burst,
                fallback: in_process,
            },
            None => RateLimiter::InProcess(in_process),
        }
    }

    fn check_in_process(l: &DefaultKeyedRateLimiter<IpAddr>, key: IpAddr) -> Result<(), u64> {
        l.check_key(&key).map_err(|not_until| {
            let clock = governor::clock::DefaultClock::default();
            not_until
                .wait_time_from(governor::clock::Clock::now(&clock))
                .as_secs()
                + 1
        })
    }

    /// `Ok(())` when the client may go on, otherwise the seconds to wait. IPv6 clients count
    /// by their /64 (see [`limit_key`]).
    pub async fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let key = limit_key(ip);
        match self {
            RateLimiter::Off => Ok(()),
            RateLimiter::InProcess(l) => Self::check_in_process(l, key),
            RateLimiter::Redis {
                redis,
                group,
                per_minute,
                burst,
                fallback,
            } => {
                let now = chrono::Utc::now().timestamp();
                let window = now / 60;
                let k = redis.key("rl", format_args!("{group}:{key}:{window}"));
                let counted = redis
                    .call(|mut conn| async move {
                        redis::pipe()
                            .atomic()
                            .incr(&k, 1u64)
                            .expire(&k, 120)
                            .ignore()
                            .query_async::<(u64,)>(&mut conn)
                            .await
                    })
                    .await;
                match counted {
                    Ok((count,)) if count > u64::from(per_minute + burst) => {
                        Err((60 - now % 60) as u64)
                    }
                    Ok(_) => Ok(()),
                    // A cache outage must not take verification down with it, nor lift the
                    // limit: this instance counts alone until Redis answers again.
                    Err(_) => Self::check_in_process(fallback, key),
                }
            }
        }
    }
}

/// A keyed limiter remembers every client it has seen; once a minute, those whose budget has
/// refilled are forgotten, so memory follows the clients of the last minute, not of all time.
fn forget_idle_clients(limiter: std::sync::Weak<DefaultKeyedRateLimiter<IpAddr>>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            let Some(l) = limiter.upgrade() else { return };
            l.retain_recent();
            l.shrink_to_fit();
        }
    });
}

/// Failed authentications per client address (wrong or missing token), per instance: beyond
/// [`AUTH_FAILURES_PER_MINUTE`] a client is refused before its token is even looked at, so
/// tokens cannot be guessed at speed nor a right guess be told from a refusal.
#[derive(Clone)]
pub struct AuthFailures(moka::sync::Cache<IpAddr, u32>);

pub const AUTH_FAILURES_PER_MINUTE: u32 = 20;

impl Default for AuthFailures {
    fn default() -> Self {
        AuthFailures(
            moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
        )
    }
}

/// Middleware outside the issuer's and the enterprises' authentication layers.
pub async fn limit_failed_authentication(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let ip = limit_key(client_address::of(&req, &state.proxies));
    let failures = &state.auth_failures.0;
    if failures.get(&ip).unwrap_or(0) >= AUTH_FAILURES_PER_MINUTE {
        tracing::warn!(%ip, "authentication refused: too many failures");
        return AppError::RateLimited {
            retry_after_secs: 60,
        }
        .into_response();
    }
    let res = next.run(req).await;
    if res.status() == axum::http::StatusCode::UNAUTHORIZED {
        let n = failures.get(&ip).unwrap_or(0) + 1;
        failures.insert(ip, n);
        tracing::warn!(%ip, failures = n, "authentication failed");
    }
    res
}

async fn limit_with(limiter: &RateLimiter, state: &AppState, req: Request, next: Next) -> Response {
    let ip = client_address::of(&req, &state.proxies);
    match limiter.check(ip).await {
        Ok(()) => next.run(req).await,
        Err(retry_after_secs) => AppError::RateLimited { retry_after_secs }.into_response(),
    }
}

/// Middleware for the public routes.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limit_with(&state.limits.public, &state, req, next).await
}

/// Middleware of the issuer nest, outside authentication: a client is counted whether or
/// not its token is right.
pub async fn limit_issuer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limit_with(&state.limits.issuer, &state, req, next).await
}

/// Middleware of the enterprise nest and the copy files.
pub async fn limit_enterprise(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limit_with(&state.limits.enterprise, &state, req, next).await
}

/// Middleware of the official-account endpoint, per source address.
pub async fn limit_chat(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limit_with(&state.limits.chat, &state, req, next).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limiter(per_minute: u32, burst: u32, redis: Option<SharedRedis>) -> RateLimiter {
        RateLimiter::new(true, "public", Budget { per_minute, burst }, redis)
    }

    #[tokio::test]
    async fn a_client_whose_budget_refilled_is_forgotten() {
        let limiter = limiter(6000, 1, None);
        let RateLimiter::InProcess(l) = &limiter else {
            panic!("in-process without Redis")
        };
        for i in 0..50u8 {
            let _ = limiter.check(IpAddr::from([192, 0, 2, i])).await;
        }
        assert_eq!(l.len(), 50);
        // 6000 a minute: one request's budget refills in 10 ms.
        tokio::time::sleep(Duration::from_millis(50)).await;
        l.retain_recent();
        assert_eq!(l.len(), 0, "idle clients are not kept");
    }

    #[tokio::test]
    async fn without_redis_answering_each_instance_still_counts_every_client_alone() {
        // Nothing listens on port 1: every Redis call fails at once.
        let redis = SharedRedis::connect(
            "redis://127.0.0.1:1",
            "zizhi_test",
            Duration::from_millis(50),
            Default::default(),
        )
        .unwrap();
        let limiter = limiter(60, 3, Some(redis));
        let (a, b): (IpAddr, IpAddr) = (
            "203.0.113.7".parse().unwrap(),
            "203.0.113.8".parse().unwrap(),
        );
        for _ in 0..3 {
            assert_eq!(limiter.check(a).await, Ok(()));
        }
        let wait = limiter
            .check(a)
            .await
            .expect_err("the fourth request is over the burst");
        assert!((1..=2).contains(&wait), "{wait}");
        assert_eq!(
            limiter.check(b).await,
            Ok(()),
            "another client has its own budget"
        );
    }

    #[tokio::test]
    async fn rotating_through_one_ipv6_slash_64_does_not_escape_the_limit() {
        let limiter = limiter(60, 3, None);
        for i in 0..3u16 {
            let ip: IpAddr = format!("2001:db8:7:7::{i:x}").parse().unwrap();
            assert_eq!(limiter.check(ip).await, Ok(()));
        }
        let rotated: IpAddr = "2001:db8:7:7:dead:beef:1:2".parse().unwrap();
        assert!(
            limiter.check(rotated).await.is_err(),
            "same /64, same budget"
        );
        let neighbour: IpAddr = "2001:db8:7:8::1".parse().unwrap();
        assert_eq!(limiter.check(neighbour).await, Ok(()), "another /64");
    }
}
