//! Cross-origin access to the public read endpoints the app calls, for an app whose 设置
//! points at another zizhi server (or an app served from elsewhere). Only these endpoints:
//! they answer the same to everyone, take no cookies and change nothing. The issuer and
//! enterprise APIs stay same-origin.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower::{Layer, ServiceExt};
use tower_http::cors::{Any, CorsLayer};

/// Paths answered with CORS headers (and whose preflights are answered here).
fn is_public_read(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/verify" | "/.well-known/zizhi/trust-list" | "/api/v1/status/snapshot"
    ) || path
        .strip_prefix("/api/v1/verify/")
        .is_some_and(|code| !code.is_empty() && !code.contains('/'))
}

fn layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(24 * 3600))
}

/// Middleware for the whole router: CORS on the public read endpoints, nothing elsewhere.
/// Applied outside the routes so a preflight (`OPTIONS`) is answered before routing, which
/// would otherwise refuse the method.
pub async fn public_reads(req: Request, next: Next) -> Response {
    if !is_public_read(req.uri().path()) {
        return next.run(req).await;
    }
    match layer().layer(next).oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_public_read_endpoints_are_shared_across_origins() {
        for p in [
            "/api/v1/verify",
            "/api/v1/verify/AEBAGBAFAYDQ",
            "/.well-known/zizhi/trust-list",
            "/api/v1/status/snapshot",
        ] {
            assert!(is_public_read(p), "{p}");
        }
        for p in [
            "/api/v1/verify/",
            "/api/v1/issuer/events",
            "/api/v1/certificates/D231000001",
            "/app/",
            "/api/v1/copies/1.pdf",
        ] {
            assert!(!is_public_read(p), "{p}");
        }
    }
}
