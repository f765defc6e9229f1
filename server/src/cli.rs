//! The `zizhi` command line: serve, keygen, demo, issue, verify.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use zizhi_shared::verdict::Verdict;
use zizhi_shared::{CertificateNumber, TrustList, UsageTerms};

use crate::app::{AppState, RunningServer};
use crate::demo::seed::{DemoSummary, history_start, seed};
use crate::key_ring::{KeyRing, PublishedTrustList};
use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "zizhi",
    version,
    about = "电子资质证书 — electronic qualification certificates"
)]
pub struct Cli {
    /// Configuration file (TOML); `zizhi.toml` in the working directory when present.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Seed the demo register first when the database is empty, and print sample URLs.
        #[arg(long)]
        demo: bool,
    },
    /// Create the issuer keys, or rotate to a new signing key.
    Keygen {
        /// Key id of the new signing key (4 letters or digits), e.g. SH02.
        #[arg(long)]
        kid: Option<String>,
    },
    /// Seed the demo register and write each copy's QR code under ./demo/.
    Demo {
        #[arg(long, default_value = "demo")]
        out: PathBuf,
    },
    /// Issue a copy of a certificate's current version.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Check a scanned text offline against a trust list, and live with --server.
    Verify {
        /// The QR text (URL or bare base32).
        text: String,
        /// Trust list as served at /.well-known/zizhi/trust-list (JSON); the local keys when absent.
        #[arg(long)]
        trust_list: Option<PathBuf>,
        /// Pinned root public key (hex) that signed the trust list; the local root when absent.
        #[arg(long)]
        root_key: Option<String>,
        /// Also ask this server for the live verdict, e.g. http://127.0.0.1:8080
        #[arg(long)]
        server: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// 批准件
    Approval {
        number: String,
        /// Write the QR code as PNG here.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Write the QR code as SVG here.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// 使用件
    Usage {
        number: String,
        /// 用途
        #[arg(long)]
        purpose: String,
        /// 使用期限起 (YYYY-MM-DD)
        #[arg(long)]
        from: NaiveDate,
        /// 使用期限止 (YYYY-MM-DD)
        #[arg(long)]
        to: NaiveDate,
        #[arg(long)]
        png: Option<PathBuf>,
        #[arg(long)]
        svg: Option<PathBuf>,
    },
}

/// Runs a command with the settings `main` loaded (from `cli.config`, then the environment).
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { demo } => serve(settings, demo).await,
        Command::Keygen { kid } => keygen(&settings, kid.as_deref()),
        Command::Demo { out } => {
            prepare_demo_keys(&settings)?;
            let state = AppState::build(settings).await?;
            let summary = seed(&state, &out).await?;
            print_demo(&summary, &format!("http://{}", state.settings.bind), &out);
            state.store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Issue(cmd) => issue(settings, cmd).await,
        Command::Verify {
            text,
            trust_list,
            root_key,
            server,
            json,
        } => verify(&settings, &text, trust_list, root_key, server, json).await,
    }
}

/// The demo replays years of history, so its first keys must be in force from its start.
fn prepare_demo_keys(settings: &Settings) -> anyhow::Result<()> {
    let now = Utc::now();
    KeyRing::load_or_create(
        &settings.data_dir,
        &settings.issuer_name,
        history_start(now),
        now,
    )?;
    Ok(())
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<ExitCode> {
    if demo {
        prepare_demo_keys(&settings)?;
    }
    let state = AppState::build(settings).await?;
    let summary = if demo {
        Some(seed(&state, std::path::Path::new("demo")).await?)
    } else {
        None
    };
    let mut server = RunningServer::start_with_state(state).await?;
    tracing::info!(addr = %server.addr, "zizhi is listening");
    if let Some(s) = &summary {
        print_demo(
            s,
            &format!("http://{}", server.addr),
            std::path::Path::new("demo"),
        );
    } else {
        println!("zizhi 已启动：http://{}", server.addr);
    }
    let trigger = server.shutdown_trigger();
    // SIGTERM is what systemd and orchestrators send, SIGINT is Ctrl-C: both drain.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal, "stopping");
        if let Some(t) = trigger {
            let _ = t.send(());
        }
    });
    server.wait().await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

fn print_demo(s: &DemoSummary, base: &str, out: &std::path::Path) {
    println!(
        "演示登记簿 demo register: {} 家企业, {} 本证书, {} 份证书件; 二维码已写入 {}/",
        s.enterprises,
        s.certificates,
        s.copies,
        out.display()
    );
    for c in &s.cases {
        let code = c.qr_text.rsplit('/').next().unwrap_or_default();
        println!("  {:<20} {}", c.case, c.expect);
        println!("  {:<20} curl {base}/api/v1/verify/{code}", "");
        if let Some(url) = crate::links::verdict_url(base, &c.qr_text) {
            println!("  {:<20} 手机页面 H5 {url}", "");
        }
    }
    if let Some(c) = s.cases.first() {
        let code = c.qr_text.rsplit('/').next().unwrap_or_default();
        println!("\n示例验证 sample verify URL: {base}/api/v1/verify/{code}");
    }
    println!(
        "扫码应用 scanner app: {base}/app/ （打印或在另一屏幕上显示 {}/*.pdf 后扫码）",
        out.display()
    );
}

