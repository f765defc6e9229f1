//! Prometheus metrics (`/metrics`, OpenMetrics text): requests by route and status with their
//! latency, verdicts by level and state, the status cache's hits, misses and answers given
//! without the database, Redis and database failures, and the database pool. One registry per
//! running server (not a process-wide one), so servers started side by side in tests count
//! apart.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::app::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Standard methods by name, any other as `other`.
    pub method: &'static str,
    /// The route pattern (`/api/v1/verify/{code}`), never the path itself: a path can carry
    /// a scanned payload, and patterns keep the label set small.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub level: &'static str,
    /// The certificate's state, `none` when it is not known (a rejected signature, the
    /// register unreadable).
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `local_hit`, `shared_hit`, `miss`, `served_as_of` or `unavailable`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `in_use` or `idle`.
    pub state: &'static str,
}

/// The server's metrics; cheap to share (every metric is a handle on shared counters).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub verdicts: Family<VerdictLabels, Counter>,
    pub cache: Family<CacheLabels, Counter>,
    /// Redis calls that failed or timed out (the caller went on without Redis).
    pub redis_failures: Counter,
    /// Requests or status reads that found the database unreachable.
    pub database_unavailable: Counter,
    /// Reads of the register's event log made to keep cached statuses current.
    pub event_log_reads: Counter,
    /// Signature checks made together (`verify::batch`), by how many were in one.
    pub signature_batch_sizes: Histogram,
    pool: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("zizhi");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to about 16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route",
            latency.clone(),
        );
        let verdicts = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "verdicts",
            "Verification answers by level and certificate state",
            verdicts.clone(),
        );
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "status_cache",
            "Live-status reads by where the answer came from",
            cache.clone(),
        );
        let redis_failures = Counter::default();
        registry.register(
            "redis_failures",
            "Redis calls that failed or timed out; the server went on without Redis",
            redis_failures.clone(),
        );
        let event_log_reads = Counter::default();
        registry.register(
            "event_log_reads",
            "Reads of the register's event log that keep cached statuses current; each answers for every request waiting when it started",
            event_log_reads.clone(),
        );
        // 1 to 64.
        let signature_batch_sizes = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        registry.register(
            "signature_batch_size",
            "Scans whose signatures were checked together, per check (1: on its own)",
            signature_batch_sizes.clone(),
        );
        let database_unavailable = Counter::default();
        registry.register(
            "database_unavailable",
            "Reads or writes that found the database unreachable",
            database_unavailable.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "database_pool_connections",
            "Database connections of this instance",
            pool.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            verdicts,
            cache,
            redis_failures,
            database_unavailable,
            event_log_reads,
            signature_batch_sizes,
            pool,
        }
    }
}

impl Metrics {
    pub fn cache_result(&self, result: &'static str) {
        self.cache.get_or_create(&CacheLabels { result }).inc();
    }

    /// The OpenMetrics text, with the pool sampled now.
    pub fn render(&self, pool_size: u32, pool_idle: usize) -> String {
        let idle = pool_idle as i64;
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(idle);
        self.pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(pool_size) - idle);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Counts every request by route pattern and status, and its latency.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = RouteLabels {
        route: req
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str)
            .to_owned(),
    };
    let res = next.run(req).await;
    metrics
        .latency
        .get_or_create(&route)
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// A method as a label; anything but the standard ones is `other`, so a client cannot grow
/// the label set with made-up methods.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// `GET /metrics`.
pub async fn serve(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.store.pool();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(pool.size(), pool.num_idle()),
    )
}
