//! zizhi certificate documents: a copy (批准件 or 使用件) as one A4 PDF page in the guide's
//! regions A–F, carrying PAdES signatures — the issuer's certification signature, then on
//! usage copies the enterprise's own — and a PNG preview of the same page.
//!
//! Kept apart from the server so the PDF and CMS code builds, tests and benches without a
//! database or web stack, and so other tools (a desktop signer, the bench) can reuse it.
//!
//! ```no_run
//! use chrono::{Duration, Utc};
//! use zizhi_documents::{CopyContent, Fonts, make_pdf, pki::{Role, Signer, Subject}};
//! # fn run(content: CopyContent<'_>) -> Result<(), zizhi_documents::DocumentError> {
//! let now = Utc::now();
//! let subject = |n| Subject { common_name: n, organization: n, credit_code: None };
//! let root = Signer::new_root(&subject("演示根证书"), now, now + Duration::days(3650))?;
//! let issuer = root.issue(&subject("发证机关"), Role::DocumentSigner, now, now + Duration::days(1000))?;
//! let pdf = make_pdf(&content, &Fonts::load(None)?, &issuer, None)?;
//! let preview = zizhi_documents::preview::png(&pdf, 110.0)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod cms;
mod draw;
pub mod fonts;
pub mod layout;
pub mod pades;
pub mod pki;
pub mod preview;
#[doc(hidden)]
pub mod sample;
pub mod webfont;

pub use fonts::Fonts;
pub use layout::CopyContent;
pub use lopdf;
use pades::{SignatureRole, SignatureSpec};
use pki::Signer;
use zizhi_shared::CopyKind;

/// Name of the issuer's signature field.
pub const ISSUER_FIELD: &str = "IssuerSignature";
/// Name of the enterprise's signature field (usage copies).
pub const ENTERPRISE_FIELD: &str = "EnterpriseSignature";

/// Why a document could not be made or signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    #[error("证书文件或密钥无效：{0}")]
    Pki(String),
    #[error("数字证书密码错误")]
    WrongPassword,
    #[error("签名数据生成失败：{0}")]
    Cms(String),
    #[error("PDF 处理失败：{0}")]
    Pdf(String),
    #[error("字体无法使用：{0}")]
    Font(String),
    #[error("字体中没有字符“{0}”，不能生成证书")]
    MissingGlyph(char),
    #[error("版面生成失败：{0}")]
    Layout(String),
    #[error("预览图生成失败：{0}")]
    Preview(String),
}

/// Renders a copy and signs it: the issuer certifies it (creating the enterprise's empty
/// signature field on usage copies), then, when given, the enterprise signs that field.
pub fn make_pdf(
    content: &CopyContent<'_>,
    fonts: &Fonts,
    issuer: &Signer,
    enterprise: Option<&Signer>,
) -> Result<Vec<u8>, DocumentError> {
    let pdf = layout::render(content, fonts)?;
    let later: &[&str] = match content.kind {
        CopyKind::Usage => &[ENTERPRISE_FIELD],
        CopyKind::Approval => &[],
    };
    let reason = match content.kind {
        CopyKind::Usage => "发证机关签发电子资质证书（使用件）",
        CopyKind::Approval => "发证机关签发电子资质证书（批准件）",
    };
    let pdf = pades::sign(
        &pdf,
        &SignatureSpec {
            field: ISSUER_FIELD,
            label: "发证机关电子签名",
            signer: issuer,
            reason,
            location: "上海",
            time: content.generated_at,
            role: SignatureRole::Certify {
                later_fields: later,
            },
        },
    )?;
    match enterprise {
        None => Ok(pdf),
        Some(e) => add_enterprise_signature(&pdf, content, e),
    }
}

/// The enterprise's signature on a usage copy the issuer has certified.
pub fn add_enterprise_signature(
    pdf: &[u8],
    content: &CopyContent<'_>,
    enterprise: &Signer,
) -> Result<Vec<u8>, DocumentError> {
    let reason = match content.usage {
        Some(u) => format!("企业生成使用件，用于：{}", u.purpose),
        None => "企业确认".to_owned(),
    };
    pades::sign(
        pdf,
        &SignatureSpec {
            field: ENTERPRISE_FIELD,
            label: "企业电子签名",
            signer: enterprise,
            reason: &reason,
            location: "上海",
            time: content.generated_at,
            role: SignatureRole::Approve,
        },
    )
}
