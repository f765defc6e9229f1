//! Certificate copies: 批准件 (approval copies) and 使用件 (usage copies), each carrying a
//! signed QR payload.

pub mod api;
pub mod model;

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Serialize;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::replayed_header;
use crate::store::{CopyRequest, IssueOutcome, RenderDocument};

/// Issues a copy (or, for a retried request, finds the one its key made) with this server's
/// signing key and host; what every issuing endpoint, issuer's or enterprise's, calls.
pub async fn issue(
    state: &AppState,
    request: CopyRequest<'_>,
    render: Option<RenderDocument<'_, AppError>>,
) -> AppResult<IssueOutcome> {
    state
        .store
        .issue_copy_with(
            request,
            &state.keys,
            &state.settings.public_host,
            Utc::now(),
            render,
        )
        .await
}

/// `201 Created` with the copy as `body` shows it, a repeat marked `Idempotent-Replayed: true`.
pub fn created<T: Serialize>(replayed: bool, body: T) -> impl IntoResponse {
    (StatusCode::CREATED, replayed_header(replayed), Json(body))
}
