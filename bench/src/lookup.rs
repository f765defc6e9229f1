//! `zizhi-load lookup`: enterprise lookup (`Store::search_enterprises`, what
//! `GET /api/v1/enterprises?q=` runs) on the seeded register, fragment by fragment, on
//! PostgreSQL and on SQLite holding the same enterprises and certificates; prints p50/p99.
//!
//! The SQLite copy is made once from the PostgreSQL register (enterprises and certificates,
//! the two tables a lookup reads; the FTS index follows by its triggers) and reused.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use zizhi_server::store::Store;

use crate::seed::enterprise;

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The seeded PostgreSQL register.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/zizhi_load")]
    pub database_url: String,
    /// SQLite file made from it (created when missing; `--no-sqlite` to skip).
    #[arg(long, default_value = "zizhi-load-data/lookup.db")]
    pub sqlite: PathBuf,
    #[arg(long)]
    pub no_sqlite: bool,
    /// Lookups per fragment.
    #[arg(long, default_value_t = 200)]
    pub rounds: usize,
}

pub fn main(args: LookupArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// What people type: common and rare name fragments of 2 to 6 characters, one that matches
/// nothing, a credit code and a certificate number, a second page.
fn queries() -> anyhow::Result<Vec<(String, u32)>> {
    let mut q: Vec<(String, u32)> = [
        "上海",
        "建设",
        "明珠",
        "监理",
        "无此",
        "勘察有",
        "浦江申城",
        "锦程恒信",
        "建筑设计研究院",
        "上海浦江申城浦东",
        "不存在的企业",
    ]
    .iter()
    .map(|s| ((*s).to_owned(), 1))
    .collect();
    q.push(("上海".into(), 40));
    q.push(("建设".into(), 3));
    q.push((enterprise(12_345)?.credit_code.to_string(), 1));
    q.push(("D231012346".into(), 1));
    Ok(q)
}

async fn run(args: LookupArgs) -> anyhow::Result<()> {
    let pg = Store::connect(&args.database_url)
        .await
        .context("cannot open the seeded register")?;
    let mut backends = vec![("postgres", pg.clone())];
    if !args.no_sqlite {
        backends.push(("sqlite", sqlite_copy(&pg, &args.sqlite).await?));
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM enterprises")
        .fetch_one(pg.pool())
        .await?;
    println!("{n} enterprises; {} lookups per fragment", args.rounds);
    for (name, store) in &backends {
        let mut all = Histogram::<u64>::new(3)?;
        println!("{name}:");
        for (q, page) in queries()? {
            let found = store.search_enterprises(&q, page, 20).await?;
            let mut h = Histogram::<u64>::new(3)?;
            for _ in 0..args.rounds {
                let t = Instant::now();
                store.search_enterprises(&q, page, 20).await?;
                let us = t.elapsed().as_micros() as u64;
                h.record(us)?;
                all.record(us)?;
            }
            println!(
                "  {:<24} page {:>2}: total {:>6}{} p50 {:>7.2} ms  p99 {:>7.2} ms",
                q,
                page,
                found.total,
                if found.total_capped { "+" } else { " " },
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
            );
        }
        println!(
            "  all fragments: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(all.value_at_quantile(0.5)),
            ms(all.value_at_quantile(0.99)),
            ms(all.max())
        );
    }
    Ok(())
}

fn ms(us: u64) -> f64 {
    Duration::from_micros(us).as_secs_f64() * 1e3
}

/// The SQLite register with the same enterprises and certificates as `pg`, copied once.
async fn sqlite_copy(pg: &Store, path: &Path) -> anyhow::Result<Store> {
    let store = Store::connect(&format!("sqlite://{}", path.display())).await?;
    if !store.is_empty().await? {
        return Ok(store);
    }
    let started = Instant::now();
    let enterprises: Vec<EnterpriseRow> = sqlx::query_as(
        "SELECT id, credit_code, name, address, legal_representative, registered_capital_wan,
                economic_nature, created_at, name_key FROM enterprises ORDER BY id",
    )
    .fetch_all(pg.pool())
    .await?;
    let certificates: Vec<CertificateRow> = sqlx::query_as(
        "SELECT number, enterprise_id, category, approved_on, valid_until, current_version, state
         FROM certificates ORDER BY number",
    )
    .fetch_all(pg.pool())
    .await?;
    let mut tx = store.pool().begin().await?;
    for e in &enterprises {
        sqlx::query(
            "INSERT INTO enterprises (id, credit_code, name, address, legal_representative,
               registered_capital_wan, economic_nature, created_at, updated_at, name_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind(e.id)
        .bind(&e.credit_code)
        .bind(&e.name)
        .bind(&e.address)
        .bind(&e.legal_representative)
        .bind(&e.registered_capital_wan)
        .bind(&e.economic_nature)
        .bind(&e.created_at)
        .bind(&e.name_key)
        .execute(&mut *tx)
        .await?;
    }
    // Certificates without their versions: a lookup reads only this table.
    for c in &certificates {
        sqlx::query(
            "INSERT INTO certificates (number, enterprise_id, category, approved_on, valid_until,
               current_version, state) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.number)
        .bind(c.enterprise_id)
        .bind(&c.category)
        .bind(&c.approved_on)
        .bind(&c.valid_until)
        .bind(c.current_version)
        .bind(&c.state)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    eprintln!(
        "copied {} enterprises and {} certificates to {} in {:.1} s",
        enterprises.len(),
        certificates.len(),
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(store)
}

#[derive(sqlx::FromRow)]
struct EnterpriseRow {
    id: i64,
    credit_code: String,
    name: String,
    address: String,
    legal_representative: String,
    registered_capital_wan: String,
    economic_nature: String,
    created_at: String,
    name_key: String,
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    number: String,
    enterprise_id: i64,
    category: String,
    approved_on: String,
    valid_until: String,
    current_version: i64,
    state: String,
}
