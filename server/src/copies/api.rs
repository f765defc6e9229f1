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
use crate::error::{AppError, AppResult};
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

async fn issue_approval(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    IdempotencyKey(key): IdempotencyKey,
    ApiPath(number): ApiPath<String>,
) -> AppResult<impl IntoResponse> {
    let number = parse_number(&number)?;
    issue(&state, &issuer, &number, None, key.as_deref()).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageBody {
    purpose: String,
    from: NaiveDate,
    to: NaiveDate,
}

async fn issue_usage(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    IdempotencyKey(key): IdempotencyKey,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<UsageBody>,
) -> AppResult<impl IntoResponse> {
    let number = parse_number(&number)?;
    let terms = UsageTerms::new(&body.purpose, body.from, body.to)?;
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
    };
    let outcome = super::issue(state, request, None).await?;
    Ok(super::created(outcome.replayed, outcome.copy))
}

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

async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<Json<CopyRecord>> {
    Ok(Json(find(&state, id).await?))
}

async fn withdraw(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<Json<CopyRecord>> {
    let copy = state
        .store
        .withdraw_copy(&issuer.actor, id, Utc::now())
        .await?;
    Ok(Json(copy))
}

async fn qr_svg(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<impl IntoResponse> {
    let copy = find(&state, id).await?;
    let svg = zizhi_shared::render::svg(&copy.qr_text, 8)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

async fn qr_png(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> AppResult<impl IntoResponse> {
    let copy = find(&state, id).await?;
    let png = zizhi_shared::render::png(&copy.qr_text, 8)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png))
}
