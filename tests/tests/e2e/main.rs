//! The end-to-end tests, in one test binary that links the server once: each module starts
//! the real zizhi server on port 0 against a fresh database of its own (SQLite, or PostgreSQL
//! with Redis) and drives it from outside, with independent peers where there is one.
//!
//! - `api`: the HTTP API (verify, issuer, bad input, several instances, QR codes).
//! - `app`: the scanner app in headless Chromium with a faked camera.
//! - `chat`: the official-account endpoint, talked to by wechatpy.
//! - `deploy`: `deploy/` against the code: the configuration reference loads, the systemd unit
//!   outwaits the drain, nginx accepts the site and, in front of the real binary, forwards the
//!   request id and the real client address.
//! - `documents`: the certificate PDFs, checked by poppler, NSS and pyHanko.
//! - `faults`: Redis, PostgreSQL and the process itself failing for real, under the real
//!   binary run as processes.
//! - `harness`: the promises of the test harness itself (no database outlives its test).
//! - `lookup`: enterprise lookup by short name fragments, the store called directly, on both
//!   backends.
//! - `names`: legal names with characters outside GB 2312 through register, PDF, QR, verify,
//!   H5 page, chat and search; and what the register refuses at entry.
//! - `ops`: what operators watch: metrics, readiness, JSON logs without secrets.
//! - `pages`: the H5 pages in headless Chromium and over HTTP.
//! - `snapshot`: the status snapshot and the offline verdict built on it.
//! - `store`: the store called directly (batched issuing), on both backends.
//!
//! Tests run concurrently in this one process, so none relies on process-wide state: each
//! has its own server, database, Redis namespace and temp dir, and only one drives Chromium
//! at a time ([`zizhi_tests::one_chromium_at_a_time`]).

mod api;
mod app;
mod chat;
mod deploy;
mod documents;
mod faults;
mod harness;
mod lookup;
mod names;
mod ops;
mod pages;
mod portal;
mod snapshot;
mod store;
