//! zizhi payload crate: the register's domain types, the signed QR payload of a certificate
//! copy (电子资质证书二维码), and the issuer trust list. No I/O; compiles to wasm32 for the app.
//!
//! - [`claims`]: what a copy's QR code asserts, and its compact CBOR form (claim table there).
//! - [`payload`]: the signed bytes (format byte + COSE_Sign1, Ed25519) and offline verification.
//! - [`text`]: the QR text `HTTPS://<HOST>/V/<BASE32>`.
//! - [`trust`]: the root-signed list of issuer keys with their validity windows.
//! - [`keys`]: key ids and issuer signing keys (from caller-provided seeds; no randomness here).
//! - [`snapshot`]: the root-signed status snapshot (withdrawn copies, versions no longer
//!   current), full or delta, and the [`StatusCache`] a device keeps between syncs.
//! - [`verdict`]: the verdict on a scanned copy, its wire form and the one function that
//!   judges it, from the register's live status (server) or a cached snapshot (device).
//! - [`legal_text`]: which characters the register accepts, the form it keeps them in, and
//!   how search compares them.
//! - [`rare`]: which characters need a web font (生僻字), and that font's wire form.
//! - [`time`]: times in China Standard Time, as inspectors read them.
//! - `render` (feature `render`): QR code as SVG or PNG, level M, alphanumeric mode.
//!
//! ```
//! use zizhi_shared::{Claims, CopyKind, IssuerKey, KeyId, TrustList, TrustedKey, QrText};
//! use chrono::{TimeZone, Utc};
//!
//! let now = Utc.with_ymd_and_hms(2026, 1, 10, 8, 0, 0).unwrap();
//! let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
//! let root = IssuerKey::from_seed(KeyId::new(*b"ROOT"), [9; 32]);
//! let trusted = TrustedKey::for_key(&key, "上海市住房和城乡建设管理委员会", now.date_naive(), None);
//! let list = TrustList::new(vec![trusted], now).sign(&root);
//! let trust = list.open(&root.verifying_key()).unwrap();
//!
//! let claims = Claims::example_usage();
//! let text = QrText::encode("ZZ.EXAMPLE.CN", &claims.sign(&key));
//! let verified = zizhi_shared::verify_text(&text, &trust, now).unwrap();
//! assert_eq!(verified.claims, claims);
//! ```
#![forbid(unsafe_code)]

pub mod claims;
mod cose;
pub mod domain;
pub mod keys;
pub mod legal_text;
pub mod payload;
pub mod rare;
#[cfg(feature = "render")]
pub mod render;
pub mod snapshot;
pub mod text;
pub mod time;
pub mod trust;
pub mod verdict;

pub use claims::Claims;
pub use cose::SignatureAlgorithm;
pub use domain::*;
pub use ed25519_dalek::VerifyingKey;
pub use keys::{IssuerKey, KeyId, verifying_key_from_hex};
#[cfg(feature = "batch")]
pub use payload::signatures_hold_together;
pub use payload::{
    OpenedPayload, PayloadError, SignedPayload, Verified, open_payload, verify_bytes,
    verify_bytes_decompressed, verify_text,
};
pub use snapshot::{
    STATUS_SNAPSHOT_CONTENT_TYPE, SignedStatusSnapshot, SnapshotError, StatusCache, StatusSnapshot,
    VersionEntry,
};
pub use text::QrText;
pub use trust::{DecompressedTrustList, SignedTrustList, TrustList, TrustedKey};
pub use verdict::{CertificateState, Level, StatusFacts, Verdict};
