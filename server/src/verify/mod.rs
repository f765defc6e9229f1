//! Verification (验证): a scanned QR text in, the inspector's verdict out. The signature is
//! checked against the trust list before anything touches the register.

pub mod api;
pub mod batch;
pub mod repeat;
pub mod request;
mod service;
pub mod tally;
pub mod verdict;

pub use service::{verify, verify_json};
