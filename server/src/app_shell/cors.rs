//! Cross-origin access for what the scanner app calls (verification, the trust list, the
//! status snapshot), for an app whose 设置 points at another zizhi server or that is served
//! from elsewhere. Only those: they answer the same to everyone, take no cookies and change
//! nothing. The layer sits on that group of routes in [`crate::app::router`]; the issuer and
//! enterprise nests, lookup and pages have none and stay same-origin.

use std::time::Duration;

use axum::http::{HeaderName, Method, header};
use tower_http::cors::{Any, CorsLayer};

pub fn layer() -> CorsLayer {
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
