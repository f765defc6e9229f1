//! `zizhi-load codes`: the base32 part of every copy's QR text in a register, one a line, for
//! `zizhi-load run`. Works on either backend, so the demo register on SQLite can be loaded too.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use sqlx::Row;
use zizhi_server::key_ring::KeyRing;
use zizhi_server::store::Store;
use zizhi_shared::QrText;

#[derive(Debug, Args)]
pub struct CodesArgs {
    /// The register's database (sqlite://… or postgres://…).
    #[arg(long)]
    pub database_url: String,
    /// The server's data directory, whose keys the codes must verify with.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// File receiving the codes.
    #[arg(long, default_value = "codes.txt")]
    pub out: PathBuf,
}

pub fn main(args: CodesArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let store = Store::connect(&args.database_url)
                .await
                .with_context(|| format!("cannot open {}", args.database_url))?;
            let keys = KeyRing::load(&args.data_dir)?;
            let n = dump(&store, &keys, &args.data_dir, &args.out).await?;
            store.close().await;
            println!("wrote {n} codes to {}", args.out.display());
            anyhow::Ok(())
        })
}

/// Writes every copy's base32 payload to `out`, after checking a sample against the keys: a
/// data directory that does not match the database would make every scan a forgery.
pub async fn dump(
    store: &Store,
    keys: &KeyRing,
    data_dir: &Path,
    out: &Path,
) -> anyhow::Result<usize> {
    let texts: Vec<String> = sqlx::query("SELECT qr_text FROM copies ORDER BY id")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    let now = Utc::now();
    for t in texts.iter().step_by((texts.len() / 50).max(1)) {
        zizhi_shared::verify_text(t, keys.current().trust_list(), now).with_context(|| {
            format!(
                "a stored copy does not verify with the keys in {}",
                data_dir.display()
            )
        })?;
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?,
    );
    for t in &texts {
        let at = t.rfind(QrText::PATH).context("QR text without /V/")?;
        writeln!(file, "{}", &t[at + QrText::PATH.len()..])?;
    }
    file.flush()?;
    Ok(texts.len())
}
