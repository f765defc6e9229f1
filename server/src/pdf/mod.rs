//! Certificate documents: each copy as a PAdES-signed PDF (and its PNG preview), enterprise
//! signing credentials (the guide's 法人一证通), and the download rules.
//!
//! The layout and the signature code live in the `zizhi-documents` crate; this module holds
//! what needs the server: the configured or generated keys, the database, the HTTP routes.
//!
//! - [`signing`]: fonts, the issuer's PDF signing certificate and the CA that certifies
//!   enterprises.
//! - [`credentials`]: enrolment, API tokens and password-protected enterprise keys.
//! - [`files`]: stored PDFs of usage copies and the rules for downloading a copy.
//! - [`enterprise_copies`]: 领证 and 生成使用件, for the enterprise API and the portal.
//! - [`api`]: `GET /api/v1/copies/{id}.pdf|.png` and the enterprise API.

pub mod api;
pub mod credentials;
pub mod demo;
pub mod enterprise_copies;
pub mod files;
pub mod signing;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[documents]` in the settings: where fonts and PDF signing keys come from. Every path is
/// optional: unset, the server uses Debian's Noto Serif CJK (or the shipped subset) and a
/// demonstration PKI generated into `<data_dir>/pki/`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentSettings {
    /// Font file (Noto Serif CJK .ttc/.otf) certificates are set in.
    pub font: Option<PathBuf>,
    /// The issuer's PDF signing certificate chain, PEM, leaf first.
    pub issuer_certificate: Option<PathBuf>,
    /// Its private key, PKCS#8 (or SEC1) PEM, unencrypted; keep the file mode 0600.
    pub issuer_key: Option<PathBuf>,
    /// The CA that certifies enterprise signing keys, PEM (its chain, leaf first).
    pub enterprise_ca_certificate: Option<PathBuf>,
    /// Its private key, PEM.
    pub enterprise_ca_key: Option<PathBuf>,
    /// The root certificate validators should trust, published at
    /// `/.well-known/zizhi/pdf-root.pem`; the last certificate of the issuer chain when unset.
    pub trust_root: Option<PathBuf>,
}