fn keygen(settings: &Settings, kid: Option<&str>) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    KeyRing::load_or_create(
        &settings.data_dir,
        &settings.issuer_name,
        now.date_naive(),
        now,
    )?;
    if let Some(kid) = kid {
        KeyRing::rotate(&settings.data_dir, kid, &settings.issuer_name, now)?;
    }
    let ring = KeyRing::load(&settings.data_dir, now)?;
    // The published form, for clients that verify offline (`zizhi verify --trust-list`).
    let list_path = settings.data_dir.join("trust-list.json");
    std::fs::write(
        &list_path,
        serde_json::to_string_pretty(&PublishedTrustList::from_ring(&ring))?,
    )?;
    println!(
        "签发密钥 signing key {}; 信任列表 trust list of {} key(s) in {}; 根密钥 root key {} (public {})",
        ring.signing_key().kid(),
        ring.trust_list().keys.len(),
        list_path.display(),
        ring.root_kid(),
        hex::encode(ring.root_public_key()),
    );
    Ok(ExitCode::SUCCESS)
}

async fn issue(settings: Settings, cmd: IssueCommand) -> anyhow::Result<ExitCode> {
    let state = AppState::build(settings).await?;
    let (number, terms, png, svg) = match cmd {
        IssueCommand::Approval { number, png, svg } => (number, None, png, svg),
        IssueCommand::Usage {
            number,
            purpose,
            from,
            to,
            png,
            svg,
        } => (number, Some(UsageTerms::new(&purpose, from, to)?), png, svg),
    };
    let number: CertificateNumber = number.parse()?;
    let copy = state
        .store
        .issue_copy(
            "cli",
            &number,
            terms,
            &state.keys,
            &state.settings.public_host,
            Utc::now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))?;
    if let Some(p) = png {
        std::fs::write(
            &p,
            zizhi_shared::render::png(&copy.qr_text, 8).map_err(|e| anyhow::anyhow!("{e}"))?,
        )?;
    }
    if let Some(p) = svg {
        std::fs::write(
            &p,
            zizhi_shared::render::svg(&copy.qr_text, 8).map_err(|e| anyhow::anyhow!("{e}"))?,
        )?;
    }
    println!("{}", serde_json::to_string_pretty(&copy)?);
    state.store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn load_trust(
    settings: &Settings,
    file: Option<PathBuf>,
    root_key: Option<String>,
) -> anyhow::Result<TrustList> {
    let now = Utc::now();
    let root: Option<[u8; 32]> = root_key
        .map(|h| {
            hex::decode(h.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("--root-key must be 32 bytes of hex")
        })
        .transpose()?;
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let published: PublishedTrustList =
                serde_json::from_str(&text).context("trust list file is not valid JSON")?;
            let root = match root {
                Some(r) => r,
                None => KeyRing::load(&settings.data_dir, now)
                    .context("no --root-key given and no local keys to take the root from")?
                    .root_public_key(),
            };
            published.open(&root)
        }
        None => {
            let ring = KeyRing::load(&settings.data_dir, now)
                .context("no --trust-list given and no local keys")?;
            if let Some(r) = root
                && r != ring.root_public_key()
            {
                bail!("--root-key does not match the local root key");
            }
            Ok(ring.trust_list().clone())
        }
    }
}

async fn verify(
    settings: &Settings,
    text: &str,
    trust_list: Option<PathBuf>,
    root_key: Option<String>,
    server: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let trust = load_trust(settings, trust_list, root_key)?;
    let now = Utc::now();
    let offline = zizhi_shared::verify_text(text, &trust, now);
    let mut ok = offline.is_ok();
    let live: Option<serde_json::Value> = match &server {
        Some(base) => {
            let url = format!("{}/api/v1/verify", base.trim_end_matches('/'));
            let res = reqwest::Client::new()
                .post(&url)
                .header("content-type", "text/plain")
                .body(text.to_owned())
                .send()
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            let status = res.status();
            let body: serde_json::Value =
                res.json().await.context("server answered without JSON")?;
            if !status.is_success() {
                ok = false;
            }
            Some(body)
        }
        None => None,
    };
    if let Some(v) = &live
        && v.get("summary")
            .and_then(|s| s.get("level"))
            .and_then(|l| l.as_str())
            == Some("invalid")
    {
        ok = false;
    }
    if json {
        let offline_json = match &offline {
            Ok(v) => {
                serde_json::json!({ "signature": "valid", "key_id": v.kid.to_string(), "issuer": v.issuer, "claims": v.claims })
            }
            Err(e) => serde_json::json!({ "error": e.code(), "message": e.to_string(),
                "signature": Verdict::rejected(e, now).map(|v| v.signature) }),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "offline": offline_json, "live": live })
            )?
        );
    } else {
        match &offline {
            Ok(v) => {
                let c = &v.claims;
                println!(
                    "离线验签 offline: 签名有效 signature valid ({}, key {})",
                    v.issuer, v.kid
                );
                println!("  企业 {} ({})", c.enterprise_name, c.credit_code);
                println!(
                    "  证书 {} 第 {} 版 · {}",
                    c.certificate_number,
                    c.certificate_version,
                    c.kind.name_zh()
                );
                if let Some(u) = &c.usage {
                    println!(
                        "  本使用件仅用于：{}  使用期限 {} 至 {}",
                        u.purpose, u.from, u.to
                    );
                }
                println!(
                    "  生成于 {}（北京时间）",
                    zizhi_shared::time::beijing_minute(c.issued_at)
                );
            }
            Err(e) => eprintln!("离线验签 offline: {e} ({})", e.code()),
        }
        if let Some(v) = &live {
            let s = v.get("summary");
            let title = s.and_then(|s| s.get("title")).and_then(|t| t.as_str());
            let msg = s.and_then(|s| s.get("message")).and_then(|t| t.as_str());
            match (title, msg) {
                (Some(t), Some(m)) => println!("实时状态 live: {t} — {m}"),
                _ => println!(
                    "实时状态 live: {}",
                    v.get("message").and_then(|m| m.as_str()).unwrap_or("?")
                ),
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
