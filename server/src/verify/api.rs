//! Public verification endpoints and the trust list.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use zizhi_shared::verdict::Verdict;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    text: String,
}

/// The body is the scanned text itself, or `{"text": "…"}` when sent as JSON.
async fn verify_body(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<Verdict>> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text = if is_json {
        serde_json::from_slice::<VerifyRequest>(&body)
            .map_err(|e| {
                AppError::invalid("malformed_json", format!("请求体不是有效的 JSON：{e}"))
            })?
            .text
    } else {
        String::from_utf8(body.to_vec())
            .map_err(|_| AppError::invalid("malformed_text", "请求体不是 UTF-8 文本"))?
    };
    Ok(Json(verify(&state, &text).await?))
}

async fn trust_list(State(state): State<AppState>) -> Json<PublishedTrustList> {
    Json(PublishedTrustList::from_keys(&state.keys.current()))
}
