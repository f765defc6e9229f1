//! Building the application: state, router, and a running server handle that tests start on
//! port 0.

mod headers;
mod health;
mod router;
mod serve;

pub use headers::MAX_REQUEST_ID_CHARS;
pub use router::router;
pub use serve::ConnectionLimits;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::cache::{CacheTimes, LiveStatusCache};
use crate::client_address::TrustedProxies;
use crate::key_ring::KeyRing;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::settings::Settings;
use crate::shared_redis::SharedRedis;
use crate::store::Store;

/// Everything a handler needs, behind one `Arc`: every middleware layer, service clone and
/// `State` extractor clones the state for each request, and one reference count costs less
/// than one per part.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Clone)]
pub struct AppStateInner {
    pub store: Store,
    pub cache: LiveStatusCache,
    pub keys: Arc<KeyRing>,
    pub settings: Arc<Settings>,
    /// Per-client rate limits, one per audience.
    pub limits: RateLimits,
    /// Which `X-Forwarded-For` entries our own proxies wrote.
    pub proxies: Arc<TrustedProxies>,
    /// The Redis instances share, when configured.
    pub redis: Option<SharedRedis>,
    pub issuer_token: Arc<SecretString>,
    /// Fonts and PDF signing keys for certificate documents.
    pub pdf: crate::pdf::signing::PdfSigning,
    pub metrics: Arc<Metrics>,
    /// Wrong tokens per client address, to refuse guessing.
    pub auth_failures: crate::ratelimit::AuthFailures,
    /// Wrong certificate passwords per client address.
    pub password_guesses: crate::password_guesses::PasswordGuesses,
    /// The WebAuthn relying party of the portal and console.
    pub passkeys: crate::accounts::passkeys::RelyingParty,
    /// 核验次数 of issued copies not yet written to the register.
    pub verify_tally: crate::verify::tally::VerificationTally,
    /// Signature checks and verdicts of recently scanned payloads.
    pub repeat_scans: crate::verify::repeat::RepeatScans,
}

impl AppState {
    /// Connects the store and cache and loads (or, on first start, creates) the keys.
    pub async fn build(settings: Settings) -> anyhow::Result<AppState> {
        let r = &settings.resilience;
        let metrics = Arc::new(Metrics::default());
        if let Some(t) = &settings.issuer_token {
            check_issuer_token(t)?;
        }
        crate::private_files::create_private_dir(&settings.data_dir)?;
        let database_file = sqlite_file(&settings.database_url);
        let database_existed = database_file.as_deref().is_some_and(Path::exists);
        if let (Some(file), true) = (&database_file, database_existed) {
            crate::private_files::ensure_private(file)?;
        }
        let store = Store::connect_with(
            &settings.database_url,
            Duration::from_millis(r.database_acquire_timeout_ms),
        )
        .await
        .context("cannot open the database")?;
        if let (Some(file), false) = (&database_file, database_existed) {
            // SQLite creates the file with the process's umask, and its WAL and shared-memory
            // files copy the database file's mode.
            crate::private_files::make_private(file)?;
        }
        let redis = match &settings.redis_url {
            Some(url) => Some(
                SharedRedis::connect(
                    url,
                    &settings.redis_namespace,
                    Duration::from_millis(r.redis_timeout_ms.max(1)),
                    metrics.redis_failures.clone(),
                )
                .context("invalid Redis URL")?,
            ),
            None => None,
        };
        let cache = LiveStatusCache::new(
            CacheTimes {
                ttl: Duration::from_secs(settings.cache_ttl_secs.max(1)),
                read_budget: Duration::from_millis(r.status_read_budget_ms.max(1)),
                serve_confirmed_for: Duration::from_secs(r.serve_confirmed_status_secs),
            },
            redis.clone(),
            metrics.clone(),
        );
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
        let limits = RateLimits::new(&settings.rate_limit, redis.clone());
        let password_guesses = crate::password_guesses::PasswordGuesses::new(redis.clone());
        let proxies = Arc::new(TrustedProxies::from_settings(&settings));
        let pdf = crate::pdf::signing::PdfSigning::load(
            &settings.documents,
            &settings.data_dir,
            &settings.issuer_name,
            now,
        )?;
        let passkeys = crate::accounts::passkeys::RelyingParty::new(&settings)
            .context("cannot set up passkeys (check [portal] rp_id and public_base_url)")?;
        let repeat_scans = crate::verify::repeat::RepeatScans::new(
            settings.repeat_scan_entries,
            crate::verify::batch::SignatureBatches::new(
                settings.signature_batch_max,
                metrics.signature_batch_sizes.clone(),
            ),
        );
        Ok(AppState(Arc::new(AppStateInner {
            passkeys,
            store,
            cache,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
            limits,
            proxies,
            redis,
            issuer_token: Arc::new(issuer_token),
            pdf,
            metrics,
            auth_failures: Default::default(),
            password_guesses,
            verify_tally: Default::default(),
            repeat_scans,
        })))
    }
}

