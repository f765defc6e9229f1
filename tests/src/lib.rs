//! Helpers shared by the end-to-end tests: start the real server on a random port against a
//! fresh SQLite file or a fresh PostgreSQL database (with Redis), seed data, call the API.
//!
//! PostgreSQL and Redis are used for real. When one is missing the test fails with a message
//! saying which; it never passes silently.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::Connection;
use zizhi_server::app::RunningServer;
use zizhi_server::demo::seed::{DemoCase, DemoSummary, history_start, seed};
use zizhi_server::key_ring::KeyRing;
use zizhi_server::settings::Settings;

pub mod parts;

pub use zizhi_server;
pub use zizhi_shared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded default: SQLite file, in-process cache and rate limits.
    Sqlite,
    /// At scale: PostgreSQL with Redis for cache, invalidation and rate limits.
    Postgres,
}

pub const ISSUER_TOKEN: &str = "test-issuer-token-0123456789abcdef";

pub fn pg_admin_url() -> String {
    std::env::var("ZIZHI_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn redis_url() -> String {
    std::env::var("ZIZHI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// A PostgreSQL database made for one test, dropped with `DROP DATABASE … WITH (FORCE)` when
/// this guard is dropped: at [`TestEnv::finish`], and also when the test panics (unwinding
/// drops it) or forgets to finish, so a failing test leaks no database. `WITH (FORCE)` ends
/// the connections a still-running server holds.
pub struct PgDatabase {
    name: String,
    admin_url: String,
    /// Set once the database is gone, so dropping the guard has nothing left to do.
    dropped: bool,
}

impl PgDatabase {
    async fn create(admin_url: String) -> PgDatabase {
        let name = unique("zizhi_t");
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is required for this test ({admin_url}): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        PgDatabase {
            name,
            admin_url,
            dropped: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connection URL of this database (the admin URL with its database swapped).
    fn url(&self) -> String {
        let (base, _) = self
            .admin_url
            .rsplit_once('/')
            .expect("database URL with a path");
        format!("{base}/{}", self.name)
    }

    /// Drops the database from async code; if that fails the guard's `Drop` tries again.
    async fn drop_now(mut self) {
        if drop_database(&self.admin_url, &self.name).await.is_ok() {
            self.dropped = true;
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // `Drop` cannot await, and it usually runs on the test's own runtime thread, where
        // `block_on` would panic: the database is dropped from a thread of its own with a
        // small runtime, and this thread waits for it. Nothing here panics (this may run
        // while a failing test unwinds).
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_database(&admin_url, &name))
                .map_err(|e| e.to_string())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: thread panicked",
                self.name
            ),
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// A place for one test's database, keys and files; removed when dropped, also when the
/// test panics (see [`PgDatabase`]).
pub struct TestEnv {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub redis_namespace: String,
    pg_database: Option<PgDatabase>,
}

impl TestEnv {
    /// A fresh database (SQLite file, or a new PostgreSQL database) and Redis namespace.
    pub async fn new(backend: Backend) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        // Private, as the server creates it: keys prepared before the server starts
        // (`prepare_demo_keys`) must not leave it open to others, which the server refuses.
        zizhi_server::private_files::create_private_dir(&dir.path().join("data"))
            .expect("data dir");
        let redis_namespace = unique("zizhi_test");
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("zizhi.db").display()),
                None,
            ),
            Backend::Postgres => {
                // From here on the guard drops the database, whatever happens next.
                let db = PgDatabase::create(pg_admin_url()).await;
                (db.url(), Some(db))
            }
        };
        if backend == Backend::Postgres {
            let url = redis_url();
            let client = redis::Client::open(url.as_str()).expect("redis url");
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .unwrap_or_else(|e| panic!("Redis is required for this test ({url}): {e}"));
            let _: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .expect("redis ping");
        }
        TestEnv {
            backend,
            dir,
            database_url,
            redis_namespace,
            pg_database,
        }
    }

    /// The name of this environment's PostgreSQL database, if it has one.
    pub fn pg_database_name(&self) -> Option<&str> {
        self.pg_database.as_ref().map(PgDatabase::name)
    }

    /// Settings for one server instance on this environment (port 0).
    pub fn settings(&self) -> Settings {
        let mut s = Settings {
            bind: "127.0.0.1:0".parse().expect("address"),
            database_url: self.database_url.clone(),
            redis_url: (self.backend == Backend::Postgres).then(redis_url),
            redis_namespace: self.redis_namespace.clone(),
            data_dir: self.data_dir(),
            public_host: "ZIZHI.JSGL.SH.GOV.CN".into(),
            issuer_token: Some(SecretString::from(ISSUER_TOKEN)),
            ..Settings::default()
        };
        s.rate_limit.enabled = false;
        s
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Keys valid from the start of the demo history, so the demo can be seeded.
    pub fn prepare_demo_keys(&self) {
        let now = Utc::now();
        KeyRing::load_or_create(
            &self.data_dir(),
            "上海市住房和城乡建设管理委员会",
            history_start(now),
            now,
        )
        .expect("demo keys");
    }

    /// Drops the PostgreSQL database now, without blocking the runtime (the temp dir goes
    /// with `self`). A test that never gets here still has it dropped by the guard.
    pub async fn finish(mut self) {
        if let Some(db) = self.pg_database.take() {
            db.drop_now().await;
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub server: RunningServer,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn start(settings: Settings) -> TestApp {
        let server = RunningServer::start(settings).await.expect("server starts");
        TestApp {
            server,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        Api::get(self, path).await
    }

    /// The live verdict for a scanned text (any case, URL or bare base32).
    pub async fn verify(&self, text: &str) -> (u16, Value) {
        Api::verify(self, text).await
    }

    /// An issuer call with the bearer token.
    pub async fn issuer(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        Api::issuer(self, method, path, body).await
    }

    pub async fn seed_demo(&self, out: &std::path::Path) -> DemoSummary {
        seed(&self.server.state, out).await.expect("demo seeds")
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

impl Api for TestApp {
    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The calls a test makes on a server, whether it runs in this process ([`TestApp`]) or as
/// a process of its own ([`parts::ServerProcess`]).
// Test code awaits these directly on concrete types, where `Send` is known.
#[allow(async_fn_in_trait)]
pub trait Api {
    fn url(&self, path: &str) -> String;
    fn client(&self) -> &reqwest::Client;

    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self.client().get(self.url(path)).send().await.expect("GET");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The live verdict for a scanned text (any case, URL or bare base32).
    async fn verify(&self, text: &str) -> (u16, Value) {
        let res = self
            .client()
            .post(self.url("/api/v1/verify"))
            .header("content-type", "text/plain")
            .body(text.to_owned())
            .send()
            .await
            .expect("POST verify");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// An issuer call with the bearer token.
    async fn issuer(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .client()
            .request(method.parse().expect("method"), self.url(path))
            .bearer_auth(ISSUER_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("issuer request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// Runs an independent peer program (the wechatpy platform, the browser script) that reads
/// its steps as JSON on stdin and prints one JSON observation per step. Exit code 3 means the
/// peer's own tool is missing: its message says what to install.
pub fn run_json_peer(program: &str, script: &str, input: &Value) -> Vec<Value> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("these tests need {program} on PATH ({e})"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write steps");
    let out = child.wait_with_output().expect("peer runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(3) => panic!("{stderr}"),
        _ => panic!("{script} failed ({}):\n{stderr}", out.status),
    }
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A peer program that talks in lines while it runs, for steps the Rust side must take in the
/// middle (the browser asks for the server to be stopped, then goes on offline). It gets its
/// input as one JSON line on stdin; each line it prints is handed to the test, which may answer
/// with [`LinePeer::send`]. Its stderr is kept for the failure message. Exit code 3 means the
/// peer's own tool is missing, as for [`run_json_peer`].
pub struct LinePeer {
    script: String,
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
}

impl LinePeer {
    pub async fn spawn(program: &str, script: &str, input: &Value) -> LinePeer {
        use std::process::Stdio;
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let mut child = tokio::process::Command::new(program)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("these tests need {program} on PATH ({e})"));
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{input}\n").as_bytes())
            .await
            .expect("write the input line");
        let stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut err = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s).await;
            s
        });
        LinePeer {
            script: script.to_owned(),
            child,
            stdin: Some(stdin),
            stdout,
            stderr,
        }
    }

    /// The next line the peer printed; `None` once it closed its output.
    pub async fn next_line(&mut self) -> Option<String> {
        self.stdout
            .next_line()
            .await
            .expect("read the peer's output")
    }

    /// Answers the peer with one line.
    pub async fn send(&mut self, line: &str) {
        use tokio::io::AsyncWriteExt;
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the peer");
        stdin.flush().await.expect("flush");
    }

    /// Waits for the peer to exit and fails the test, with its stderr, unless it succeeded.
    /// Returns its stderr (its log).
    pub async fn finish(mut self) -> String {
        drop(self.stdin.take());
        let status = self.child.wait().await.expect("peer exits");
        let stderr = self.stderr.await.unwrap_or_default();
        match status.code() {
            Some(0) => stderr,
            Some(3) => panic!("{stderr}"),
            _ => panic!("{} failed ({status}):\n{stderr}", self.script),
        }
    }

    /// Ends a peer that is taking too long; returns what it logged.
    pub async fn kill(mut self) -> String {
        let _ = self.child.kill().await;
        self.stderr.await.unwrap_or_default()
    }
}

/// A valid credit code built from a 17-character stem (checksum appended).
pub fn credit_code(stem17: &str) -> String {
    let c = zizhi_shared::CreditCode::check_char(stem17).expect("stem in the code alphabet");
    format!("{stem17}{c}")
}

/// An enterprise body for the issuer API.
pub fn enterprise_json(name: &str, code: &str) -> Value {
    json!({
        "name": name,
        "credit_code": code,
        "address": "上海市黄浦区中山南路100号",
        "legal_representative": "王建国",
        "registered_capital_wan": "5000",
        "economic_nature": "有限责任公司（自然人投资或控股）"
    })
}

/// Creates an enterprise with one construction certificate holding two qualifications;
/// returns (credit code, certificate number).
pub async fn enterprise_with_certificate(
    app: &impl Api,
    name: &str,
    stem17: &str,
) -> (String, String) {
    let code = credit_code(stem17);
    let (s, b) = app
        .issuer(
            "POST",
            "/api/v1/issuer/enterprises",
            Some(enterprise_json(name, &code)),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let today = today();
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code}/qualifications"),
            Some(json!({
                "category": "construction",
                "item": "建筑工程施工总承包",
                "grade": "二级",
                "approved_on": (today - chrono::Duration::days(30)).to_string(),
                "valid_until": (today + chrono::Duration::days(365 * 4)).to_string(),
            })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let number = b["certificate_number"].as_str().expect("number").to_owned();
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code}/qualifications"),
            Some(json!({ "category": "construction", "item": "市政公用工程施工总承包", "grade": "三级" })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    (code, number)
}

/// Issues a usage copy valid from today for 60 days; returns the copy JSON.
pub async fn usage_copy(app: &impl Api, number: &str, purpose: &str) -> Value {
    let today = today();
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/certificates/{number}/usage-copies"),
            Some(json!({ "purpose": purpose, "from": today.to_string(),
                         "to": (today + chrono::Duration::days(60)).to_string() })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b
}

/// The id of a qualification of a certificate, by item.
pub async fn qualification_id(app: &impl Api, number: &str, item: &str) -> i64 {
    let (s, b) = app.get(&format!("/api/v1/certificates/{number}")).await;
    assert_eq!(s, 200, "{b}");
    b["qualifications"]
        .as_array()
        .expect("qualifications")
        .iter()
        .find(|q| q["item"] == item)
        .and_then(|q| q["id"].as_i64())
        .unwrap_or_else(|| panic!("no {item} in {b}"))
}

/// A server with the demo register seeded (its files, PDFs and QR PNGs, under `<env>/demo`),
/// on settings `configure` adjusts.
pub async fn demo_app(
    backend: Backend,
    configure: impl FnOnce(Settings) -> Settings,
) -> (TestEnv, TestApp, DemoSummary) {
    let env = TestEnv::new(backend).await;
    env.prepare_demo_keys();
    let app = TestApp::start(configure(env.settings())).await;
    let summary = app.seed_demo(&env.dir.path().join("demo")).await;
    (env, app, summary)
}

/// A demo case by name.
pub fn demo_case<'a>(summary: &'a DemoSummary, name: &str) -> &'a DemoCase {
    summary
        .cases
        .iter()
        .find(|c| c.case == name)
        .unwrap_or_else(|| panic!("demo has no {name} case"))
}

/// `target/screenshots/` of the workspace (or of `CARGO_TARGET_DIR`).
pub fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("screenshots")
}

/// Fails the test unless Debian's Chromium (or `ZIZHI_CHROMIUM`, which the browser peers
/// also read) is there.
pub fn require_chromium() {
    let chromium =
        std::env::var("ZIZHI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "these tests need Chromium at {chromium} (apt-get install chromium)"
    );
}

static CHROMIUM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held while a test drives Chromium, so only one runs at a time in the test binary: on a
/// 2-core machine a second Chromium (the page tests' or another scan) made the app's
/// camera decoding slow enough to look like a failure. An async mutex, so tests waiting
/// for it block no thread; it works across the tests' separate runtimes.
pub async fn one_chromium_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    CHROMIUM.lock().await
}

/// Runs a test body against both backends as two named tests.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test]
            async fn on_sqlite() {
                $body($crate::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn on_postgres_and_redis() {
                $body($crate::Backend::Postgres).await
            }
        }
    };
    // On two worker threads, as the server is deployed: for tests of what happens when
    // requests are handled at the same moment, which one thread never does for requests that
    // wait for nothing.
    ($name:ident, $body:path, on_two_threads) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                $body($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres_and_redis() {
                $body($crate::Backend::Postgres).await
            }
        }
    };
}

/// Today as the register counts it: the Beijing date (between 16:00 and 24:00 UTC it is
/// already tomorrow there).
pub fn today() -> chrono::NaiveDate {
    zizhi_shared::time::beijing_date(Utc::now())
}
