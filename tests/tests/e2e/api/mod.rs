//! End-to-end tests of the zizhi server over HTTP, each against a fresh database: SQLite
//! (embedded default) and PostgreSQL with Redis.

mod bad_input;
mod concurrency;
mod demo_cases;
mod guessing;
mod issuer;
mod keys;
mod limits;
mod qr;
mod scale;
mod verify;
