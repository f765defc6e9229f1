//! zizhi-app: the inspector's scanner (资质证书扫码核验). Point the phone at the QR code of a
//! printed certificate copy; the app reads it in wasm (`zizhi_scan`), checks the signature
//! against the cached trust list, judges the status from the cached status snapshot, and asks
//! the server for the live answer and 资质详情 when it can.
//!
//! The plain-Rust parts (this crate's modules outside `web`) build and test natively:
//!
//! ```
//! use zizhi_app::format::{LocalOffset, time};
//! use chrono::{TimeZone, Utc};
//!
//! let t = Utc.with_ymd_and_hms(2026, 11, 25, 6, 3, 0).unwrap();
//! assert_eq!(time(t, LocalOffset::BEIJING), "2026-11-25 14:03");
//! ```
//!
//! The UI (`web`, Dioxus 0.7) exists only in the wasm32 build: `bash scripts/build-app.sh`.
#![forbid(unsafe_code)]

pub mod check;
pub mod format;
pub mod frame;
pub mod history;
pub mod rare;
pub mod status;
pub mod sync;
pub mod view;

#[cfg(target_arch = "wasm32")]
pub mod web;
