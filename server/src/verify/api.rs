//! Public verification endpoints and the trust list.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use zizhi_shared::verdict::Verdict;

use super::request::request_text;
use super::verify_json;
use crate::app::AppState;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::ApiBytes;
use crate::extract::ApiPath;
use crate::key_ring::PublishedTrustList;

/// What the scanner app calls, from any origin: verification (under `/api/v1`).
/// With their whole paths rather than nested under `/api/v1`: a nested route costs a rewrite
/// of the path on every request, and these are the busiest.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verify", post(verify_body))
        .route("/api/v1/verify/{code}", get(verify_path))
}

/// The signed trust list, at its well-known address.
pub fn trust_list_routes() -> Router<AppState> {
    Router::new().route("/.well-known/zizhi/trust-list", get(trust_list))
}

/// 核验: the verdict on a scanned code, by the base32 part of its URL.
#[utoipa::path(
    get,
    path = "/api/v1/verify/{code}",
    tag = "public",
    params(("code" = String, Path, description = "二维码网址的最后一段（base32），或整段扫码文本（URL 编码）")),
    responses(
        (status = 200, description = "验证结果（签名无效或未知密钥时也是 200，结论为无效）", body = Verdict),
        (status = 400, description = "扫码文本不是本系统的二维码", body = ErrorBody),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
async fn verify_path(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> AppResult<VerdictJson> {
    Ok(json(verify_json(&state, &code).await?))
}

/// The body is the scanned text itself, or `{"text": "…"}` when sent as JSON.
#[utoipa::path(
    post,
    path = "/api/v1/verify",
    tag = "public",
    request_body(
        description = "扫码所得文本原样提交，或 JSON `{\"text\": \"…\"}`",
        content((String = "text/plain"), (super::request::VerifyRequest = "application/json")),
    ),
    responses(
        (status = 200, description = "验证结果（签名无效或未知密钥时也是 200，结论为无效）", body = Verdict),
        (status = 400, description = "不是本系统的二维码，或请求体不是 UTF-8 文本 / 有效的 JSON", body = ErrorBody),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
async fn verify_body(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> AppResult<VerdictJson> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let text =
        request_text(content_type, &body).map_err(|e| AppError::invalid(e.code, e.message))?;
    Ok(json(verify_json(&state, &text).await?))
}

/// A verdict already serialised (`verify_json`), answered as `Json(verdict)` would be.
type VerdictJson = ([(header::HeaderName, &'static str); 1], Vec<u8>);

fn json(body: Vec<u8>) -> VerdictJson {
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// The signed trust list (信任列表) the app caches for offline checks.
#[utoipa::path(
    get,
    path = "/.well-known/zizhi/trust-list",
    tag = "public",
    responses(
        (status = 200, description = "签名的信任列表", body = PublishedTrustList),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
async fn trust_list(State(state): State<AppState>) -> Json<PublishedTrustList> {
    Json(PublishedTrustList::from_keys(&state.keys.current()))
}