/// Shortest issuer token accepted from the settings: 32 characters of a random string are
/// beyond guessing, even at the rate the guessing limit allows.
pub const MIN_ISSUER_TOKEN_CHARS: usize = 32;

fn check_issuer_token(token: &SecretString) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let n = token.expose_secret().trim().chars().count();
    if n < MIN_ISSUER_TOKEN_CHARS {
        anyhow::bail!(
            "签发机关令牌（issuer_token / ZIZHI_ISSUER_TOKEN）只有 {n} 个字符，至少需要 \
             {MIN_ISSUER_TOKEN_CHARS} 个；可用 `openssl rand -hex 24` 生成，或不设置以自动生成 \
             (the configured issuer token has {n} characters; at least \
             {MIN_ISSUER_TOKEN_CHARS} are required, e.g. `openssl rand -hex 24`, or leave it unset \
             to have one generated)"
        );
    }
    Ok(())
}

/// The database file of a `sqlite:` URL (none for other databases or `:memory:`).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

/// The issuer token lives in `<data_dir>/issuer-token` (mode 0600) unless configured.
fn load_or_create_token(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("issuer-token");
    crate::private_files::ensure_private(&path)?;
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if !t.is_empty() {
            return Ok(t.into());
        }
    }
    crate::private_files::create_private_dir(data_dir)?;
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let token = hex::encode(raw);
    crate::private_files::write_private(&path, token.as_bytes())?;
    tracing::info!(path = %path.display(), "generated the issuer API token");
    Ok(token.into())
}

/// A server bound to its port, running until `shutdown` is called or the handle dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    /// The `/metrics`-only listener on `metrics_bind`, when configured.
    metrics_task: Option<tokio::task::JoinHandle<()>>,
    /// Picks up newly installed trust lists (`KeyRing::spawn_reloader`).
    key_reloader: tokio::task::JoinHandle<()>,
    /// Writes verification counts (`VerificationTally::spawn_writer`).
    tally_writer: Option<crate::verify::tally::TallyWriter>,
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
            let parts = Arc::make_mut(&mut state.0);
            Arc::make_mut(&mut parts.settings).public_base_url = Some(format!("http://{addr}"));
        }
        let (tx, rx) = oneshot::channel::<()>();
        let r = &state.settings.resilience;
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(r.header_read_timeout_secs.max(1)),
            shutdown_grace: Duration::from_secs(r.shutdown_grace_secs),
        };
        let metrics_task = match state.settings.metrics_bind {
            Some(bind) => Some(serve_metrics_only(bind, state.clone()).await?),
            None => None,
        };
        let app = router(state.clone());
        let key_reloader = state.keys.spawn_reloader();
        let tally_writer = state.verify_tally.spawn_writer(state.store.clone());
        let task = tokio::spawn(serve::serve(
            listener,
            app,
            async {
                let _ = rx.await;
            },
            limits,
        ));
        Ok(RunningServer {
            addr,
            state,
            shutdown: Some(tx),
            task,
            metrics_task,
            key_reloader,
            tally_writer: Some(tally_writer),
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
        if let Some(t) = self.metrics_task.take() {
            t.abort();
        }
        self.key_reloader.abort();
        self.write_counts_and_close().await;
    }

    /// Waits until the server stops and has drained (for the `serve` command), then closes
    /// the database.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.task).await?;
        if let Some(t) = self.metrics_task.take() {
            t.abort();
        }
        self.key_reloader.abort();
        self.write_counts_and_close().await;
        Ok(())
    }

    /// The last verification counts, written after the last request drained, then the
    /// database closed.
    async fn write_counts_and_close(&mut self) {
        if let Some(writer) = self.tally_writer.take() {
            writer.stop().await;
        }
        if let Err(e) = self.state.verify_tally.write(&self.state.store).await {
            tracing::warn!(error = %e, "verification counts lost at shutdown");
        }
        self.state.store.close().await;
    }

    /// Takes the trigger that stops the server, e.g. to wire it to Ctrl-C.
    pub fn shutdown_trigger(&mut self) -> Option<oneshot::Sender<()>> {
        self.shutdown.take()
    }
}

/// `/metrics` without a token on an address only the scraper reaches.
async fn serve_metrics_only(
    bind: SocketAddr,
    state: AppState,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (metrics_bind)"))?;
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(crate::metrics::serve))
        .with_state(state);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    }))
}

#[cfg(test)]
mod tests;
