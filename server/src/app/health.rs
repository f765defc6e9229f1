//! Liveness and readiness, for load balancers and orchestrators: `/healthz` says the process
//! answers; `/readyz` says whether it can serve, with each part reported on its own, so a
//! Redis outage marks the instance degraded (it still answers correctly) and only a database
//! outage marks it not ready.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;

#[derive(Debug, Serialize)]
pub struct Readiness {
    /// `ready`, `degraded` (Redis away: correct but slower, limits per instance) or
    /// `unavailable` (no database: verdicts say the status cannot be read, writes refused).
    pub status: &'static str,
    /// `ok` or `unavailable`.
    pub database: &'static str,
    /// `ok`, `unavailable` or `not_configured`.
    pub redis: &'static str,
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let budget = Duration::from_millis(state.settings.resilience.status_read_budget_ms.max(1));
    let database = match tokio::time::timeout(budget, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        _ => "unavailable",
    };
    let redis = match &state.redis {
        None => "not_configured",
        Some(r) => match r.ping().await {
            Ok(()) => "ok",
            Err(_) => "unavailable",
        },
    };
    let (code, status) = match (database, redis) {
        ("ok", "unavailable") => (StatusCode::OK, "degraded"),
        ("ok", _) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    (
        code,
        Json(Readiness {
            status,
            database,
            redis,
        }),
    )
        .into_response()
}
