//! Per-client rate limits on public endpoints: `governor` in-process, or a fixed window in
//! Redis when configured so every instance counts against the same budget.

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
    },
}

impl RateLimiter {
    /// Shared through `redis` when there is one, else counted in this process.
    pub fn new(s: &RateLimitSettings, redis: Option<SharedRedis>) -> RateLimiter {
        if !s.enabled {
            return RateLimiter::Off;
        }
        let per_minute = s.per_minute.max(1);
        match redis {
            Some(redis) => RateLimiter::Redis {
                redis,
                per_minute,
                burst: s.burst,
            },
            None => {
                let quota = Quota::per_minute(NonZeroU32::new(per_minute).expect("nonzero"))
                    .allow_burst(NonZeroU32::new(s.burst.max(1)).expect("nonzero"));
                RateLimiter::InProcess(Arc::new(governor::RateLimiter::keyed(quota)))
            }
        }
    }

    /// `Ok(())` when the client may go on, otherwise the seconds to wait.
    async fn check(&self, ip: IpAddr) -> Result<(), u64> {
        match self {
            RateLimiter::Off => Ok(()),
            RateLimiter::InProcess(l) => l.check_key(&ip).map_err(|not_until| {
                let clock = governor::clock::DefaultClock::default();
                not_until
                    .wait_time_from(governor::clock::Clock::now(&clock))
                    .as_secs()
                    + 1
            }),
            RateLimiter::Redis {
                redis,
                per_minute,
                burst,
            } => {
                let now = chrono::Utc::now().timestamp();
                let window = now / 60;
                let key = redis.key("rl", format_args!("{ip}:{window}"));
                let mut conn = redis.conn();
                let res: Result<(u64,), _> = redis::pipe()
                    .atomic()
                    .incr(&key, 1u64)
                    .expire(&key, 120)
                    .ignore()
                    .query_async(&mut conn)
                    .await;
                match res {
                    Ok((count,)) if count > u64::from(per_minute + burst) => {
                        Err((60 - now % 60) as u64)
                    }
                    Ok(_) => Ok(()),
                    Err(e) => {
                        // A cache outage must not take verification down with it.
                        tracing::warn!(error = %e, "rate limit check skipped: redis unavailable");
                        Ok(())
                    }
                }
            }
        }
    }
}

fn client_ip(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Middleware for the public routes.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(&req, state.settings.trust_forwarded_for);
    match state.limiter.check(ip).await {
        Ok(()) => next.run(req).await,
        Err(retry_after_secs) => AppError::RateLimited { retry_after_secs }.into_response(),
    }
}
