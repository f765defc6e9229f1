//! The HTTP surface, nested by audience: public, issuer, enterprise, chat.

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use axum::{BoxError, Router};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::util::{MapRequestLayer, option_layer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::AppState;
use crate::error::AppError;
use crate::{auth, chat, copies, pages, ratelimit, register, verify};

/// The whole HTTP surface, nested by who calls it. Authentication, CORS and rate limits are
/// layers on the nests, so a route added to a nest gets its audience's rules whatever its path.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let resilience = state.settings.resilience.clone();
    Router::new()
        .merge(public(&state))
        .nest("/api/v1/issuer", issuer(&state))
        .nest("/api/v1/enterprise", enterprise(&state))
        .nest("/api/v1", copy_files(&state))
        .merge(crate::accounts::sign_in::routes(&state))
        .merge(crate::accounts::frame::static_routes())
        // Merged with their prefix rather than nested: a nested "/" would not answer
        // "/portal/", the address every page links to.
        .merge(crate::portal::router(&state))
        .merge(crate::console::router(&state))
        // Its own per-address budget, high: every follower's message arrives from the
        // platform's few addresses. Signatures gate it, and it limits per follower too.
        .merge(
            chat::router(&state).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                ratelimit::limit_chat,
            )),
        )
        .route("/healthz", get(super::health::healthz))
        .route("/readyz", get(super::health::readyz))
        // Issuer staff only (or a scraper on `metrics_bind`, see `RunningServer`).
        .route(
            "/metrics",
            get(crate::metrics::serve).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_issuer,
            )),
        )
        // One layer of everything every route gets, rather than a `Router::layer` call for
        // each: every such call wraps each route in another boxed service, and each box is
        // cloned and dropped on every request. Outermost first.
        .layer(
            ServiceBuilder::new()
                // Outside the request-id layers, so an unacceptable id is replaced by a fresh
                // one.
                .layer(MapRequestLayer::new(super::headers::bound_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(option_layer(super::headers::hsts(&state)))
                .layer(super::headers::nosniff())
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            // The path can carry a scanned payload; log only the route shape.
                            // Every line logged while the request runs carries its id.
                            let id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            let route = req
                                .extensions()
                                .get::<axum::extract::MatchedPath>()
                                .map_or("-", |p| p.as_str());
                            tracing::info_span!("request", method = %req.method(), route, id = %id)
                        })
                        // One access-log line a request, with its status and time.
                        .on_response(
                            tower_http::trace::DefaultOnResponse::new()
                                .level(tracing::Level::INFO)
                                .latency_unit(tower_http::LatencyUnit::Micros),
                        ),
                )
                // Outside the bounds below, so refused and timed-out requests are counted too.
                .layer(axum::middleware::from_fn_with_state(
                    state.metrics.clone(),
                    crate::metrics::track,
                ))
                // Every limit and handler below reads the client resolved here once.
                .layer(MapRequestLayer::new(crate::client_address::remember(
                    state.proxies.clone(),
                )))
                // Beyond `max_concurrent_requests` in progress a request is refused at once
                // (503 with `Retry-After`) instead of queueing without bound; one running past
                // `request_timeout_secs` is answered 503 and dropped.
                .layer(HandleErrorLayer::new(shed_or_timed_out))
                .load_shed()
                // Global: the layer is put on every route, and a plain concurrency limit
                // would then count each route on its own.
                .layer(GlobalConcurrencyLimitLayer::new(
                    resilience.max_concurrent_requests.max(1),
                ))
                .timeout(Duration::from_secs(resilience.request_timeout_secs.max(1)))
                .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes)),
        )
        .with_state(state)
}

/// Anyone, without credentials: verification, the trust list and the status snapshot (which
/// the scanner app may call from another origin), lookup, the H5 pages and the app itself.
fn public(state: &AppState) -> Router<AppState> {
    let app_reads = app_reads(
        state,
        Router::new()
            .merge(verify::api::routes())
            .merge(crate::snapshot::api::routes())
            .merge(verify::api::trust_list_routes()),
    );
    let lookup = rate_limited(
        state,
        Router::new().nest("/api/v1", register::api::lookup_routes()),
    );
    Router::new()
        .merge(app_reads)
        .merge(lookup)
        .merge(crate::pdf::api::public_routes())
        .route("/api/v1/openapi.json", get(crate::openapi::serve))
        // Rate-limited per client inside, answering with an HTML page when the limit is hit.
        .merge(pages::router(state))
        .merge(crate::app_shell::router())
}

/// The public API's per-client limit, on `routes`; with rate limits turned off, no layer at
/// all rather than one that lets everything through at a cost per request.
pub(super) fn rate_limited(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    if matches!(state.limits.public, ratelimit::RateLimiter::Off) {
        return routes;
    }
    routes.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        ratelimit::limit,
    ))
}

/// What the scanner app calls: rate-limited, and open to other origins. CORS sits outside the
/// limiter, so a refusal reaches the app with its CORS headers, and is a layer (not a route
/// layer) so preflights are answered before method routing would refuse `OPTIONS`.
pub(super) fn app_reads(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    rate_limited(state, routes).layer(crate::app_shell::cors::layer())
}

/// Issuer staff (发证机关), with the issuer token. The nest's own fallback sits under the same
/// layer, so without a token every path in it is refused alike: nothing tells a stranger
/// which routes exist.
fn issuer(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(register::api::issuer_routes())
        .merge(copies::api::issuer_routes())
        .merge(crate::pdf::api::issuer_routes())
        .merge(crate::accounts::invitations::issuer_routes())
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_issuer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_failed_authentication,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_issuer,
        ))
}

/// An enterprise (企业), with its own token.
fn enterprise(state: &AppState) -> Router<AppState> {
    crate::pdf::api::enterprise_routes()
        .fallback(api_not_found)
        // Inside authentication: only a caller with a token reaches a password check.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::password_guesses::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_enterprise,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_failed_authentication,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_enterprise,
        ))
}

/// A copy's files, for the issuer or the enterprise that owns the copy.
fn copy_files(state: &AppState) -> Router<AppState> {
    crate::pdf::api::copy_file_routes()
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_copy_reader,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_failed_authentication,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_enterprise,
        ))
}

/// A request refused for load or time (see `router`).
async fn shed_or_timed_out(e: BoxError) -> AppError {
    if e.is::<tower::timeout::error::Elapsed>() {
        AppError::TimedOut
    } else if e.is::<tower::load_shed::error::Overloaded>() {
        AppError::Overloaded
    } else {
        AppError::Internal(anyhow::anyhow!(e))
    }
}

async fn api_not_found() -> AppError {
    AppError::not_found("not_found", "没有这个接口")
}
