//! Issuer endpoints for copies: issue approval and usage copies, withdraw, fetch, QR images.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use zizhi_shared::{CertificateNumber, UsageTerms};

use super::model::CopyRecord;
use crate::app::AppState;
use crate::auth::IssuerStaff;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, IdempotencyKey};
use crate::register::api::parse_number;
use crate::store::CopyRequest;

/// Under the issuer nest (`/api/v1/issuer`).
pub fn issuer_routes() -> Router<AppState> {
    Router::new()
        .route("/certificates/{number}/approval-copy", post(issue_approval))
        .route("/certificates/{number}/usage-copies", post(issue_usage))
        .route("/certificates/{number}/copies", get(list))
        .route("/copies/{id}", get(show))
        .route("/copies/{id}/withdraw", post(withdraw))
        .route("/copies/{id}/qr.svg", get(qr_svg))
        .route("/copies/{id}/qr.png", get(qr_png))
}

/// 批准件: an approval copy of the version in force.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/certificates/{number}/approval-copy",
    tag = "issuer",
    params(("number" = String, Path, description = "证书编号", example = "D231098583"), ("Idempotency-Key" = Option<String>, Header, description = "重试时带上同一个键，得到同一件证书（1 至 200 个可打印 ASCII 字符）")),
    responses(
        (status = 201, description = "已签发（重试所得的同一件带 Idempotent-Replayed: true）", body = CopyRecord, headers(("Idempotent-Replayed" = String, description = "true 或 false"))),
        (status = 400, description = "证书编号或 Idempotency-Key 不符合要求，或该键已用于另一请求", body = ErrorBody),
        (status = 404, description = "未找到证书", body = ErrorBody),
        (status = 409, description = "并发签发", body = ErrorBody),
        (status = 422, description = "证书不在有效状态（已撤销、已过期等）", body = ErrorBody),
    )
)]
async fn issue_approval(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    IdempotencyKey(key): IdempotencyKey,
    ApiPath(number): ApiPath<String>,
) -> AppResult<impl IntoResponse> {
    let number = parse_number(&number)?;
    issue(&state, &issuer, &number, None, key.as_deref()).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UsageBody {
    /// 用途
    #[schema(max_length = 30, example = "闵行区某学校新建工程投标")]
    purpose: String,
    from: NaiveDate,
    to: NaiveDate,
}

/// 使用件: a usage copy for one purpose and period (without the enterprise's signature).
#[utoipa::path(
    post,
    path = "/api/v1/issuer/certificates/{number}/usage-copies",
    tag = "issuer",
    params(("number" = String, Path, description = "证书编号", example = "D231098583"), ("Idempotency-Key" = Option<String>, Header, description = "重试时带上同一个键，得到同一件证书（1 至 200 个可打印 ASCII 字符）")),
    request_body = UsageBody,
    responses(
        (status = 201, description = "已签发（重试所得的同一件带 Idempotent-Replayed: true）", body = CopyRecord, headers(("Idempotent-Replayed" = String, description = "true 或 false"))),
        (status = 400, description = "字段、日期或 Idempotency-Key 不符合要求", body = ErrorBody),
        (status = 404, description = "未找到证书", body = ErrorBody),
        (status = 409, description = "并发签发", body = ErrorBody),
        (status = 422, description = "证书不在有效状态，或使用期限超出证书有效期", body = ErrorBody),
    )
)]
async fn issue_usage(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    IdempotencyKey(key): IdempotencyKey,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<UsageBody>,
) -> AppResult<impl IntoResponse> {
    let number = parse_number(&number)?;
    let terms = UsageTerms::new(&body.purpose, body.from, body.to)?;
    // The purpose is entered here, so it is checked against the printer's fonts here too.
    crate::pdf::files::check_printable(&state.pdf, &[("用途", terms.purpose.as_str())])?;
    issue(&state, &issuer, &number, Some(terms), key.as_deref()).await
}

