//! Public verification endpoints and the trust list.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use zizhi_shared::verdict::Verdict;

use super::request::request_text;
use super::verify;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::ApiBytes;
use crate::extract::ApiPath;
use crate::key_ring::PublishedTrustList;

/// What the scanner app calls, from any origin: verification (under `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/verify", post(verify_body))
        .route("/verify/{code}", get(verify_path))
}

/// The signed trust list, at its well-known address.
pub fn trust_list_routes() -> Router<AppState> {
    Router::new().route("/.well-known/zizhi/trust-list", get(trust_list))
}

async fn verify_path(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> AppResult<Json<Verdict>> {
    Ok(Json(verify(&state, &code).await?))
}

/// The body is the scanned text itself, or `{"text": "…"}` when sent as JSON.
async fn verify_body(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<Verdict>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let text =
        request_text(content_type, &body).map_err(|e| AppError::invalid(e.code, e.message))?;
    Ok(Json(verify(&state, &text).await?))
}

async fn trust_list(State(state): State<AppState>) -> Json<PublishedTrustList> {
    Json(PublishedTrustList::from_ring(&state.keys))
}
