//! `zizhi-load seed`: a register of many copies, built through the same library calls the
//! issuer API uses (`create_enterprise`, `create_certificate`, `issue_copy`, `withdraw_copy`,
//! `change_qualification`), so every row, signature and event-log entry is what production
//! would write.
//!
//! Shape, for `--copies 100000 --copies-per-certificate 100`: 1,000 enterprises with one
//! certificate each (two qualifications), one approval copy and 99 usage copies per
//! certificate. So that scans hit the verifier's varied answers, about 2% of usage copies are
//! withdrawn, 5% have a period not started yet, and after the copies were issued 2% of the
//! certificates are upgraded (printed copies superseded), 1% lose one qualification by
//! revocation, 1% have one suspended and 1% are cancelled outright.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{NaiveDate, TimeDelta, Utc};
use clap::Args;
use sqlx::{Connection, Executor, Row};
use zizhi_server::keys::KeyRing;
use zizhi_server::register::ops::QualificationAction;
use zizhi_server::store::Store;
use zizhi_shared::{
    Category, CertificateNumber, CreditCode, Enterprise, Qualification, QrText, UsageTerms,
};

const ACTOR: &str = "zizhi-load";
pub const ISSUER: &str = "上海市住房和城乡建设管理委员会";

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// PostgreSQL database to fill; created when missing.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/zizhi_load")]
    pub database_url: String,
    /// Where the issuer keys live; the server must be started with the same directory.
    #[arg(long, default_value = "zizhi-load-data")]
    pub data_dir: PathBuf,
    /// Copies to issue in all.
    #[arg(long, default_value_t = 100_000)]
    pub copies: usize,
    /// Copies per certificate (one approval copy, the rest usage copies).
    #[arg(long, default_value_t = 100)]
    pub copies_per_certificate: usize,
    /// Concurrent issuing tasks (the store's PostgreSQL pool has 16 connections).
    #[arg(long, default_value_t = 12)]
    pub tasks: usize,
    /// File receiving the base32 part of every copy's QR text, one per line.
    #[arg(long, default_value = "codes.txt")]
    pub out: PathBuf,
    /// Drop and recreate the database first.
    #[arg(long)]
    pub reset: bool,
    /// Host printed in the QR URLs.
    #[arg(long, default_value = "ZZ.EXAMPLE.CN")]
    pub host: String,
}

pub fn main(args: SeedArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(seed(args))
}

/// Splits `postgres://…/name?opts` into the maintenance database URL and `name`.
fn admin_url(url: &str) -> anyhow::Result<(String, String)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").context("database URL needs a scheme")? + 3;
    let slash = base[scheme_end..]
        .rfind('/')
        .map(|i| i + scheme_end)
        .context("database URL must name a database")?;
    let name = &base[slash + 1..];
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        bail!("database name {name:?} must be letters, digits and underscores");
    }
    Ok((format!("{}/postgres{query}", &base[..slash]), name.to_owned()))
}

async fn ensure_database(url: &str, reset: bool) -> anyhow::Result<()> {
    if !url.starts_with("postgres") {
        bail!("seed writes to PostgreSQL only (got {url})");
    }
    let (admin, name) = admin_url(url)?;
    let mut conn = sqlx::postgres::PgConnection::connect(&admin)
        .await
        .with_context(|| format!("cannot connect to {admin}"))?;
    if reset {
        conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
            .await?;
        eprintln!("dropped database {name}");
    }
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?
        .is_some();
    if !exists {
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await?;
        eprintln!("created database {name}");
    }
    conn.close().await?;
    Ok(())
}

async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query(sql).fetch_one(store.pool()).await?.try_get(0)?)
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let per_cert = args.copies_per_certificate.max(2);
    ensure_database(&args.database_url, args.reset).await?;
    let store = Store::connect(&args.database_url)
        .await
        .context("cannot open the database")?;
    let now = Utc::now();
    let keys = Arc::new(KeyRing::load_or_create(
        &args.data_dir,
        ISSUER,
        now.date_naive() - TimeDelta::days(365),
        now,
    )?);

    let existing = count(&store, "SELECT COUNT(*) FROM copies").await? as usize;
    if existing >= args.copies {
        eprintln!("the register already holds {existing} copies; not seeding again");
    } else if !store.is_empty().await? {
        bail!(
            "the register holds {existing} copies, fewer than {}: rerun with --reset",
            args.copies
        );
    } else {
        let started = Instant::now();
        build(&store, keys.clone(), &args, per_cert).await?;
        let secs = started.elapsed().as_secs_f64();
        let issued = count(&store, "SELECT COUNT(*) FROM copies").await?;
        println!(
            "seeded {issued} copies in {secs:.1} s ({:.0} copies/s, {} tasks)",
            issued as f64 / secs,
            args.tasks
        );
    }
    summary(&store).await?;
    let written = dump_codes(&store, &keys, &args).await?;
    println!("wrote {written} codes to {}", args.out.display());
    store.close().await;
    Ok(())
}

async fn summary(store: &Store) -> anyhow::Result<()> {
    let rows = sqlx::query(
        "SELECT kind, CASE WHEN withdrawn_at IS NULL THEN 'live' ELSE 'withdrawn' END, COUNT(*)
         FROM copies GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await?;
    let mut parts = Vec::new();
    for r in rows {
        let kind: String = r.try_get(0)?;
        let state: String = r.try_get(1)?;
        let n: i64 = r.try_get(2)?;
        parts.push(format!("{kind}/{state} {n}"));
    }
    println!("copies: {}", parts.join(", "));
    let rows = sqlx::query(
        "SELECT state, current_version, COUNT(*) FROM certificates GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await?;
    let mut parts = Vec::new();
    for r in rows {
        let state: String = r.try_get(0)?;
        let v: i64 = r.try_get(1)?;
        let n: i64 = r.try_get(2)?;
        parts.push(format!("{state} v{v} {n}"));
    }
    println!("certificates: {}", parts.join(", "));
    let suspended = count(
        store,
        "SELECT COUNT(*) FROM qualifications WHERE status = 'suspended'",
    )
    .await?;
    let revoked = count(
        store,
        "SELECT COUNT(*) FROM qualifications WHERE status = 'revoked'",
    )
    .await?;
    println!("qualifications: {suspended} suspended, {revoked} revoked");
    Ok(())
}

/// Writes every copy's base32 payload, after checking a sample against the keys: a data
/// directory that does not match the database would make every scan a forgery.
async fn dump_codes(store: &Store, keys: &KeyRing, args: &SeedArgs) -> anyhow::Result<usize> {
    let texts: Vec<String> = sqlx::query("SELECT qr_text FROM copies ORDER BY id")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    let now = Utc::now();
    for t in texts.iter().step_by((texts.len() / 50).max(1)) {
        zizhi_shared::verify_text(t, keys.trust_list(), now).with_context(|| {
            format!(
                "a stored copy does not verify with the keys in {}: rerun with --reset",
                args.data_dir.display()
            )
        })?;
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&args.out)
            .with_context(|| format!("cannot write {}", args.out.display()))?,
    );
    for t in &texts {
        let at = t.rfind(QrText::PATH).context("QR text without /V/")?;
        writeln!(out, "{}", &t[at + QrText::PATH.len()..])?;
    }
    out.flush()?;
    Ok(texts.len())
}

