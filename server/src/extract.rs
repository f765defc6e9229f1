//! Request extractors whose failures speak the API's error format. Who is calling is
//! [`crate::auth`]'s business.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::error::AppError;

/// JSON body; malformed JSON, unknown fields and oversized bodies get precise error codes.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::invalid(
                "malformed_json",
                format!("请求体不是有效的 JSON：{}", e.body_text()),
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::invalid(
                "invalid_body",
                format!("请求体字段不符合要求：{}", e.body_text()),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::invalid(
                "content_type",
                "请求须为 Content-Type: application/json",
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::TooLarge {
                limit: state.settings.body_limit_bytes,
            }),
            Err(e) => Err(AppError::invalid("invalid_body", e.body_text())),
        }
    }
}

/// The raw body, for handlers that read text or optional JSON themselves; a body over the
/// limit gets `body_too_large` in the API's format, like [`ApiJson`].
pub struct ApiBytes(pub Bytes);

impl FromRequest<AppState> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(ApiBytes(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::TooLarge {
                limit: state.settings.body_limit_bytes,
            }),
            Err(e) => Err(AppError::invalid("invalid_body", e.body_text())),
        }
    }
}

/// Query string; a malformed one gets the API's error format.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                AppError::invalid(
                    "invalid_query",
                    format!("查询参数不符合要求：{}", e.body_text()),
                )
            })
    }
}

/// Path parameters; a malformed one (e.g. a non-numeric id) gets the API's error format.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| {
                AppError::invalid(
                    "invalid_path",
                    format!("路径参数不符合要求：{}", e.body_text()),
                )
            })
    }
}

/// The `Idempotency-Key` header of an issuing request, when sent (its form is checked where
/// it is used, `store::Store::issue_copy_with`).
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => v
                .to_str()
                .map(|k| IdempotencyKey(Some(k.to_owned())))
                .map_err(|_| {
                    AppError::invalid(
                        "idempotency_key_invalid",
                        "Idempotency-Key 须为可打印 ASCII 字符",
                    )
                }),
        }
    }
}

/// `Idempotent-Replayed: true` on an answer repeated for a retried request.
pub fn replayed_header(replayed: bool) -> [(axum::http::HeaderName, &'static str); 1] {
    [(
        axum::http::HeaderName::from_static("idempotent-replayed"),
        if replayed { "true" } else { "false" },
    )]
}

/// A form body (`application/x-www-form-urlencoded`) of the portal and console; a malformed
/// or incomplete form is `invalid_form` with what was wrong.
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for FormBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(FormBody(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::TooLarge {
                limit: state.settings.body_limit_bytes,
            }),
            Err(e) => Err(AppError::invalid(
                "invalid_form",
                format!("表单内容不符合要求：{}", e.body_text()),
            )),
        }
    }
}

impl<T: DeserializeOwned> FormBody<T> {
    /// Reads the form from a request taken whole (when a handler also needs its extensions).
    pub async fn from_request_ext(req: Request, state: &AppState) -> Result<FormBody<T>, AppError> {
        <FormBody<T> as FromRequest<AppState>>::from_request(req, state).await
    }
}
