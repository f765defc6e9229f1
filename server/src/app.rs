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
use crate::error::AppError;
use crate::keys::KeyRing;
use crate::ratelimit::{self, RateLimiter};
use crate::settings::Settings;
use crate::shared_redis::SharedRedis;
use crate::store::Store;
use crate::{auth, chat, copies, pages, register, verify};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub cache: StatusCache,
    pub keys: Arc<KeyRing>,
    pub settings: Arc<Settings>,
    pub limiter: RateLimiter,
    /// The Redis instances share, when configured.
    pub redis: Option<SharedRedis>,
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
        let redis = match &settings.redis_url {
            Some(url) => Some(
                SharedRedis::connect(url, &settings.redis_namespace)
                    .await
                    .context("cannot connect to Redis")?,
            ),
            None => None,
        };
        let ttl = Duration::from_secs(settings.cache_ttl_secs.max(1));
        let cache = StatusCache::new(ttl, redis.clone());
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
        let limiter = RateLimiter::new(&settings.rate_limit, redis.clone());
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
            redis,
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

/// The whole HTTP surface, nested by who calls it. Authentication, CORS and rate limits are
/// layers on the nests, so a route added to a nest gets its audience's rules whatever its path.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(public(&state))
        .nest("/api/v1/issuer", issuer(&state))
        .nest("/api/v1/enterprise", enterprise(&state))
        .nest("/api/v1", copy_files(&state))
        // Not behind the per-address limit: every follower's message arrives from the
        // platform's few addresses. Signatures gate it; it limits per follower instead.
        .merge(chat::router(&state))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
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

/// Anyone, without credentials: verification, the trust list and the status snapshot (which
/// the scanner app may call from another origin), lookup, the H5 pages and the app itself.
fn public(state: &AppState) -> Router<AppState> {
    let app_reads = app_reads(
        state,
        Router::new()
            .nest(
                "/api/v1",
                verify::api::routes().merge(crate::snapshot::api::routes()),
            )
            .merge(verify::api::trust_list_routes()),
    );
    let lookup = rate_limited(
        state,
        Router::new().nest("/api/v1", register::api::lookup_routes()),
    );
    Router::new()
        .merge(app_reads)
        .merge(lookup)
        .merge(crate::documents::api::public_routes())
        // Rate-limited per client inside, answering with an HTML page when the limit is hit.
        .merge(pages::router(state))
        .merge(crate::app_shell::router())
}

/// The public API's per-client limit, on `routes`.
fn rate_limited(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    routes.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        ratelimit::limit,
    ))
}

/// What the scanner app calls: rate-limited, and open to other origins. CORS sits outside the
/// limiter, so a refusal reaches the app with its CORS headers, and is a layer (not a route
/// layer) so preflights are answered before method routing would refuse `OPTIONS`.
fn app_reads(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    rate_limited(state, routes).layer(crate::app_shell::cors::layer())
}

/// Issuer staff (发证机关), with the issuer token. The nest's own fallback sits under the same
/// layer, so without a token every path in it is refused alike: nothing tells a stranger
/// which routes exist.
fn issuer(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(register::api::issuer_routes())
        .merge(copies::api::issuer_routes())
        .merge(crate::documents::api::issuer_routes())
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_issuer,
        ))
}

/// An enterprise (企业), with its own token.
fn enterprise(state: &AppState) -> Router<AppState> {
    crate::documents::api::enterprise_routes()
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_enterprise,
        ))
}

/// A copy's files, for the issuer or the enterprise that owns the copy.
fn copy_files(state: &AppState) -> Router<AppState> {
    crate::documents::api::copy_file_routes().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_copy_reader,
    ))
}

async fn api_not_found() -> AppError {
    AppError::not_found("not_found", "没有这个接口")
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

    use axum::Router;
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::{Method, Request, StatusCode, header};
    use axum::routing::get;
    use chrono::{Duration, Utc};
    use serde_json::{Value, json};
    use tower::ServiceExt;

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

    /// A path of `segments` random segments under `prefix`, in characters a URL may carry.
    fn random_path(prefix: &str, segments: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.~%20";
        let mut path = prefix.to_owned();
        for _ in 0..segments {
            let mut raw = [0u8; 12];
            getrandom::fill(&mut raw).unwrap();
            path.push('/');
            path.extend(raw.iter().map(|b| CHARS[*b as usize % CHARS.len()] as char));
        }
        path
    }

    #[tokio::test]
    async fn every_path_in_the_issuer_nest_is_refused_without_the_token() {
        // Not a list of routes: whatever route the nest holds or will hold, its layer decides.
        let app = TestApp::new().await;
        let methods = [Method::GET, Method::POST, Method::PUT, Method::DELETE];
        for i in 0..64 {
            let path = random_path("/api/v1/issuer", 1 + i % 4);
            let method = methods[i % methods.len()].clone();
            let req = Request::builder()
                .method(method.clone())
                .uri(&path)
                .body(Body::empty())
                .unwrap();
            let r = app.send(req).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(r.json()["error"], "unauthorized", "{method} {path}");
            // With the token the same path is simply absent (or a real route's answer).
            let r = app.issuer(method.clone(), &path, None).await;
            assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
        // The enterprise nest likewise, with the issuer's token too: it is not an enterprise's.
        for i in 0..16 {
            let path = random_path("/api/v1/enterprise", 1 + i % 3);
            let r = app.issuer(Method::GET, &path, None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        }
    }

    #[tokio::test]
    async fn a_route_in_the_app_reads_group_carries_cors_and_one_elsewhere_does_not() {
        // A route of any name put into the group the scanner app calls is shared across
        // origins; the same route in the lookup group is not.
        let app = TestApp::new().await;
        let path = random_path("/api/v1", 2);
        let routes = || Router::new().route(&path, get(|| async { "ok" }));
        let shared = super::app_reads(&app.state, routes()).with_state(app.state.clone());
        let same_origin = super::rate_limited(&app.state, routes()).with_state(app.state.clone());
        let with_origin = |method: Method| {
            let mut req = Request::builder()
                .method(method.clone())
                .uri(&path)
                .header(header::ORIGIN, "https://other.example.cn");
            if method == Method::OPTIONS {
                req = req.header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET");
            }
            req.body(Body::empty()).unwrap()
        };
        for method in [Method::GET, Method::OPTIONS] {
            let r = shared
                .clone()
                .oneshot(with_origin(method.clone()))
                .await
                .unwrap();
            assert!(r.status().is_success(), "{method} {path}: {}", r.status());
            assert_eq!(
                r.headers().get("access-control-allow-origin").unwrap(),
                "*",
                "{method} {path}"
            );
            let r = same_origin
                .clone()
                .oneshot(with_origin(method.clone()))
                .await
                .unwrap();
            assert!(
                r.headers().get("access-control-allow-origin").is_none(),
                "{method} {path}"
            );
        }
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
