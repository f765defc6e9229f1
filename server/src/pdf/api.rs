//! HTTP surface of the documents:
//!
//! - `GET /api/v1/copies/{id}.pdf` and `GET /api/v1/copies/{id}.png`: the signed certificate
//!   and its preview, for the issuer and for the enterprise that owns the copy.
//! - `GET /.well-known/zizhi/pdf-root.pem`: the root a PDF validator should trust.
//! - Issuer: `POST /api/v1/issuer/enterprises/{credit_code}/credential` enrols an enterprise.
//! - Enterprise (`Authorization: Bearer zzent_…`): its certificates and copies (使用记录),
//!   领证 (`approval-copy`), 生成使用件 (`usage-copies`, with the certificate's password), and
//!   a password change.

use axum::extract::State;
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
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, IdempotencyKey};
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

/// The root a PDF validator should trust (PEM).
#[utoipa::path(
    get,
    path = "/.well-known/zizhi/pdf-root.pem",
    tag = "public",
    responses((status = 200, description = "根证书（PEM）", body = String, content_type = "application/x-pem-file"))
)]
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

/// A copy's signed PDF (`{id}.pdf`) or its preview (`{id}.png`).
#[utoipa::path(
    get,
    path = "/api/v1/copies/{file}",
    tag = "copy-files",
    params(("file" = String, Path, description = "`{id}.pdf` 或 `{id}.png`", example = "1.pdf")),
    responses(
        (status = 200, description = "证书文件（PDF）或预览图（PNG）", content(([u8] = "application/pdf"), ([u8] = "image/png")),
            headers(("Content-Disposition" = String, description = "文件名"))),
        (status = 400, description = "路径参数不符合要求（invalid_path）", body = ErrorBody),
        (status = 404, description = "未找到证书件，或不是本企业的证书件，或格式未知", body = ErrorBody),
        (status = 422, description = "证书已失效不能下载，或使用件没有企业签名的文件", body = ErrorBody),
    ),
    security(("issuer" = []), ("enterprise" = []))
)]
async fn download(
    State(state): State<AppState>,
    reader: CopyReader,
    ApiPath(file): ApiPath<String>,
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    /// 企业自设的数字证书密码
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

/// 数字证书发放: enrols an enterprise's digital certificate; the answer holds its API token,
/// shown once.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/enterprises/{credit_code}/credential",
    tag = "issuer",
    params(("credit_code" = String, Path, description = "统一社会信用代码", example = "91310112632714976P")),
    request_body = EnrolBody,
    responses(
        (status = 201, description = "已发放；token 只显示这一次", body = Enrolment),
        (status = 400, description = "信用代码格式错误，或密码过短（weak_password）", body = ErrorBody),
        (status = 404, description = "未登记该企业", body = ErrorBody),
    )
)]
async fn enrol(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(code): ApiPath<String>,
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
#[derive(Serialize, utoipa::ToSchema)]
struct MyCertificate {
    number: CertificateNumber,
    title: String,
    standing: CertificateStanding,
    current_version: u32,
    /// Absent when no qualification is left.
    approved_on: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
}

/// 电子证书管理: the enterprise's certificates.
#[utoipa::path(
    get,
    path = "/api/v1/enterprise/certificates",
    tag = "enterprise",
    responses((status = 200, description = "本企业的证书", body = Vec<MyCertificate>))
)]
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

