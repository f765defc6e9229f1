//! Building the application: state, router, and a running server handle that tests start on
//! port 0.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use chrono::Utc;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use zizhi_shared::CertificateNumber;

use crate::cache::StatusCache;
use crate::keys::KeyRing;
use crate::ratelimit::{self, RateLimiter};
use crate::settings::Settings;
use crate::store::Store;
use crate::{chat, copies, pages, register, verify};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cache: StatusCache,
    pub keys: Arc<KeyRing>,
    pub settings: Arc<Settings>,
    pub limiter: RateLimiter,
    pub issuer_token: Arc<SecretString>,
    /// Fonts and PDF signing keys for certificate documents.
    pub documents: crate::documents::keys::DocumentKeys,
}

impl AppState {
    /// Connects the store and cache and loads (or, on first start, creates) the keys.
    pub async fn build(settings: Settings) -> anyhow::Result<AppState> {
        let store = Store::connect(&settings.database_url)
            .await
            .context("cannot open the database")?;
        let ttl = Duration::from_secs(settings.cache_ttl_secs.max(1));
        let cache = match &settings.redis_url {
            Some(url) => StatusCache::redis(url, &settings.redis_namespace, ttl)
                .await
                .context("cannot connect to Redis")?,
            None => StatusCache::memory(ttl),
        };
        let now = Utc::now();
        let keys = KeyRing::load_or_create(
            &settings.data_dir,
            &settings.issuer_name,
            now.date_naive(),
            now,
        )?;
        let issuer_token = match &settings.issuer_token {
            Some(t) => t.clone(),
            None => load_or_create_token(&settings.data_dir)?,
        };
        let limiter = RateLimiter::new(&settings.rate_limit, cache.redis_connection());
        let documents = crate::documents::keys::DocumentKeys::load(
            &settings.documents,
            &settings.data_dir,
            &settings.issuer_name,
            now,
        )?;
        Ok(AppState {
            store,
            cache,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
            limiter,
            issuer_token: Arc::new(issuer_token),
            documents,
        })
    }

    /// Drops the cached status of a certificate after a committed change. A failure is logged,
    /// not returned: the change itself has committed, and cache entries expire on their own.
    pub async fn invalidate(&self, number: &CertificateNumber) {
        if let Err(e) = self.cache.invalidate(number).await {
            tracing::error!(certificate = %number, error = %e, "cache invalidation failed");
        }
    }
}

