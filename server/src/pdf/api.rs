//! HTTP surface of the documents:
//!
//! - `GET /api/v1/copies/{id}.pdf` and `GET /api/v1/copies/{id}.png`: the signed certificate
//!   and its preview, for the issuer and for the enterprise that owns the copy.
//! - `GET /.well-known/zizhi/pdf-root.pem`: the root a PDF validator should trust.
//! - Issuer: `POST /api/v1/issuer/enterprises/{credit_code}/credential` enrols an enterprise.
//! - Enterprise (`Authorization: Bearer zzent_…`): its certificates and copies (使用记录),
//!   领证 (`approval-copy`), 生成使用件 (`usage-copies`, with the certificate's password), and
//!   a password change.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DurationRound, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{CertificateNumber, CopyKind, UsageTerms};

use super::credentials::{self, Enrolment, EnterpriseAccount};
use super::files::{self, check_downloadable, check_printable};
use crate::app::AppState;
use crate::auth::{AuthenticatedEnterprise, CopyReader, IssuerStaff};
use crate::copies;
use crate::copies::model::CopyRecord;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, IdempotencyKey};
use crate::register::api::parse_number;
use crate::register::model::{CertificateStanding, CertificateStatus};
use crate::store::{CopyRequest, RenderDocument};

/// The root a PDF validator should trust: public.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/.well-known/zizhi/pdf-root.pem", get(trust_root))
}

/// A copy's PDF and preview, for the issuer or the owning enterprise (under `/api/v1`, behind
/// [`crate::auth::require_copy_reader`]).
pub fn copy_file_routes() -> Router<AppState> {
    Router::new().route("/copies/{file}", get(download))
}

/// Under the issuer nest (`/api/v1/issuer`).
pub fn issuer_routes() -> Router<AppState> {
    Router::new().route("/enterprises/{credit_code}/credential", post(enrol))
}

/// Under the enterprise nest (`/api/v1/enterprise`).
pub fn enterprise_routes() -> Router<AppState> {
    Router::new()
        .route("/certificates", get(my_certificates))
        .route("/certificates/{number}/copies", get(my_copies))
        .route("/certificates/{number}/approval-copy", post(claim_approval))
        .route("/certificates/{number}/usage-copies", post(make_usage_copy))
        .route("/credential/password", post(change_password))
}

async fn trust_root(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.pdf.trust_root_pem.to_string(),
    )
}

