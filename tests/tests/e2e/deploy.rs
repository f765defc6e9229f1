//! What `deploy/` gives an operator, checked against the code so it cannot drift: the
//! configuration reference loads with the server's own `Settings` (which refuses unknown keys)
//! and names every key, and the nginx site passes `nginx -t` and, run for real in front of the
//! real binary, forwards the request id and the client address as the server expects.
//!
//! nginx is Debian's (`scripts/test.sh` installs it). Under `CI=true` a missing nginx fails
//! these tests; elsewhere they say loudly that they did not run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zizhi_tests::parts::{ProcessConfig, ServerProcess, free_port};
use zizhi_tests::zizhi_server::settings::{LogFormat, Settings};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn deploy_file(name: &str) -> PathBuf {
    workspace().join("deploy").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `Settings::load` reads the environment over the file; a value the environment of this
/// test process sets cannot be compared with the file.
fn env_sets(vars: &[&str]) -> bool {
    vars.iter().any(|v| std::env::var_os(v).is_some())
}

#[test]
fn the_configuration_reference_loads_as_it_is() {
    let path = deploy_file("zizhi.toml.example");
    let s =
        Settings::load(Some(path.as_path())).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Production choices the guide relies on.
    if !env_sets(&["DATABASE_URL", "ZIZHI_DATABASE_URL"]) {
        assert!(
            s.database_url.starts_with("postgres://"),
            "{}",
            s.database_url
        );
    }
    if !env_sets(&["REDIS_URL", "ZIZHI_REDIS_URL"]) {
        assert!(
            s.redis_url
                .as_deref()
                .is_some_and(|u| u.starts_with("redis://"))
        );
    }
    if !env_sets(&["ZIZHI_TRUST_FORWARDED_FOR", "ZIZHI_PROXY__TRUSTED_HOPS"]) {
        assert!(
            s.proxy.trusted_hops == 1 || s.trust_forwarded_for,
            "behind nginx the client is the X-Forwarded-For entry nginx appends"
        );
    }
    if !env_sets(&["ZIZHI_LOG_FORMAT"]) {
        assert_eq!(s.log_format, LogFormat::Json);
    }
    if !env_sets(&["ZIZHI_BODY_LIMIT_BYTES"]) {
        // nginx's client_max_body_size 64k says the same (see `nginx_matches_the_server`).
        assert_eq!(s.body_limit_bytes, 64 * 1024);
    }
    if !env_sets(&["ZIZHI_RESILIENCE__SHUTDOWN_GRACE_SECS"]) {
        // systemd's TimeoutStopSec must exceed it (see `systemd_waits_for_the_drain`).
        assert_eq!(s.resilience.shutdown_grace_secs, 10);
    }
    // No secret is active in the file: they belong in the environment file.
    if !env_sets(&["ZIZHI_ISSUER_TOKEN"]) {
        assert!(
            s.issuer_token.is_none(),
            "the issuer token must not be in the file"
        );
    }
    if !env_sets(&["ZIZHI_CHAT__TOKEN", "ZIZHI_CHAT__ENCODING_AES_KEY"]) {
        assert!(s.chat.token.is_none() && s.chat.encoding_aes_key.is_none());
    }
}

/// Every commented-out `# key = value` line is a valid setting too: uncommented all at once,
/// the file still loads.
#[test]
fn the_configuration_reference_loads_with_every_example_uncommented() {
    let text = read(&deploy_file("zizhi.toml.example"));
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_setting_line(rest) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zizhi.toml");
    std::fs::write(&path, uncommented).unwrap();
    let s = Settings::load(Some(path.as_path())).unwrap_or_else(|e| panic!("uncommented: {e}"));
    if !env_sets(&["ZIZHI_METRICS_BIND"]) {
        assert!(s.metrics_bind.is_some());
    }
    assert!(s.documents.issuer_key.is_some());
}

/// `key = …` with a lower-case key: a setting, not prose.
fn is_setting_line(line: &str) -> bool {
    line.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    })
}