/// The issuer token lives in `<data_dir>/issuer-token` (mode 0600) unless configured.
fn load_or_create_token(data_dir: &Path) -> anyhow::Result<SecretString> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("issuer-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if !t.is_empty() {
            return Ok(t.into());
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let token = hex::encode(raw);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(token.as_bytes())?;
    tracing::info!(path = %path.display(), "generated the issuer API token");
    Ok(token.into())
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let public = Router::new()
        .merge(verify::api::router())
        .merge(register::api::public_router())
        .merge(crate::snapshot::api::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ));
    let issuer = Router::new()
        .merge(register::api::issuer_router())
        .merge(copies::api::issuer_router())
        // Authenticated (issuer or enterprise token) inside; the PDF root is public.
        .merge(crate::documents::api::router());
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(public)
        .merge(issuer)
        // Rate-limited per client inside, answering with an HTML page when the limit is hit.
        .merge(pages::router(&state))
        // Not behind the per-IP limit: every follower's message arrives from the platform's
        // few addresses. Signatures gate it; it limits per follower instead.
        .merge(chat::router(&state))
        .route("/healthz", get(|| async { "ok" }))
        // The scanner app's files at /app/.
        .merge(crate::app_shell::router())
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        // CORS on the public read endpoints only; outside the routes to answer preflights.
        .layer(axum::middleware::from_fn(
            crate::app_shell::cors::public_reads,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                // The path can carry a scanned payload; log only the route shape.
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// A server bound to its port, running until `shutdown` is called or the handle dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Binds `settings.bind` (port 0 picks a free port) and starts serving.
    pub async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
        let state = AppState::build(settings).await?;
        Self::start_with_state(state).await
    }

    pub async fn start_with_state(mut state: AppState) -> anyhow::Result<RunningServer> {
        let listener = TcpListener::bind(state.settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", state.settings.bind))?;
        let addr = listener.local_addr()?;
        if state.settings.public_base_url.is_none() {
            // Links in chat replies need the real port, which port 0 only now decides.
            Arc::make_mut(&mut state.settings).public_base_url = Some(format!("http://{addr}"));
        }
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Ok(RunningServer {
            addr,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops accepting, finishes in-flight requests, closes the database.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.state.store.close().await;
    }

    /// Waits until the server stops (for the `serve` command).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.task).await??;
        Ok(())
    }

    /// Takes the trigger that stops the server, e.g. to wire it to Ctrl-C.
    pub fn shutdown_trigger(&mut self) -> Option<oneshot::Sender<()>> {
        self.shutdown.take()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::{Method, Request, StatusCode, header};
    use chrono::{Duration, Utc};
    use serde_json::{Value, json};

    use crate::keys::PublishedTrustList;
    use crate::testing::{Reply, TOKEN, TestApp};

    const CREDIT_CODE: &str = "91310115MA1H7Q2B3H";
    const PURPOSE: &str = "张江科学城道路改建工程投标";

    fn enterprise(name: &str) -> Value {
        json!({
            "name": name,
            "credit_code": CREDIT_CODE,
            "address": "上海市黄浦区中山南路100号",
            "legal_representative": "王建国",
            "registered_capital_wan": "5000",
            "economic_nature": "有限责任公司（自然人投资或控股）"
        })
    }

    fn is_json(r: &Reply) -> bool {
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    }

    #[tokio::test]
    async fn healthz_answers_ok() {
        let app = TestApp::new().await;
        let r = app.get("/healthz").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(&r.body[..], b"ok");
    }

    #[tokio::test]
    async fn unknown_route_is_not_found() {
        let app = TestApp::new().await;
        assert_eq!(
            app.get("/api/v1/nothing-here").await.status,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn verifying_garbage_is_a_bad_request_in_the_api_error_format() {
        let app = TestApp::new().await;
        let r = app.get("/api/v1/verify/not-a-code!").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(is_json(&r), "{:?}", r.headers);
        let v = r.json();
        let obj = v.as_object().expect("an object");
        assert_eq!(obj.len(), 2, "{v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }

    #[tokio::test]
    async fn trust_list_is_published_and_opens_with_the_root_key() {
        let app = TestApp::new().await;
        let r = app.get("/.well-known/zizhi/trust-list").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(is_json(&r));
        let v = r.json();
        assert_eq!(v["root_kid"], "RT01");
        assert!(v["signed"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
        assert_eq!(v["keys"][0]["kid"], "SH01");
        let published: PublishedTrustList = serde_json::from_value(v).unwrap();
        let opened = published
            .open(&app.state.keys.root_public_key())
            .expect("signed by the root key");
        assert_eq!(&opened, app.state.keys.trust_list());
    }

    #[tokio::test]
    async fn issuer_routes_refuse_requests_without_the_bearer_token() {
        let app = TestApp::new().await;
        for auth in [None, Some("Bearer wrong"), Some("Basic dDp0")] {
            for (method, path) in [
                (Method::POST, "/api/v1/issuer/enterprises"),
                (Method::GET, "/api/v1/issuer/events"),
                (Method::GET, "/api/v1/issuer/copies/1"),
            ] {
                let mut req = Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .header(header::CONTENT_TYPE, "application/json");
                if let Some(a) = auth {
                    req = req.header(header::AUTHORIZATION, a);
                }
                let body = Body::from(enterprise("上海浦江建设工程有限公司").to_string());
                let r = app.send(req.body(body).unwrap()).await;
                assert_eq!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} {auth:?}"
                );
                assert_eq!(r.header("www-authenticate"), Some("Bearer"));
                assert_eq!(r.json()["error"], "unauthorized");
            }
        }
        // Nothing was written.
        let r = app.issuer(Method::GET, "/api/v1/issuer/events", None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json(), json!([]));
    }

    #[tokio::test]
    async fn responses_carry_a_request_id() {
        let app = TestApp::new().await;
        let r = app.get("/healthz").await;
        let id = r.header("x-request-id").expect("x-request-id is set");
        assert!(!id.is_empty());
        let other = app.get("/api/v1/nothing-here").await;
        assert_ne!(
            other.header("x-request-id"),
            Some(id),
            "ids are per request"
        );

        // An id the client (or a proxy) sent is kept.
        let req = Request::get("/healthz")
            .header("x-request-id", "scan-42")
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(req).await.header("x-request-id"), Some("scan-42"));
    }

    #[tokio::test]
    async fn issuer_body_over_the_limit_is_refused_as_body_too_large() {
        let app = TestApp::with(|s| s.body_limit_bytes = 1024).await;
        let name = "浦".repeat(1000);
        let r = app
            .issuer(
                Method::POST,
                "/api/v1/issuer/enterprises",
                Some(enterprise(&name)),
            )
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(is_json(&r));
        let v = r.json();
        assert_eq!(v["error"], "body_too_large");
        assert!(v["message"].as_str().unwrap().contains("1024"), "{v}");
    }

    #[tokio::test]
    async fn raw_bodies_over_the_limit_are_refused_in_the_api_error_format() {
        let app = TestApp::with(|s| s.body_limit_bytes = 1024).await;
        let verify = Request::post("/api/v1/verify")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("A".repeat(2000)))
            .unwrap();
        let change = Request::post("/api/v1/issuer/qualifications/1/revoke")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::from(format!(
                "{{\"note\": \"{}\"}}",
                "x".repeat(2000)
            )))
            .unwrap();
        for req in [verify, change] {
            let path = req.uri().path().to_owned();
            let r = app.send(req).await;
            assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
            assert!(is_json(&r), "{path}: {:?}", r.headers);
            assert_eq!(r.json()["error"], "body_too_large", "{path}");
        }
    }

    #[tokio::test]
    async fn public_routes_are_rate_limited_per_client_address() {
        let app = TestApp::with(|s| {
            s.rate_limit.enabled = true;
            s.rate_limit.per_minute = 1;
            s.rate_limit.burst = 2;
        })
        .await;
        let from = |ip: [u8; 4]| {
            let mut req = Request::get("/api/v1/certificates/D231000001")
                .body(Body::empty())
                .unwrap();
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
            req
        };
        for _ in 0..2 {
            assert_eq!(
                app.send(from([10, 0, 0, 1])).await.status,
                StatusCode::NOT_FOUND
            );
        }
        let limited = app.send(from([10, 0, 0, 1])).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.header("retry-after").is_some());
        assert_eq!(limited.json()["error"], "rate_limited");
        // Another client has its own budget; the issuer API and health check have none.
        assert_eq!(
            app.send(from([10, 0, 0, 2])).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    }

    /// POSTs scanned text to the verifier; returns the verdict.
    async fn verify(app: &TestApp, text: &str) -> Value {
        let req = Request::post("/api/v1/verify")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(text.to_owned()))
            .unwrap();
        let r = app.send(req).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }

    #[tokio::test]
    async fn issued_usage_copy_verifies_as_valid_until_its_qualification_is_revoked() {
        let app = TestApp::new().await;
        let today = Utc::now().date_naive();

        let r = app
            .issuer(
                Method::POST,
                "/api/v1/issuer/enterprises",
                Some(enterprise("上海浦江建设工程有限公司")),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());

        let r = app
            .issuer(
                Method::POST,
                &format!("/api/v1/issuer/enterprises/{CREDIT_CODE}/qualifications"),
                Some(json!({
                    "category": "construction",
                    "item": "建筑工程施工总承包",
                    "grade": "二级",
                    "approved_on": (today - Duration::days(30)).to_string(),
                    "valid_until": (today + Duration::days(4 * 365)).to_string(),
                })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
        let granted = r.json();
        assert_eq!(granted["current_version"], 1);
        let number = granted["certificate_number"].as_str().unwrap().to_owned();
        let qualification = granted["qualification_id"].as_i64().unwrap();

        let r = app
            .issuer(
                Method::POST,
                &format!("/api/v1/issuer/certificates/{number}/usage-copies"),
                Some(json!({
                    "purpose": PURPOSE,
                    "from": today.to_string(),
                    "to": (today + Duration::days(60)).to_string(),
                })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
        let copy = r.json();
        assert_eq!(copy["kind"], "usage");
        let qr = copy["qr_text"].as_str().unwrap().to_owned();
        assert!(qr.starts_with("HTTPS://"), "{qr}");

        let v = verify(&app, &qr).await;
        assert_eq!(v["signature"], "valid");
        assert_eq!(v["certificate_state"], "current");
        assert_eq!(v["summary"]["level"], "valid", "{v}");
        assert_eq!(v["claims"]["certificate_number"], number.as_str());
        assert_eq!(v["claims"]["usage"]["purpose"], PURPOSE);

        // The bare base32 in the path says the same.
        let code = qr.rsplit('/').next().unwrap();
        let r = app.get(&format!("/api/v1/verify/{code}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["summary"]["level"], "valid");

        // A change reaches the verifier at once, cached status or not.
        let r = app
            .issuer(
                Method::POST,
                &format!("/api/v1/issuer/qualifications/{qualification}/revoke"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json());
        assert_eq!(r.json()["standing"], "revoked");
        let v = verify(&app, &qr).await;
        assert_eq!(v["certificate_state"], "revoked");
        assert_eq!(v["summary"]["level"], "invalid");
    }
}
