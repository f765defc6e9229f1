//! `zizhi-load`: builds a large register on PostgreSQL through the server library (`seed`),
//! then drives `GET /api/v1/verify/{base32}` against a running server and puts the result next
//! to raw Ed25519 verification speed measured in the same process (`run`). `crypto` measures
//! the signature checks alone.
//!
//! Benchmarks are measured, never asserted: nothing here runs in CI beyond the build.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

mod crypto;
mod load;
mod lookup;
mod seed;
mod snapshot;

#[derive(Debug, Parser)]
#[command(
    name = "zizhi-load",
    about = "Load test of the zizhi verification server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the register (enterprises, certificates, copies) in PostgreSQL and write the codes.
    Seed(seed::SeedArgs),
    /// Drive GET /api/v1/verify/{base32} against a running server, then measure raw Ed25519.
    Run(load::RunArgs),
    /// Only measure raw Ed25519 verify_strict and zizhi verify_bytes per second on one core.
    Crypto(crypto::CryptoArgs),
    /// Time enterprise lookups on the seeded register, on PostgreSQL and a SQLite copy.
    Lookup(lookup::LookupArgs),
    /// Time and size the status snapshot of the seeded register, full and one-day delta.
    Snapshot(snapshot::SnapshotArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed(args) => seed::main(args),
        Command::Run(args) => load::main(args),
        Command::Lookup(args) => lookup::main(args),
        Command::Snapshot(args) => snapshot::main(args),
        Command::Crypto(args) => {
            crypto::measure(args.seconds).print();
            Ok(())
        }
    }
}
