//! The `zizhi` command line: serve, keys, trust, demo, issue, verify.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use zizhi_shared::trust::KeyRole;
use zizhi_shared::verdict::Verdict;
use zizhi_shared::{CertificateNumber, KeyId, SignedTrustList, TrustList, UsageTerms};

use crate::app::{AppState, RunningServer};
use crate::demo::seed::{DemoSummary, history_start, seed};
use crate::key_ring::{
    KeyRequest, KeyRing, PublishedTrustList, RootKeyFile, TrustListChange, sign_next_trust_list,
};
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
    /// This server's online keys: create them (first start does too), add one for a rotation,
    /// show which signs today.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Trust lists: signed on the offline machine with the root key, installed on each server.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Seed the demo register and write each copy's QR code under ./demo/.
    Demo {
        #[arg(long, default_value = "demo")]
        out: PathBuf,
    },
    /// Issue a copy of a certificate's current version.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Issuer staff accounts of the console: the first ones are made here, by whoever runs
    /// the server.
    #[command(subcommand)]
    Staff(StaffCommand),
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
pub enum KeysCommand {
    /// Creates the keys of an empty data directory (root offline copy, SH01, SN01, trust list)
    /// and shows the keys in force.
    Show,
    /// Generates a new online key on this server, not yet listed, and writes its request for
    /// `zizhi trust sign --add` (public half only).
    New {
        /// Key id, 4 letters or digits, e.g. SH02.
        #[arg(long)]
        kid: String,
        /// copy_signing (certificate copies) or snapshot_signing (status snapshots).
        #[arg(long)]
        role: KeyRole,
        /// First day the key will sign (YYYY-MM-DD, UTC); leave days for the new trust list to
        /// reach every instance.
        #[arg(long)]
        from: NaiveDate,
        /// Where to write the request (JSON).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// On the offline machine: sign the next trust list with the root key.
    Sign {
        /// The root key file (kept offline).
        #[arg(long)]
        root: PathBuf,
        /// The trust list in force (trust/trust-list.cose from a server); its keys carry over.
        #[arg(long)]
        current: Option<PathBuf>,
        /// A key request from `zizhi keys new`; repeatable.
        #[arg(long)]
        add: Vec<PathBuf>,
        /// KID=YYYY-MM-DD: the last day a listed key may sign; repeatable.
        #[arg(long)]
        retire: Vec<String>,
        /// The last day the root vouches for the new list (YYYY-MM-DD, end of day UTC).
        #[arg(long)]
        valid_until: NaiveDate,
        /// Where to write the signed list.
        #[arg(long)]
        out: PathBuf,
    },
    /// On each server: install a signed trust list (it must be newer than the one in force);
    /// running instances take it within 30 s.
    Install { file: PathBuf },
    /// Writes the trust list in force as served at /.well-known/zizhi/trust-list (JSON), for
    /// `zizhi verify --trust-list` on a machine without a server.
    Export {
        #[arg(long)]
        out: PathBuf,
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

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Make a staff account (or find it) and print a one-time invitation link (72 h) with which
    /// the person registers a passkey.
    Invite {
        /// Login name, e.g. li.ming
        #[arg(long)]
        login: String,
        /// 姓名
        #[arg(long)]
        name: String,
        /// clerk (经办人) or approver (审批人)
        #[arg(long)]
        role: String,
    },
}

/// Runs a command with the settings `main` loaded (from `cli.config`, then the environment).
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { demo } => serve(settings, demo).await,
        Command::Keys(cmd) => keys(&settings, cmd),
        Command::Trust(cmd) => trust(&settings, cmd),
        Command::Demo { out } => {
            prepare_demo_keys(&settings)?;
            let state = AppState::build(settings).await?;
            let summary = seed(&state, &out).await?;
            print_demo(&summary, &format!("http://{}", state.settings.bind), &out);
            state.store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Issue(cmd) => issue(settings, cmd).await,
        Command::Staff(StaffCommand::Invite { login, name, role }) => {
            staff_invite(settings, &login, &name, &role).await
        }
        Command::Verify {
            text,
            trust_list,
            root_key,
            server,
            json,
        } => verify(&settings, &text, trust_list, root_key, server, json).await,
    }
}

async fn staff_invite(
    settings: Settings,
    login: &str,
    name: &str,
    role: &str,
) -> anyhow::Result<ExitCode> {
    use crate::accounts::{Role, check_label, check_login_name};
    let role: Role = role
        .parse()
        .ok()
        .filter(|r: &Role| *r != Role::EnterpriseAdmin)
        .ok_or_else(|| anyhow::anyhow!("--role 须为 clerk（经办人）或 approver（审批人）"))?;
    check_login_name(login).map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = check_label("姓名", name, 30).map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", settings.bind.port()));
    let state = AppState::build(settings).await?;
    let now = Utc::now();
    let account = match state.store.account_by_login(login).await? {
        Some(a) if a.role == role => a,
        Some(a) => anyhow::bail!("登录名 {login} 已用于{}", a.role.label()),
        None => {
            state
                .store
                .create_account(
                    "command-line",
                    &crate::store::NewAccount {
                        role,
                        enterprise_id: None,
                        login_name: login,
                        display_name: &name,
                    },
                    now,
                )
                .await?
        }
    };
    let (path, expires) = crate::accounts::links::create(
        &state.store,
        "command-line",
        &account,
        crate::accounts::links::LinkKind::Invitation,
        now,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}（{}）的邀请链接，{} 前有效，只能使用一次：\n{}{path}",
        account.display_name,
        role.label(),
        zizhi_shared::time::beijing_minute(expires),
        base.trim_end_matches('/')
    );
    state.store.close().await;
    Ok(ExitCode::SUCCESS)
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

async fn serve(mut settings: Settings, demo: bool) -> anyhow::Result<ExitCode> {
    if demo {
        prepare_demo_keys(&settings)?;
        // Demo accounts have no keys: they sign in by one-time link and approve usage copies
        // with the (published) demo password alone.
        settings.portal.demo = true;
    }
    let state = AppState::build(settings).await?;
    let summary = if demo {
        let summary = seed(&state, std::path::Path::new("demo")).await?;
        let logins = crate::demo::accounts::logins(&state, &summary).await?;
        Some((summary, logins))
    } else {
        None
    };
    let mut server = RunningServer::start_with_state(state).await?;
    tracing::info!(addr = %server.addr, "zizhi is listening");
    if let Some((s, logins)) = &summary {
        print_demo(
            s,
            &format!("http://{}", server.addr),
            std::path::Path::new("demo"),
        );
        // Browsers refuse an IP address as a passkey relying party: the portal is on localhost.
        println!("\n网上办事 portal（一次性登录链接，24 小时内有效，仅演示模式）:");
        for l in logins {
            println!(
                "  {}: http://localhost:{}{}",
                l.who,
                server.addr.port(),
                l.path
            );
        }
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

fn keys(settings: &Settings, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let ring = KeyRing::load_or_create(
        &settings.data_dir,
        &settings.issuer_name,
        now.date_naive(),
        now,
    )?;
    match cmd {
        KeysCommand::Show => {
            let keys = ring.current();
            let list = keys.trust_list();
            println!(
                "根密钥 root {} (public {}); 信任列表 trust list issued {} expires {}",
                keys.root().kid,
                keys.root().public_key,
                list.issued_at,
                list.expires_at
            );
            for k in &list.keys {
                let to = k.valid_to.map(|d| d.to_string()).unwrap_or_default();
                println!(
                    "  {} {:<16} {} .. {}",
                    k.kid,
                    k.role.to_string(),
                    k.valid_from,
                    to
                );
            }
            for role in [KeyRole::CopySigning, KeyRole::SnapshotSigning] {
                match keys.signer(role, now.date_naive()) {
                    Ok(k) => println!("今日{}密钥 {role} today: {}", role.label(), k.kid()),
                    Err(e) => println!("{e}"),
                }
            }
        }
        KeysCommand::New {
            kid,
            role,
            from,
            out,
        } => {
            let request = KeyRing::new_online_key(
                &settings.data_dir,
                &kid,
                role,
                from,
                &settings.issuer_name,
            )?;
            std::fs::write(&out, serde_json::to_string_pretty(&request)?)?;
            println!(
                "新密钥 {kid}（{}）已生成，自 {from} 起可用；请将 {} 带到离线机器执行 zizhi trust sign --add",
                role.label(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn trust(settings: &Settings, cmd: TrustCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TrustCommand::Sign {
            root,
            current,
            add,
            retire,
            valid_until,
            out,
        } => {
            let root = RootKeyFile::read(&root)?;
            let current = current
                .map(|p| {
                    let bytes = std::fs::read(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    SignedTrustList::from_bytes(bytes)
                        .open(&root.verifying_key())
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
                })
                .transpose()?;
            let add = add
                .iter()
                .map(|p| {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    serde_json::from_str::<KeyRequest>(&text)
                        .with_context(|| format!("{} is not a key request", p.display()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let retire = retire
                .iter()
                .map(|r| {
                    let (kid, day) = r.split_once('=').context("--retire takes KID=YYYY-MM-DD")?;
                    let kid = KeyId::parse(kid).map_err(|e| anyhow::anyhow!("{e}"))?;
                    Ok((kid, day.parse::<NaiveDate>().context("--retire date")?))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let valid_until = valid_until
                .and_hms_opt(23, 59, 59)
                .context("date")?
                .and_utc();
            let change = TrustListChange {
                add,
                retire,
                valid_until,
            };
            let signed = sign_next_trust_list(&root, current.as_ref(), &change, Utc::now())?;
            std::fs::write(&out, signed.as_bytes())?;
            println!(
                "信任列表已签署 signed: {}（至 {valid_until} 有效）；复制到每台服务器执行 zizhi trust install",
                out.display()
            );
        }
        TrustCommand::Export { out } => {
            let keys = KeyRing::load(&settings.data_dir)?.current();
            std::fs::write(
                &out,
                serde_json::to_string_pretty(&PublishedTrustList::from_keys(&keys))?,
            )?;
            println!(
                "信任列表已导出 exported to {}；核验时请固定根密钥 {} (public {})",
                out.display(),
                keys.root().kid,
                keys.root().public_key
            );
        }
        TrustCommand::Install { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let list = KeyRing::install(&settings.data_dir, &SignedTrustList::from_bytes(bytes))?;
            println!(
                "信任列表已安装 installed: 签发于 {}，{} 个密钥，至 {} 有效；运行中的实例 30 秒内生效",
                list.issued_at,
                list.keys.len(),
                list.expires_at
            );
        }
    }
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
                None => KeyRing::load(&settings.data_dir)
                    .context("no --root-key given and no local keys to take the root from")?
                    .current()
                    .root()
                    .bytes()?,
            };
            published.open(&root)
        }
        None => {
            let keys = KeyRing::load(&settings.data_dir)
                .context("no --trust-list given and no local keys")?
                .current();
            if let Some(r) = root
                && r != keys.root().bytes()?
            {
                bail!("--root-key does not match the local root key");
            }
            Ok(keys.trust_list().clone())
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
