//! Helpers for the fast router tests: an [`AppState`] on a fresh SQLite file, and requests
//! sent through `oneshot` without a socket.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

use crate::app::{AppState, router};
use crate::settings::{RateLimitSettings, Settings};

/// The issuer API's bearer token in tests.
pub const TOKEN: &str = "test-issuer-token-for-router-tests-0123";

/// Settings for a test: everything under `dir`, a known issuer token, no rate limit.
pub fn settings(dir: &TempDir) -> Settings {
    let defaults = Settings::default();
    Settings {
        database_url: format!("sqlite://{}/z.db", dir.path().display()),
        data_dir: dir.path().join("data"),
        issuer_token: Some(SecretString::from(TOKEN)),
        rate_limit: RateLimitSettings {
            enabled: false,
            ..defaults.rate_limit.clone()
        },
        ..defaults
    }
}

/// A whole application on its own temporary database and data directory.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    _dir: TempDir,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with(|_| {}).await
    }

    /// Like [`TestApp::new`], with `edit` applied to the settings first.
    pub async fn with(edit: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = settings(&dir);
        edit(&mut s);
        let state = AppState::build(s).await.expect("app state builds");
        TestApp {
            router: router(state.clone()),
            state,
            _dir: dir,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let (parts, body) = res.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.expect("body reads").to_bytes(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// An issuer call with the bearer token and an optional JSON body.
    pub async fn issuer(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }
}

/// A response, read to the end.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
