//! `zizhi-load`: builds a large register on PostgreSQL through the server library (`seed`),
//! then drives `GET /api/v1/verify/{base32}` against a running server and puts the result next
//! to raw Ed25519 verification speed measured in the same process (`run`). `crypto` measures
//! the signature checks alone.
//!
//! Benchmarks are measured, never asserted: nothing here runs in CI beyond the build.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

/// The server's allocator, so the trivial handler (the ceiling) runs on the same footing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod codes;
mod crypto;
mod load;
mod lookup;
mod seed;
mod snapshot;
mod trivial;

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
    /// Send every code in turn on one connection (for a profiler attached to the server).
    Sweep(load::SweepArgs),
    /// Write the codes of every copy in a register (either backend) for `run`.
    Codes(codes::CodesArgs),
    /// Serve the ceiling: a trivial axum JSON handler on the verify path.
    Trivial(trivial::TrivialArgs),
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
            match args.count {
                Some(n) => crypto::count_strict(n),
                None => crypto::measure(args.seconds).print(),
            }
            Ok(())
        }
        Command::Sweep(args) => load::sweep(args),
        Command::Codes(args) => codes::main(args),
        Command::Trivial(args) => trivial::main(args),
    }
}