/// `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987).
fn disposition(name: &str) -> String {
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

async fn status_of(state: &AppState, number: &CertificateNumber) -> AppResult<CertificateStatus> {
    state
        .store
        .certificate_status(number)
        .await?
        .ok_or_else(|| AppError::not_found("certificate_not_found", format!("未找到证书 {number}")))
}

async fn download(
    State(state): State<AppState>,
    reader: CopyReader,
    Path(file): Path<String>,
) -> AppResult<Response> {
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
    let status = status_of(&state, &copy.certificate_number).await?;
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
                files::render(&state.pdf, certificate, &copy, now, None).await?,
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
    let name = files::file_name(&copy, if png { "png" } else { "pdf" });
    let (bytes, content_type) = if png {
        let image = match cached_png {
            Some(Some(p)) => p,
            Some(None) => {
                let p = files::preview(pdf).await?;
                state.store.save_preview(id, &p).await?;
                p
            }
            None => files::preview(pdf).await?,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    password: String,
}

async fn enrol(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<EnrolBody>,
) -> AppResult<(StatusCode, Json<Enrolment>)> {
    let code = code.parse::<zizhi_shared::CreditCode>()?;
    let e = credentials::enrol_enterprise(
        &state.store,
        &issuer.actor,
        &code,
        &body.password,
        &state.pdf.enterprise_ca,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// One of the enterprise's certificates, as its 电子证书管理 page lists them.
#[derive(Serialize)]
struct MyCertificate {
    number: CertificateNumber,
    title: String,
    standing: CertificateStanding,
    current_version: u32,
    /// Absent when no qualification is left.
    approved_on: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
}

async fn my_certificates(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
) -> AppResult<Json<Vec<MyCertificate>>> {
    let out = state
        .store
        .enterprise_certificates(acc.enterprise_id)
        .await?
        .into_iter()
        .map(|c| {
            let active = c.standing == CertificateStanding::Active;
            MyCertificate {
                title: c.category.certificate_title(),
                standing: c.standing,
                current_version: c.current_version,
                approved_on: active.then_some(c.certificate.approved_on),
                valid_until: active.then_some(c.certificate.valid_until),
                number: c.number,
            }
        })
        .collect();
    Ok(Json(out))
}

/// The enterprise's own certificate, or "not found".
async fn own(
    state: &AppState,
    acc: &EnterpriseAccount,
    number: &str,
) -> AppResult<CertificateStatus> {
    let number = parse_number(number)?;
    let status = status_of(state, &number).await?;
    if status.credit_code != acc.credit_code {
        return Err(AppError::not_found(
            "certificate_not_found",
            format!("未找到证书 {number}"),
        ));
    }
    Ok(status)
}

async fn my_copies(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
    Path(number): Path<String>,
) -> AppResult<Json<Vec<CopyRecord>>> {
    let status = own(&state, &acc, &number).await?;
    Ok(Json(state.store.copies_of(&status.number).await?))
}

/// A copy with where to fetch its files.
#[derive(Serialize)]
struct IssuedCopy {
    #[serde(flatten)]
    copy: CopyRecord,
    pdf: String,
    png: String,
}

impl From<CopyRecord> for IssuedCopy {
    fn from(copy: CopyRecord) -> Self {
        IssuedCopy {
            pdf: format!("/api/v1/copies/{}.pdf", copy.id),
            png: format!("/api/v1/copies/{}.png", copy.id),
            copy,
        }
    }
}

/// 领证: the approval copy of the version in force (the existing one when already claimed).
async fn claim_approval(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
    IdempotencyKey(key): IdempotencyKey,
    Path(number): Path<String>,
) -> AppResult<impl IntoResponse> {
    let status = own(&state, &acc, &number).await?;
    let actor = format!("enterprise:{}", acc.credit_code);
    let request = CopyRequest {
        actor: &actor,
        number: &status.number,
        usage: None,
        idempotency_key: key.as_deref(),
    };
    let outcome = copies::issue(&state, request, None).await?;
    Ok(copies::created(
        outcome.replayed,
        IssuedCopy::from(outcome.copy),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageBody {
    purpose: String,
    from: NaiveDate,
    to: NaiveDate,
    /// The password of the enterprise's digital certificate, asked again for every copy.
    password: String,
}

/// 生成使用件: issued, rendered, signed by the issuer and then with the enterprise's key
/// (unlocked by its password), and stored, in one transaction: a copy answered `201` always
/// has its signed PDF, and a failure anywhere leaves no copy.
async fn make_usage_copy(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
    IdempotencyKey(key): IdempotencyKey,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<UsageBody>,
) -> AppResult<impl IntoResponse> {
    let status = own(&state, &acc, &number).await?;
    let terms = UsageTerms::new(&body.purpose, body.from, body.to)?;
    check_printable(&state.pdf, &[&terms.purpose])?;
    // The password is checked before anything is issued.
    let signer = credentials::enterprise_signer(&state.store, &acc, &body.password).await?;
    let actor = format!("enterprise:{}", acc.credit_code);
    let request = CopyRequest {
        actor: &actor,
        number: &status.number,
        usage: Some(terms),
        idempotency_key: key.as_deref(),
    };
    let pdf = state.pdf.clone();
    let render: RenderDocument<'_, AppError> = Box::new(move |copy, certificate| {
        Box::pin(async move {
            files::render(&pdf, certificate, &copy, copy.issued_at, Some(signer)).await
        })
    });
    let outcome = copies::issue(&state, request, Some(render)).await?;
    Ok(copies::created(
        outcome.replayed,
        IssuedCopy::from(outcome.copy),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    old_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
    ApiJson(body): ApiJson<PasswordBody>,
) -> AppResult<StatusCode> {
    credentials::change_enterprise_password(
        &state.store,
        &acc,
        &body.old_password,
        &body.new_password,
        Utc::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
