//! The documents of copies: stored PDFs of usage copies, the rules for downloading a copy,
//! and rendering (CPU-bound, so on the blocking pool).
//!
//! Download rules, from the guide: a copy of a superseded certificate version cannot be
//! downloaded any more, nor anything of a certificate with no qualification left; a withdrawn
//! usage copy neither. The approval copy is rendered afresh on every request, from the
//! version in force, with the time of the request as 本件生成日期. A usage copy's PDF carries
//! the enterprise's signature, made once with its password, so it is stored and served as is.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use zizhi_documents::pki::Signer;
use zizhi_documents::{CopyContent, DocumentError, make_pdf};
use zizhi_shared::{Certificate, CertificateNumber, CopyKind};

use super::signing::PdfSigning;
use crate::app::AppState;
use crate::auth::CopyReader;
use crate::copies::model::CopyRecord;
use crate::error::{AppError, AppResult};
use crate::register::model::{CertificateStanding, CertificateStatus};

/// Refuses a copy that may no longer be downloaded; returns the certificate it prints.
pub fn check_downloadable(copy: &CopyRecord, status: &CertificateStatus) -> AppResult<Certificate> {
    if status.standing != CertificateStanding::Active {
        return Err(AppError::refused(
            "no_qualification_left",
            format!(
                "证书 {} 已无有效资质，电子资质证书不能下载",
                copy.certificate_number
            ),
        ));
    }
    if copy.certificate_version != status.current_version {
        return Err(AppError::refused(
            "copy_superseded",
            format!(
                "该{}属于证书 {} 的第 {} 版，已被第 {} 版取代，旧证书不能下载；请重新领取批准件或生成使用件",
                copy.kind.name_zh(),
                copy.certificate_number,
                copy.certificate_version,
                status.current_version
            ),
        ));
    }
    if copy.withdrawn_at.is_some() {
        return Err(AppError::refused(
            "copy_withdrawn",
            format!("该{}已撤回，不能下载", copy.kind.name_zh()),
        ));
    }
    Ok(status.current().certificate.clone())
}

fn document_error(e: DocumentError) -> AppError {
    match e {
        // The register checks every printed field with these fonts at entry
        // (`check_printable`), so reaching this means the fonts in force changed since: the
        // operator's fault, not the clerk's, and never a reason to ask for another name.
        DocumentError::WrongPassword => AppError::invalid("wrong_password", "数字证书密码错误"),
        other => AppError::Internal(other.into()),
    }
}

/// Checks, at entry, that the certificate's fonts can set every character of each text (the
/// register's own rule, `zizhi_shared::legal_text`, has been applied already), so whatever
/// the register accepts also prints. The error names the character and its code point: a
/// legal name cannot be "replaced by common characters", so the message says what is missing
/// rather than asking for another spelling.
pub fn check_printable(keys: &PdfSigning, texts: &[(&str, &str)]) -> AppResult<()> {
    let fonts = keys.fonts.get().map_err(document_error)?;
    for (field, text) in texts {
        if let Some(c) = fonts.missing(text) {
            return Err(AppError::invalid(
                "unprintable_character",
                format!(
                    "{field}中的字符“{c}”（U+{:04X}）在证书字体中没有字形，无法排印；请联系发证机关的系统管理员补充字体",
                    u32::from(c)
                ),
            ));
        }
    }
    Ok(())
}

/// Renders and signs one copy: the issuer's certification signature, then the enterprise's
/// when its unlocked signer is given.
pub async fn render(
    keys: &PdfSigning,
    certificate: Certificate,
    copy: &CopyRecord,
    generated_at: DateTime<Utc>,
    enterprise: Option<Signer>,
) -> AppResult<Vec<u8>> {
    let keys = keys.clone();
    let copy = copy.clone();
    tokio::task::spawn_blocking(move || {
        let content = CopyContent {
            certificate: &certificate,
            kind: copy.kind,
            usage: copy.usage.as_ref(),
            copy_id: copy.id,
            qr_text: &copy.qr_text,
            generated_at,
        };
        make_pdf(
            &content,
            &keys.fonts.get()?,
            &keys.issuer,
            enterprise.as_ref(),
        )
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(document_error)
}

/// The PNG preview of a PDF.
pub async fn preview(pdf: Vec<u8>) -> AppResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        zizhi_documents::preview::png(&pdf, zizhi_documents::preview::PREVIEW_DPI)
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(document_error)
}

/// A download file name: `D231000037-使用件-12.pdf`.
pub fn file_name(copy: &CopyRecord, ext: &str) -> String {
    let kind = match copy.kind {
        CopyKind::Approval => "批准件",
        CopyKind::Usage => "使用件",
    };
    format!("{}-{kind}-{}.{ext}", copy.certificate_number, copy.id)
}

/// `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987).
pub(crate) fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    // RFC 5987's attr-char: alphanumerics and a few marks stay, the rest is encoded.
    const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_');
    let encoded = percent_encoding::utf8_percent_encode(name, ATTR_CHAR);
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub(crate) async fn status_of(
    state: &AppState,
    number: &CertificateNumber,
) -> AppResult<CertificateStatus> {
    state
        .store
        .certificate_status(number)
        .await?
        .ok_or_else(|| AppError::not_found("certificate_not_found", format!("未找到证书 {number}")))
}

/// A copy's signed PDF (`{id}.pdf`) or its preview (`{id}.png`), for the issuer or the
/// enterprise that owns it (another enterprise's copy is answered as absent).
pub async fn copy_file(state: &AppState, reader: &CopyReader, file: &str) -> AppResult<Response> {
    let (id, png) = match file.rsplit_once('.') {
        Some((id, "pdf")) => (id, false),
        Some((id, "png")) => (id, true),
        _ => {
            return Err(AppError::not_found(
                "unknown_format",
                "请求 /api/v1/copies/{id}.pdf 或 /api/v1/copies/{id}.png",
            ));
        }
    };
    let not_found = || AppError::not_found("copy_not_found", format!("未找到编号为 {id} 的证书件"));
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let copy = state.store.copy(id).await?.ok_or_else(not_found)?;
    let status = status_of(state, &copy.certificate_number).await?;
    // Another enterprise's copy is answered as absent, so ids cannot be probed.
    if let CopyReader::Enterprise(acc) = &reader
        && acc.credit_code != status.credit_code
    {
        return Err(not_found());
    }
    let certificate = check_downloadable(&copy, &status)?;
    let stored = state.store.document(id).await?;
    let (pdf, cached_png) = match (stored, copy.kind) {
        (Some(doc), _) => (doc.pdf, Some(doc.png)),
        (None, CopyKind::Approval) => {
            // Rendered afresh from the version in force; 本件生成日期 is now.
            let now = Utc::now()
                .duration_trunc(TimeDelta::minutes(1))
                .map_err(anyhow::Error::from)?;
            (
                render(&state.pdf, certificate, &copy, now, None).await?,
                None,
            )
        }
        (None, CopyKind::Usage) => {
            return Err(AppError::refused(
                "usage_copy_not_signed",
                "该使用件没有企业数字签名的文件：使用件须由企业凭数字证书和密码生成",
            ));
        }
    };
    let name = file_name(&copy, if png { "png" } else { "pdf" });
    let (bytes, content_type) = if png {
        let image = match cached_png {
            Some(Some(p)) => p,
            Some(None) => {
                let p = preview(pdf).await?;
                state.store.save_preview(id, &p).await?;
                p
            }
            None => preview(pdf).await?,
        };
        (image, "image/png")
    } else {
        (pdf, "application/pdf")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition(&name)),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
