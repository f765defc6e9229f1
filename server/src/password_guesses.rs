//! Wrong certificate passwords per client address. The per-account lock (in the database,
//! see [`crate::pdf::credentials`]) stops guessing one enterprise's password; this stops one
//! address from guessing across many enterprises' passwords (with tokens it holds). After
//! [`FREE_FAILURES`] wrong passwords an address waits before its next try, twice as long
//! after each further one; forgotten an hour after its last failure.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::client_address::{self, limit_key};
use crate::error::AppError;

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

/// Per instance (a guesser spread over instances still meets every account's lock, which all
/// instances share through the database).
#[derive(Clone)]
pub struct PasswordGuesses(moka::sync::Cache<IpAddr, Failures>);

impl Default for PasswordGuesses {
    fn default() -> Self {
        PasswordGuesses(
            moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(MOST_WAIT)
                .build(),
        )
    }
}

impl PasswordGuesses {
    /// Seconds `ip` must still wait, if it must.
    fn wait(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let until = self.0.get(&ip)?.wait_until?;
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    fn record(&self, ip: IpAddr, now: Instant) -> Failures {
        let mut f = self.0.get(&ip).unwrap_or(Failures {
            count: 0,
            wait_until: None,
        });
        f.count += 1;
        if f.count >= FREE_FAILURES {
            let doublings = (f.count - FREE_FAILURES).min(6);
            let wait = (Duration::from_secs(60) * 2u32.pow(doublings)).min(MOST_WAIT);
            f.wait_until = Some(now + wait);
        }
        self.0.insert(ip, f);
        f
    }
}

/// Middleware of the enterprise nest: refuses an address that must wait before the request
/// reaches the password check, and counts the wrong passwords it sends.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = limit_key(client_address::of(&req, &state.proxies));
    let guesses = &state.password_guesses;
    if let Some(retry_after_secs) = guesses.wait(ip, Instant::now()) {
        tracing::warn!(%ip, "certificate password refused: too many wrong ones from this address");
        return AppError::PasswordLocked { retry_after_secs }.into_response();
    }
    let res = next.run(req).await;
    if res.extensions().get::<WrongPasswordAnswered>().is_some() {
        let f = guesses.record(ip, Instant::now());
        tracing::warn!(%ip, failures = f.count, "wrong certificate password from this address");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_ten_wrong_passwords_twice_as_long_each_time() {
        let g = PasswordGuesses::default();
        let ip: IpAddr = "198.51.100.40".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            g.record(ip, t0);
            assert_eq!(g.wait(ip, t0), None);
        }
        g.record(ip, t0);
        assert_eq!(g.wait(ip, t0), Some(60));
        g.record(ip, t0);
        assert_eq!(g.wait(ip, t0), Some(120));
        assert_eq!(g.wait(ip, t0 + Duration::from_secs(121)), None);
        assert_eq!(g.wait("198.51.100.41".parse().unwrap(), t0), None);
    }
}