/// Every key of `Settings` (found by serialising the defaults, so a new field counts at once)
/// is in the reference, active or commented, in its table, with its environment variable.
#[test]
fn the_configuration_reference_names_every_key_and_its_environment_variable() {
    let text = read(&deploy_file("zizhi.toml.example"));
    // Keys per table: "" for the top level.
    let mut tables: Vec<(String, Vec<String>)> = vec![(String::new(), Vec::new())];
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            tables.push((name.to_owned(), Vec::new()));
        } else {
            let setting = line.strip_prefix("# ").unwrap_or(line);
            if let Some((key, _)) = setting
                .split_once(" = ")
                .filter(|_| is_setting_line(setting))
            {
                tables.last_mut().unwrap().1.push(key.to_owned());
            }
        }
    }
    let keys_in = |table: &str| -> Vec<String> {
        tables
            .iter()
            .find(|(t, _)| t == table)
            .unwrap_or_else(|| panic!("no [{table}] in the reference"))
            .1
            .clone()
    };
    let defaults = serde_json::to_value(Settings::default()).unwrap();
    let mut missing = Vec::new();
    for (key, value) in defaults.as_object().unwrap() {
        match value {
            Value::Object(fields) => {
                for field in fields.keys() {
                    if !keys_in(key).contains(field) {
                        missing.push(format!("[{key}] {field}"));
                    }
                    let env = format!("ZIZHI_{key}__{field}").to_uppercase();
                    if !text.contains(&env) {
                        missing.push(env);
                    }
                }
            }
            _ => {
                if !keys_in("").contains(key) {
                    missing.push(key.clone());
                }
                let env = format!("ZIZHI_{key}").to_uppercase();
                if !text.contains(&env) {
                    missing.push(env);
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "deploy/zizhi.toml.example lacks: {missing:?}"
    );
}

/// The unit stops the server the way it drains (SIGTERM) and waits longer than the drain.
#[test]
fn systemd_waits_for_the_drain() {
    let unit = read(&deploy_file("systemd/zizhi@.service"));
    let value = |key: &str| -> &str {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key}= missing from the unit"))
    };
    assert_eq!(value("KillSignal"), "SIGTERM");
    let stop: u64 = value("TimeoutStopSec").parse().expect("seconds");
    let grace = Settings::default().resilience.shutdown_grace_secs;
    assert!(
        stop > grace + 5,
        "TimeoutStopSec {stop} vs drain grace {grace}"
    );
    assert_eq!(value("Environment"), "ZIZHI_BIND=127.0.0.1:%i");
    assert!(value("ExecStart").contains(" serve --config /etc/zizhi/zizhi.toml"));
    // Redis and PostgreSQL are wanted, not required: the server outlives their outages.
    assert!(!unit.lines().any(|l| l.starts_with("Requires=")));
}

/// nginx's body limit is the server's.
#[test]
fn nginx_matches_the_server() {
    let site = read(&deploy_file("nginx/zizhi.conf"));
    let limit = Settings::default().body_limit_bytes;
    assert!(
        site.contains(&format!("client_max_body_size {}k;", limit / 1024)),
        "client_max_body_size must be the server's body_limit_bytes ({limit})"
    );
    // Overwritten, never appended: only the address nginx saw reaches the server.
    assert!(site.contains("proxy_set_header X-Forwarded-For $remote_addr;"));
    // Comments may name what is not done; only directives count.
    let directives: Vec<&str> = site
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(
        !directives
            .iter()
            .any(|l| l.contains("$proxy_add_x_forwarded_for")),
        "X-Forwarded-For must be overwritten, not appended"
    );
    assert!(
        !directives.iter().any(|l| l.contains("non_idempotent")),
        "POSTs must not be retried"
    );
}

/// nginx, or `None` when it is not installed outside CI (and a panic under CI).
fn nginx() -> Option<PathBuf> {
    let found = std::env::var_os("ZIZHI_NGINX")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("nginx"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
        // Debian puts it in /usr/sbin, often not on a user's PATH.
        .chain(["/usr/sbin/nginx", "/usr/local/sbin/nginx"].map(PathBuf::from))
        .find(|p| p.is_file());
    if found.is_none() {
        let hint = "nginx is required for this test (apt-get install nginx; scripts/test.sh does)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{hint}");
        }
        eprintln!("\n*** NOT RUN: {hint} ***\n");
    }
    found
}

/// The site under a prefix of its own: a self-signed certificate where the site's certificate
/// paths point, logs and temp files inside the prefix, and a main `nginx.conf` that includes
/// the site inside `http { }` as Debian's does. `edit` may change the site further (after the paths).
struct Prefix {
    dir: tempfile::TempDir,
}

