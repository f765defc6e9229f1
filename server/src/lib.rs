//! zizhi server: the register of enterprises and their certificates (登记簿), the issuer API,
//! and the public verification API that answers a scanned QR code with the enterprise's live
//! qualification status.
//!
//! Tests and the binary start it the same way:
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let mut settings = zizhi_server::settings::Settings::default();
//! settings.bind = "127.0.0.1:0".parse()?;
//! let server = zizhi_server::app::RunningServer::start(settings).await?;
//! println!("listening on {}", server.url("/"));
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod app_shell;
pub mod auth;
pub mod cache;
pub mod chat;
pub mod cli;
pub mod client_address;
pub mod console;
pub mod copies;
pub mod demo;
pub mod error;
pub mod extract;
pub mod key_ring;
pub mod links;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod password_guesses;
pub mod pdf;
pub mod portal;
pub mod private_files;
pub mod ratelimit;
pub mod register;
pub mod settings;
pub mod shared_redis;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod testing;
pub mod verify;
pub mod wording;
