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
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{CertificateNumber, UsageTerms};

use super::credentials::{self, Enrolment, EnterpriseAccount};
use super::enterprise_copies;
use super::files;
use crate::app::AppState;
use crate::auth::{AuthenticatedEnterprise, CopyReader, IssuerStaff};
use crate::copies;
use crate::copies::model::CopyRecord;
use crate::error::{AppResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, IdempotencyKey};
use crate::register::api::parse_number;
use crate::register::model::{CertificateStanding, CertificateStatus};

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
    files::copy_file(&state, &reader, &file).await
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
    enterprise_copies::own_certificate(state, acc, &parse_number(number)?).await
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
    let number = parse_number(&number)?;
    let actor = enterprise_copies::actor(&acc, None);
    let outcome =
        enterprise_copies::claim_approval(&state, &acc, &actor, &number, key.as_deref()).await?;
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
    let number = parse_number(&number)?;
    let terms = UsageTerms::new(&body.purpose, body.from, body.to)?;
    let actor = enterprise_copies::actor(&acc, None);
    let outcome = enterprise_copies::make_usage_copy(
        &state,
        &acc,
        &actor,
        &number,
        terms,
        &body.password,
        key.as_deref(),
        None,
    )
    .await?;
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