/// 使用记录: every copy of one of the enterprise's certificates.
#[utoipa::path(
    get,
    path = "/api/v1/enterprise/certificates/{number}/copies",
    tag = "enterprise",
    params(("number" = String, Path, description = "证书编号", example = "D231098583")),
    responses(
        (status = 200, description = "证书件", body = Vec<CopyRecord>),
        (status = 400, description = "证书编号格式错误", body = ErrorBody),
        (status = 404, description = "未找到证书，或不是本企业的证书", body = ErrorBody),
    )
)]
async fn my_copies(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<Vec<CopyRecord>>> {
    let status = own(&state, &acc, &number).await?;
    Ok(Json(state.store.copies_of(&status.number).await?))
}

/// A copy with where to fetch its files.
#[derive(Serialize, utoipa::ToSchema)]
struct IssuedCopy {
    #[serde(flatten)]
    copy: CopyRecord,
    /// 证书文件的地址
    pdf: String,
    /// 预览图的地址
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
#[utoipa::path(
    post,
    path = "/api/v1/enterprise/certificates/{number}/approval-copy",
    tag = "enterprise",
    params(("number" = String, Path, description = "证书编号", example = "D231098583"), ("Idempotency-Key" = Option<String>, Header, description = "重试时带上同一个键，得到同一件证书（1 至 200 个可打印 ASCII 字符）")),
    responses(
        (status = 201, description = "已生成（重试所得的同一件带 Idempotent-Replayed: true）", body = IssuedCopy, headers(("Idempotent-Replayed" = String, description = "true 或 false"))),
        (status = 400, description = "证书编号或 Idempotency-Key 不符合要求", body = ErrorBody),
        (status = 404, description = "未找到证书，或不是本企业的证书", body = ErrorBody),
        (status = 409, description = "并发签发", body = ErrorBody),
        (status = 422, description = "证书不在有效状态", body = ErrorBody),
    )
)]
async fn claim_approval(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
    IdempotencyKey(key): IdempotencyKey,
    ApiPath(number): ApiPath<String>,
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
// Not the issuer's `UsageBody`: this one carries the password.
#[schema(as = EnterpriseUsageBody)]
struct UsageBody {
    /// 用途
    #[schema(max_length = 30, example = "闵行区某学校新建工程投标")]
    purpose: String,
    from: NaiveDate,
    to: NaiveDate,
    /// The password of the enterprise's digital certificate, asked again for every copy.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

/// 生成使用件: issued, rendered, signed by the issuer and then with the enterprise's key
/// (unlocked by its password), and stored, in one transaction: a copy answered `201` always
/// has its signed PDF, and a failure anywhere leaves no copy.
#[utoipa::path(
    post,
    path = "/api/v1/enterprise/certificates/{number}/usage-copies",
    tag = "enterprise",
    params(("number" = String, Path, description = "证书编号", example = "D231098583"), ("Idempotency-Key" = Option<String>, Header, description = "重试时带上同一个键，得到同一件证书（1 至 200 个可打印 ASCII 字符）")),
    request_body = UsageBody,
    responses(
        (status = 201, description = "已生成（重试所得的同一件带 Idempotent-Replayed: true）", body = IssuedCopy, headers(("Idempotent-Replayed" = String, description = "true 或 false"))),
        (status = 400, description = "字段、日期、密码或 Idempotency-Key 不符合要求", body = ErrorBody),
        (status = 404, description = "未找到证书，或不是本企业的证书", body = ErrorBody),
        (status = 409, description = "并发签发", body = ErrorBody),
        (status = 422, description = "证书不在有效状态，使用期限超出有效期，或用途含无法打印的字符", body = ErrorBody),
        (status = 429, description = "密码错误次数过多，已暂时锁定（password_locked）", body = ErrorBody),
    )
)]
async fn make_usage_copy(
    State(state): State<AppState>,
    AuthenticatedEnterprise(acc): AuthenticatedEnterprise,
    IdempotencyKey(key): IdempotencyKey,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<UsageBody>,
) -> AppResult<impl IntoResponse> {
    let status = own(&state, &acc, &number).await?;
    let terms = UsageTerms::new(&body.purpose, body.from, body.to)?;
    check_printable(&state.pdf, &[("用途", terms.purpose.as_str())])?;
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    old_password: String,
    /// 新密码
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// 修改数字证书密码.
#[utoipa::path(
    post,
    path = "/api/v1/enterprise/credential/password",
    tag = "enterprise",
    request_body = PasswordBody,
    responses(
        (status = 204, description = "已修改"),
        (status = 400, description = "旧密码错误（wrong_password）或新密码过短（weak_password）", body = ErrorBody),
        (status = 404, description = "本企业尚无数字证书（no_credential）", body = ErrorBody),
        (status = 429, description = "密码错误次数过多，已暂时锁定（password_locked）", body = ErrorBody),
    )
)]
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
