//! `zizhi-load snapshot`: the status snapshot (`GET /api/v1/status/snapshot`, built by
//! `zizhi_server::snapshot::Snapshots`) of the seeded register: a full snapshot cold and
//! cached, then a day of register work (copies issued, some withdrawn, qualifications
//! suspended) and the delta a device that synced before it gets; time and signed size of each.
//!
//! The day's work is written to the register through the store, so each run adds to it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use chrono::{NaiveDate, TimeDelta, Utc};
use clap::Args;
use zizhi_server::key_ring::KeyRing;
use zizhi_server::register::ops::QualificationAction;
use zizhi_server::snapshot::{Request, Snapshots};
use zizhi_server::store::Store;
use zizhi_shared::{CertificateNumber, StatusSnapshot};

use crate::seed::{ACTOR, ISSUER, usage_terms};

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The seeded PostgreSQL register.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/zizhi_load")]
    pub database_url: String,
    /// The issuer keys the register was seeded with.
    #[arg(long, default_value = "zizhi-load-data")]
    pub data_dir: PathBuf,
    /// The day's work: certificates that get 20 new copies each.
    #[arg(long, default_value_t = 250)]
    pub certificates: i64,
    /// Copies withdrawn during the day.
    #[arg(long, default_value_t = 100)]
    pub withdrawals: i64,
    /// Qualifications suspended during the day.
    #[arg(long, default_value_t = 20)]
    pub suspensions: i64,
    #[arg(long, default_value = "ZZ.EXAMPLE.CN")]
    pub host: String,
}

pub fn main(args: SnapshotArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: SnapshotArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url)
        .await
        .context("cannot open the seeded register")?;
    let now = Utc::now();
    let keys = KeyRing::load_or_create(
        &args.data_dir,
        ISSUER,
        now.date_naive() - TimeDelta::days(365),
        now,
    )?;
    let copies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM copies")
        .fetch_one(store.pool())
        .await?;
    println!("register of {copies} copies");
    let snapshots = Snapshots::default();
    let full = measure(
        "full snapshot (cold)",
        &snapshots,
        &store,
        &keys,
        Request::Full,
    )
    .await?;
    measure(
        "full snapshot (cached)",
        &snapshots,
        &store,
        &keys,
        Request::Full,
    )
    .await?;
    let since_time = Utc::now();

    // A day at the register.
    let started = Instant::now();
    let numbers: Vec<String> = sqlx::query_scalar(
        "SELECT number FROM certificates WHERE state = 'active' ORDER BY number LIMIT $1",
    )
    .bind(args.certificates)
    .fetch_all(store.pool())
    .await?;
    let today = zizhi_shared::time::beijing_date(Utc::now());
    for (i, n) in numbers.iter().enumerate() {
        let number: CertificateNumber = n.parse()?;
        let (approved_on, valid_until): (String, String) =
            sqlx::query_as("SELECT approved_on, valid_until FROM certificates WHERE number = $1")
                .bind(n)
                .fetch_one(store.pool())
                .await?;
        let (from, to): (NaiveDate, NaiveDate) = (approved_on.parse()?, valid_until.parse()?);
        if to < today {
            continue;
        }
        let items = (1..=20)
            .map(|j| Some(usage_terms(i, j, today, from, to)))
            .collect();
        store
            .issue_copies(ACTOR, &number, items, &keys, &args.host, Utc::now())
            .await?;
    }
    let after_copies = measure(
        "full snapshot after the copies (no status changed)",
        &snapshots,
        &store,
        &keys,
        Request::Full,
    )
    .await?;
    anyhow::ensure!(
        after_copies.rebuilds == full.rebuilds,
        "copies forced a rebuild"
    );
    let withdraw: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM copies WHERE withdrawn_at IS NULL AND kind = 'usage' ORDER BY id DESC LIMIT $1",
    )
    .bind(args.withdrawals)
    .fetch_all(store.pool())
    .await?;
    for id in &withdraw {
        store
            .withdraw_copy(ACTOR, *id as u64, Some("负载测试"), Utc::now())
            .await?;
    }
    measure(
        "full snapshot after the withdrawals",
        &snapshots,
        &store,
        &keys,
        Request::Full,
    )
    .await?;
    let suspend: Vec<i64> = sqlx::query_scalar(
        "SELECT q.id FROM qualifications q JOIN certificates c ON c.number = q.certificate_number
         WHERE q.status = 'active' AND c.state = 'active' ORDER BY q.id DESC LIMIT $1",
    )
    .bind(args.suspensions)
    .fetch_all(store.pool())
    .await?;
    for id in &suspend {
        store
            .change_qualification(
                ACTOR,
                *id,
                QualificationAction::Suspend,
                None,
                Some("负载测试"),
                Utc::now(),
            )
            .await?;
    }
    println!(
        "the day: {} copies issued, {} withdrawn, {} qualifications suspended in {:.1} s",
        numbers.len() * 20,
        withdraw.len(),
        suspend.len(),
        started.elapsed().as_secs_f64()
    );
    let delta = Request::Delta {
        since: full.snapshot.seq,
        since_time,
    };
    measure(
        "one-day delta (status rebuilt)",
        &snapshots,
        &store,
        &keys,
        delta,
    )
    .await?;
    measure("one-day delta (cached)", &snapshots, &store, &keys, delta).await?;
    measure(
        "full snapshot (cached)",
        &snapshots,
        &store,
        &keys,
        Request::Full,
    )
    .await?;
    store.close().await;
    Ok(())
}

struct Measured {
    snapshot: StatusSnapshot,
    rebuilds: u64,
}

async fn measure(
    what: &str,
    snapshots: &Snapshots,
    store: &Store,
    keys: &KeyRing,
    request: Request,
) -> anyhow::Result<Measured> {
    let t = Instant::now();
    let snapshot = snapshots.build(store, request, Utc::now()).await?;
    let built = t.elapsed().as_secs_f64() * 1e3;
    let signed = keys.current().sign_status_snapshot(&snapshot)?;
    let total = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "  {what}: {built:.0} ms built, {total:.0} ms signed; {} bytes signed \
         ({} withdrawn copies, {} versions; seq {}, since {}; rebuilds so far {})",
        signed.as_bytes().len(),
        snapshot.withdrawn_copies.len(),
        snapshot.versions.len(),
        snapshot.seq,
        snapshot.since,
        snapshots.rebuilds()
    );
    Ok(Measured {
        snapshot,
        rebuilds: snapshots.rebuilds(),
    })
}