/// An issuer's copy: `201 Created`, a retried request's copy marked as replayed.
async fn issue(
    state: &AppState,
    issuer: &IssuerStaff,
    number: &CertificateNumber,
    usage: Option<UsageTerms>,
    idempotency_key: Option<&str>,
) -> AppResult<impl IntoResponse + use<>> {
    let request = CopyRequest {
        actor: &issuer.actor,
        number,
        usage,
        idempotency_key,
        approval: None,
    };
    let outcome = super::issue(state, request, None).await?;
    Ok(super::created(outcome.replayed, outcome.copy))
}

/// Every copy of a certificate, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/issuer/certificates/{number}/copies",
    tag = "issuer",
    params(("number" = String, Path, description = "证书编号", example = "D231098583")),
    responses(
        (status = 200, description = "证书件", body = Vec<CopyRecord>),
        (status = 400, description = "证书编号格式错误", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    ApiPath(number): ApiPath<String>,
) -> AppResult<Json<Vec<CopyRecord>>> {
    let number = parse_number(&number)?;
    Ok(Json(state.store.copies_of(&number).await?))
}

async fn find(state: &AppState, id: u64) -> AppResult<CopyRecord> {
    state
        .store
        .copy(id)
        .await?
        .ok_or_else(|| AppError::not_found("copy_not_found", format!("未找到编号为 {id} 的证书件")))
}

/// One copy.
#[utoipa::path(
    get,
    path = "/api/v1/issuer/copies/{id}",
    tag = "issuer",
    params(("id" = u64, Path, description = "证书件编号")),
    responses(
        (status = 200, description = "证书件", body = CopyRecord),
        (status = 400, description = "编号不是整数（invalid_path）", body = ErrorBody),
        (status = 404, description = "未找到证书件（copy_not_found）", body = ErrorBody),
    )
)]
async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<Json<CopyRecord>> {
    Ok(Json(find(&state, id).await?))
}

/// 撤回: a withdrawn copy verifies as invalid from now on.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/copies/{id}/withdraw",
    tag = "issuer",
    params(("id" = u64, Path, description = "证书件编号")),
    responses(
        (status = 200, description = "已撤回", body = CopyRecord),
        (status = 400, description = "编号不是整数（invalid_path）", body = ErrorBody),
        (status = 404, description = "未找到证书件", body = ErrorBody),
        (status = 409, description = "已撤回过（copy_already_withdrawn）", body = ErrorBody),
    )
)]
async fn withdraw(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<Json<CopyRecord>> {
    let copy = state
        .store
        .withdraw_copy(&issuer.actor, id, None, Utc::now())
        .await?;
    Ok(Json(copy))
}

/// The copy's QR code as SVG.
#[utoipa::path(
    get,
    path = "/api/v1/issuer/copies/{id}/qr.svg",
    tag = "issuer",
    params(("id" = u64, Path, description = "证书件编号")),
    responses(
        (status = 200, description = "二维码（SVG）", body = String, content_type = "image/svg+xml"),
        (status = 400, description = "编号不是整数（invalid_path）", body = ErrorBody),
        (status = 404, description = "未找到证书件", body = ErrorBody),
    )
)]
async fn qr_svg(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<impl IntoResponse> {
    let copy = find(&state, id).await?;
    let svg = zizhi_shared::render::svg(&copy.qr_text, 8)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

/// The copy's QR code as PNG.
#[utoipa::path(
    get,
    path = "/api/v1/issuer/copies/{id}/qr.png",
    tag = "issuer",
    params(("id" = u64, Path, description = "证书件编号")),
    responses(
        (status = 200, description = "二维码（PNG）", body = [u8], content_type = "image/png"),
        (status = 400, description = "编号不是整数（invalid_path）", body = ErrorBody),
        (status = 404, description = "未找到证书件", body = ErrorBody),
    )
)]
async fn qr_png(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<impl IntoResponse> {
    let copy = find(&state, id).await?;
    let png = zizhi_shared::render::png(&copy.qr_text, 8)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png))
}