impl Prefix {
    fn new(edit: impl FnOnce(String) -> String) -> Prefix {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        // Run as root, nginx's workers are `nobody` and must reach their temp directories.
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["tls", "logs", "sites", "tmp"] {
            std::fs::create_dir_all(p.join(sub)).unwrap();
        }
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=zizhi.example.cn"])
            .arg("-keyout")
            .arg(p.join("tls/privkey.pem"))
            .arg("-out")
            .arg(p.join("tls/fullchain.pem"))
            .output()
            .expect("openssl is required for this test");
        assert!(out.status.success(), "openssl: {out:?}");
        let site = read(&deploy_file("nginx/zizhi.conf"));
        assert!(site.contains("/etc/zizhi/tls/fullchain.pem"));
        assert!(site.contains("/etc/zizhi/tls/privkey.pem"));
        // Only paths change: the certificate paths and the log directory.
        let site = site
            .replace("/etc/zizhi/tls/", &format!("{}/tls/", p.display()))
            .replace("/var/log/nginx/", &format!("{}/logs/", p.display()));
        std::fs::write(p.join("sites/zizhi.conf"), edit(site)).unwrap();
        let tmp = p.join("tmp");
        let main = format!(
            "pid {pid};\n\
             events {{}}\n\
             http {{\n\
             \x20   client_body_temp_path {t}/body;\n\
             \x20   proxy_temp_path {t}/proxy;\n\
             \x20   fastcgi_temp_path {t}/fastcgi;\n\
             \x20   uwsgi_temp_path {t}/uwsgi;\n\
             \x20   scgi_temp_path {t}/scgi;\n\
             \x20   include {site};\n\
             }}\n",
            pid = p.join("nginx.pid").display(),
            t = tmp.display(),
            site = p.join("sites/zizhi.conf").display(),
        );
        std::fs::write(p.join("nginx.conf"), main).unwrap();
        Prefix { dir }
    }

    fn command(&self, nginx: &Path) -> Command {
        let p = self.dir.path();
        let mut cmd = Command::new(nginx);
        cmd.arg("-p")
            .arg(format!("{}/", p.display()))
            .arg("-c")
            .arg(p.join("nginx.conf"))
            // Before reading the configuration nginx opens its built-in error log
            // (/var/log/nginx/error.log), which an ordinary user cannot.
            .arg("-e")
            .arg(p.join("logs/error.log"));
        cmd
    }
}

#[test]
fn nginx_accepts_the_site() {
    let Some(nginx) = nginx() else { return };
    let prefix = Prefix::new(|site| site);
    let out = prefix
        .command(&nginx)
        .arg("-t")
        .output()
        .expect("nginx runs");
    let said = String::from_utf8_lossy(&out.stderr);
    eprintln!("nginx -t:\n{said}");
    assert!(
        out.status.success(),
        "nginx -t refused deploy/nginx/zizhi.conf:\n{said}"
    );
    assert!(said.contains("test is successful"), "{said}");
}

