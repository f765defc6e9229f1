//! Per-client rate limits on public endpoints: `governor` in-process, or a fixed window in
//! Redis when configured so every instance counts against the same budget. While Redis does
//! not answer, each instance counts on its own (the same budget, per instance).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::app::AppState;
use crate::error::AppError;
use crate::settings::RateLimitSettings;
use crate::shared_redis::SharedRedis;

#[derive(Clone)]
pub enum RateLimiter {
    Off,
    InProcess(Arc<DefaultKeyedRateLimiter<IpAddr>>),
    Redis {
        redis: SharedRedis,
        per_minute: u32,
        burst: u32,
        /// Counts while Redis is away.
        fallback: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    },
}

impl RateLimiter {
    /// Shared through `redis` when there is one, else counted in this process.
    pub fn new(s: &RateLimitSettings, redis: Option<SharedRedis>) -> RateLimiter {
        if !s.enabled {
            return RateLimiter::Off;
        }
        let per_minute = s.per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).expect("nonzero"))
            .allow_burst(NonZeroU32::new(s.burst.max(1)).expect("nonzero"));
        let in_process = Arc::new(governor::RateLimiter::keyed(quota));
        forget_idle_clients(Arc::downgrade(&in_process));
        match redis {
            Some(redis) => RateLimiter::Redis {
                redis,
                per_minute,
                burst: s.burst,
                fallback: in_process,
            },
            None => RateLimiter::InProcess(in_process),
        }
    }

    fn check_in_process(l: &DefaultKeyedRateLimiter<IpAddr>, ip: IpAddr) -> Result<(), u64> {
        l.check_key(&ip).map_err(|not_until| {
            let clock = governor::clock::DefaultClock::default();
            not_until
                .wait_time_from(governor::clock::Clock::now(&clock))
                .as_secs()
                + 1
        })
    }

    /// `Ok(())` when the client may go on, otherwise the seconds to wait.
    async fn check(&self, ip: IpAddr) -> Result<(), u64> {
        match self {
            RateLimiter::Off => Ok(()),
            RateLimiter::InProcess(l) => Self::check_in_process(l, ip),
            RateLimiter::Redis {
                redis,
                per_minute,
                burst,
                fallback,
            } => {
                let now = chrono::Utc::now().timestamp();
                let window = now / 60;
                let key = redis.key("rl", format_args!("{ip}:{window}"));
                let counted = redis
                    .call(|mut conn| async move {
                        redis::pipe()
                            .atomic()
                            .incr(&key, 1u64)
                            .expire(&key, 120)
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
                    Err(_) => Self::check_in_process(fallback, ip),
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

/// The client's address. Behind the trusted proxy, the last `X-Forwarded-For` entry: the
/// one the proxy itself appended (or set) from the connection it accepted. Entries before it
/// are whatever the client chose to send, so never a key.
fn client_ip(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
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
    let ip = client_ip(&req, state.settings.trust_forwarded_for);
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

/// Middleware for the public routes.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(&req, state.settings.trust_forwarded_for);
    match state.limiter.check(ip).await {
        Ok(()) => next.run(req).await,
        Err(retry_after_secs) => AppError::RateLimited { retry_after_secs }.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings(per_minute: u32, burst: u32) -> RateLimitSettings {
        RateLimitSettings {
            enabled: true,
            per_minute,
            burst,
        }
    }

    fn request(forwarded: &[&str]) -> Request {
        let mut b = axum::http::Request::builder().uri("/api/v1/verify");
        for f in forwarded {
            b = b.header("x-forwarded-for", *f);
        }
        let mut req = b.body(axum::body::Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 2], 40000))));
        req
    }

    #[test]
    fn behind_the_proxy_the_key_is_the_entry_the_proxy_added_not_what_the_client_sent() {
        let ip = |f: &[&str]| client_ip(&request(f), true).to_string();
        // The client sent "1.2.3.4"; the proxy appended the address it saw.
        assert_eq!(ip(&["1.2.3.4, 198.51.100.9"]), "198.51.100.9");
        assert_eq!(ip(&["1.2.3.4", "198.51.100.9"]), "198.51.100.9");
        assert_eq!(ip(&["198.51.100.9"]), "198.51.100.9");
        // Garbage or nothing: the connection's address.
        assert_eq!(ip(&["1.2.3.4, not-an-address"]), "10.0.0.2");
        assert_eq!(ip(&[]), "10.0.0.2");
        // Not behind a trusted proxy: the header is ignored.
        assert_eq!(
            client_ip(&request(&["198.51.100.9"]), false).to_string(),
            "10.0.0.2"
        );
    }

    #[tokio::test]
    async fn a_client_whose_budget_refilled_is_forgotten() {
        let limiter = RateLimiter::new(&settings(6000, 1), None);
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
        let limiter = RateLimiter::new(&settings(60, 3), Some(redis));
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
}
