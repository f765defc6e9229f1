//! Request extractors whose failures speak the API's error format.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use secrecy::ExposeSecret;
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

/// An authenticated issuer (发证机关) request; carries who acted, for the event log.
pub struct Issuer {
    pub actor: String,
}

impl FromRequestParts<AppState> for Issuer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthorized)?;
        let expected = state.issuer_token.expose_secret().as_bytes();
        // Compare digests so the comparison time does not depend on where the tokens differ.
        use sha2::Digest;
        let a = sha2::Sha256::digest(presented.trim().as_bytes());
        let b = sha2::Sha256::digest(expected);
        if a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            != 0
        {
            return Err(AppError::Unauthorized);
        }
        let operator = parts
            .headers
            .get("x-zizhi-operator")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().chars().take(30).collect::<String>())
            .filter(|v| !v.is_empty());
        Ok(Issuer {
            actor: match operator {
                Some(op) => format!("issuer:{op}"),
                None => "issuer".into(),
            },
        })
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

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// An enterprise authenticated by its API token (`Authorization: Bearer zzent_…`), issued
/// at enrolment of its digital certificate.
pub struct Enterprise(pub crate::documents::credentials::EnterpriseAccount);

impl FromRequestParts<AppState> for Enterprise {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .filter(|t| t.starts_with(crate::documents::credentials::TOKEN_PREFIX))
            .ok_or(AppError::Unauthorized)?;
        // The lookup is by the token's SHA-256, so no timing channel reveals stored tokens.
        match state.store.enterprise_by_token(token).await? {
            Some(account) => Ok(Enterprise(account)),
            None => Err(AppError::Unauthorized),
        }
    }
}

/// Who may download a copy: the issuer (any copy) or an enterprise (its own copies).
pub enum CopyReader {
    Issuer(Issuer),
    Enterprise(crate::documents::credentials::EnterpriseAccount),
}

impl FromRequestParts<AppState> for CopyReader {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let enterprise = bearer(parts)
            .is_some_and(|t| t.starts_with(crate::documents::credentials::TOKEN_PREFIX));
        if enterprise {
            let Enterprise(account) = Enterprise::from_request_parts(parts, state).await?;
            Ok(CopyReader::Enterprise(account))
        } else {
            Ok(CopyReader::Issuer(
                Issuer::from_request_parts(parts, state).await?,
            ))
        }
    }
}