/// nginx from `deploy/` on free ports in front of one real instance (the second upstream is a
/// port nobody listens on, like an instance that was killed): every request is answered, by
/// the live instance, with nginx's request id; the server sees the client address nginx
/// saw, whatever the client put in X-Forwarded-For; HTTP redirects to HTTPS; HSTS is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_in_front_of_the_server_forwards_the_request_id_and_the_real_client() {
    let Some(nginx) = nginx() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&ProcessConfig {
        binary: env!("CARGO_BIN_EXE_zizhi-under-test").into(),
        database_url: format!("sqlite://{}", dir.path().join("zizhi.db").display()),
        redis_url: None,
        redis_namespace: "zizhi_deploy".into(),
        data_dir: dir.path().join("data"),
        env: [
            ("ZIZHI_TRUST_FORWARDED_FOR", "true"),
            ("ZIZHI_RATE_LIMIT__ENABLED", "true"),
            ("ZIZHI_RATE_LIMIT__PER_MINUTE", "1"),
            ("ZIZHI_RATE_LIMIT__BURST", "2"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec(),
    })
    .await;
    let server_port = server.base.rsplit(':').next().unwrap().to_owned();
    let (http, https, dead) = (free_port(), free_port(), free_port());
    let prefix = Prefix::new(|site| {
        site.replace("listen 80;", &format!("listen 127.0.0.1:{http};"))
            .replace("listen [::]:80;\n", "")
            .replace("listen 443 ssl", &format!("listen 127.0.0.1:{https} ssl"))
            .replace("listen [::]:443 ssl http2;\n", "")
            .replace("127.0.0.1:8081", &format!("127.0.0.1:{dead}"))
            .replace("127.0.0.1:8082", &format!("127.0.0.1:{server_port}"))
    });
    let mut running = tokio::process::Command::from({
        let mut c = prefix.command(&nginx);
        // One process, so killing it (also on a panic) leaves no orphaned worker.
        c.args(["-g", "daemon off; master_process off;"])
            .stderr(Stdio::null());
        c
    })
    .kill_on_drop(true)
    .spawn()
    .expect("nginx starts");
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", https))
        .await
        .is_err()
    {
        if let Ok(Some(status)) = running.try_wait() {
            panic!("nginx exited: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nginx not listening"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The server itself trusts X-Forwarded-For (as configured behind nginx): three clients
    // naming three addresses directly each get their own budget.
    for n in 1..=3 {
        let (status, _) = curl(&server.base, "/.well-known/zizhi/trust-list", n).await;
        assert_eq!(status, 200, "direct request {n}");
    }
    // Through nginx, whatever a client claims, the server sees nginx's peer (127.0.0.1):
    // one budget of burst 2, so the third request is limited.
    let base = format!("https://zizhi.example.cn:{https}");
    let mut statuses = Vec::new();
    for n in 4..=6 {
        let (status, headers) = curl(&base, "/.well-known/zizhi/trust-list", n).await;
        let id = header(&headers, "x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id through nginx:\n{headers}"));
        // nginx's $request_id (32 hex digits), not the client's nor one the server made up.
        assert!(
            id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "x-request-id {id}"
        );
        assert!(
            header(&headers, "strict-transport-security").is_some(),
            "HSTS:\n{headers}"
        );
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [200, 200, 429],
        "a client chose its own address through X-Forwarded-For"
    );

    // Readiness through nginx, answered by the live instance although the other is down.
    let (status, _) = curl(&base, "/readyz", 7).await;
    assert_eq!(status, 200);
    // /metrics never leaves the host.
    let (status, _) = curl(&base, "/metrics", 8).await;
    assert_eq!(status, 403);
    // A body over the server's limit is refused by nginx, before it reaches an instance.
    let body = dir.path().join("big-body");
    std::fs::write(&body, vec![b'A'; 64 * 1024 + 1]).unwrap();
    let out = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "-k",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(["--resolve", &format!("zizhi.example.cn:{https}:127.0.0.1")])
        .args(["-H", "Content-Type: text/plain", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(format!("{base}/api/v1/verify"))
        .output()
        .await
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "413", "{out:?}");
    // Plain HTTP: a redirect to HTTPS.
    let (status, headers) = curl(&format!("http://127.0.0.1:{http}"), "/V/ABC", 9).await;
    assert_eq!(status, 301);
    assert!(
        header(&headers, "location").is_some_and(|l| l.starts_with("https://")),
        "{headers}"
    );

    running.start_kill().unwrap();
    let _ = running.wait().await;
    server.signal("TERM");
    let (code, _) = server.wait(Duration::from_secs(20)).await;
    assert_eq!(code, Some(0));
}

/// GET `path` with curl (the TLS client; the test's reqwest has none), claiming to be
/// 198.51.100.`n` in X-Forwarded-For and sending an X-Request-Id of its own. Returns the
/// status and the response headers.
async fn curl(base: &str, path: &str, n: u8) -> (u16, String) {
    let url = format!("{base}{path}");
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args([
        "-sS",
        "-k",
        "-o",
        "/dev/null",
        "-D",
        "-",
        "--max-time",
        "10",
    ])
    .args(["-H", &format!("X-Forwarded-For: 198.51.100.{n}")])
    .args(["-H", "X-Request-Id: chosen-by-the-client"]);
    if let Some(port) = base.strip_prefix("https://zizhi.example.cn:") {
        cmd.args(["--resolve", &format!("zizhi.example.cn:{port}:127.0.0.1")]);
    }
    let out = cmd.arg(&url).output().await.expect("curl is required");
    assert!(out.status.success(), "curl {url}: {out:?}");
    let headers = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status from {url}:\n{headers}"));
    (status, headers)
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
