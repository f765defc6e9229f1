//! Parts a fault test can break for real: a Redis server and a PostgreSQL cluster of the
//! test's own (on free ports, never the machine's services), and the real `zizhi` binary run
//! as a process that can be sent SIGTERM or SIGKILL.
//!
//! The binary is `zizhi-under-test`, built by this crate from the server's own `main.rs`
//! (see `Cargo.toml`), so `cargo test` always runs the current code; Cargo tells the tests
//! its path (`CARGO_BIN_EXE_zizhi-under-test`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{Api, ISSUER_TOKEN};

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn require(program: &str, hint: &str) -> PathBuf {
    which(program).unwrap_or_else(|| panic!("{program} is required for this test: {hint}"))
}

fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).exists().then(|| program.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.exists())
    })
}

/// Waits until `ready` holds or panics after `limit`.
async fn wait_until(what: &str, limit: Duration, mut ready: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} not ready after {limit:?}");
}

async fn port_open(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

/// A `redis-server` of the test's own, keeping nothing on disk: a restart comes back empty,
/// as the machine's does.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub async fn start() -> OwnRedis {
        let mut r = OwnRedis {
            port: free_port(),
            child: None,
        };
        r.restart().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again (empty) on the same port.
    pub async fn restart(&mut self) {
        let program = require("redis-server", "apt install redis-server");
        let child = Command::new(program)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let port = self.port;
        wait_until("redis-server", Duration::from_secs(10), async || {
            port_open(port).await
        })
        .await;
    }

    /// Freezes it (SIGSTOP): connections stay open and nothing answers, as with a hung host.
    pub fn pause(&self) {
        self.send("STOP");
    }

    /// Lets a frozen server go on (SIGCONT), with everything it held.
    pub fn resume(&self) {
        self.send("CONT");
    }

    fn send(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .and_then(Child::id)
            .expect("redis-server is running");
        let ok = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} redis-server");
    }

    /// Kills it (SIGKILL): everything it held is gone.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }
}

/// A PostgreSQL cluster of the test's own (`initdb` into a temp dir, `pg_ctl` on a free port,
/// as the `postgres` user when the tests run as root), stopped and removed when dropped.
pub struct OwnPostgres {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl OwnPostgres {
    pub async fn start() -> OwnPostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .filter(|p| p.join("initdb").exists())
                    .max()
            })
            .expect("PostgreSQL's server binaries (initdb, pg_ctl) are required: apt install postgresql");
        let dir = tempfile::Builder::new()
            .prefix("zizhi-pg-")
            .tempdir()
            .expect("temp dir");
        let pg = OwnPostgres {
            port: free_port(),
            bin,
            dir,
        };
        if is_root() {
            std::os::unix::fs::chown(pg.dir.path(), Some(postgres_uid()), None)
                .expect("hand the cluster directory to postgres");
        }
        let data = pg.data_dir();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )
        .await;
        pg.start_server().await;
        pg
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .await
            .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    pub async fn start_server(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -k {} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        )
        .await;
    }

    /// Stops the server at once (`immediate`: connections cut, as in a crash).
    pub async fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"],
        )
        .await;
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data_dir();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(program)
                .args(args)
                .output()
        } else {
            std::process::Command::new(program).args(args).output()
        };
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn postgres_uid() -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .expect("id -u postgres");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the postgres user exists")
}

/// The real `zizhi serve` as a process, configured through the environment as an operator
/// would, on a free port.
pub struct ServerProcess {
    pub base: String,
    child: Child,
    client: reqwest::Client,
    log: tokio::task::JoinHandle<String>,
}

/// How to run one instance.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// The binary: `env!("CARGO_BIN_EXE_zizhi-under-test")` in a test of this crate.
    pub binary: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_namespace: String,
    /// Shared by instances that must sign with the same keys and accept the same token.
    pub data_dir: PathBuf,
    /// More `ZIZHI_*` settings.
    pub env: Vec<(String, String)>,
}

impl ServerProcess {
    pub async fn start(config: &ProcessConfig) -> ServerProcess {
        let port = free_port();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let mut cmd = Command::new(&config.binary);
        cmd.arg("serve")
            .current_dir(workspace)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,sqlx=warn")
            .env("ZIZHI_BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &config.database_url)
            .env("ZIZHI_REDIS_NAMESPACE", &config.redis_namespace)
            .env("ZIZHI_DATA_DIR", &config.data_dir)
            .env("ZIZHI_ISSUER_TOKEN", ISSUER_TOKEN)
            .env("ZIZHI_PUBLIC_HOST", "ZIZHI.JSGL.SH.GOV.CN")
            .env("ZIZHI_RATE_LIMIT__ENABLED", "false");
        if let Some(url) = &config.redis_url {
            cmd.env("REDIS_URL", url);
        }
        for (k, v) in &config.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let log = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut all = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let server = ServerProcess {
            base: format!("http://127.0.0.1:{port}"),
            child,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            log,
        };
        let client = server.client.clone();
        let health = server.url("/healthz");
        wait_until("zizhi", Duration::from_secs(60), async || {
            client
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        server
    }

    pub fn pid(&self) -> i32 {
        self.child.id().expect("running") as i32
    }

    /// Sends a signal (`TERM`, `KILL`, `INT`).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit; returns its exit code (`None`: killed by a signal) and
    /// everything it logged.
    pub async fn wait(mut self, limit: Duration) -> (Option<i32>, String) {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server did not exit within {limit:?}"))
            .expect("wait for the server");
        let log = self.log.await.unwrap_or_default();
        (status.code(), log)
    }
}

impl Api for ServerProcess {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// A verdict's (HTTP status, level, certificate state), for comparing answers in bulk.
pub fn verdict_line(status: u16, v: &Value) -> (u16, String, String) {
    (
        status,
        v["summary"]["level"].as_str().unwrap_or("-").to_owned(),
        v["certificate_state"].as_str().unwrap_or("-").to_owned(),
    )
}
