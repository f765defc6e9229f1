//! The server's one error type and its single mapping to HTTP: a status, a stable machine code
//! and a Chinese message. Details of 5xx errors are logged, never returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use zizhi_shared::{DomainError, PayloadError};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The request is well-formed but the register's rules forbid it (410/422 semantics).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("需要授权：请提供发证机关或企业的访问令牌（Authorization: Bearer …）")]
    Unauthorized,
    /// A sign-in (or a step-up) whose passkey did not answer as required: counted per client
    /// address and per account, like a wrong token.
    #[error("登录未通过：账户或通行密钥验证失败")]
    SignInFailed,
    /// Too many failed sign-ins of one account in a row: refused for a while.
    #[error("该账户登录失败次数过多，已暂时锁定，请 {} 分钟后再试", retry_after_secs.div_ceil(60))]
    AccountLocked { retry_after_secs: u64 },
    /// Signed in, but not allowed this (another audience's pages, a role without the right,
    /// a form without its CSRF token).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("请求体过大（上限 {limit} 字节）")]
    TooLarge { limit: usize },
    #[error("请求过于频繁，请稍后再试")]
    RateLimited { retry_after_secs: u64 },
    /// Too many wrong passwords in a row: not tried again for a while.
    #[error("数字证书密码错误次数过多，已暂时锁定，请 {} 分钟后再试", retry_after_secs.div_ceil(60))]
    PasswordLocked { retry_after_secs: u64 },
    /// The enterprise's password is being checked for another request: one at a time.
    #[error("该企业的数字证书密码正在核验另一请求，请稍后再试")]
    PasswordBusy,
    /// More requests in progress than the instance takes at once.
    #[error("服务繁忙，请稍后再试")]
    Overloaded,
    /// The request ran past the per-request time bound.
    #[error("处理超时，请稍后重试")]
    TimedOut,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        AppError::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Invalid { .. } | AppError::Domain(_) | AppError::Payload(_) => {
                StatusCode::BAD_REQUEST
            }
            AppError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::SignInFailed => StatusCode::UNAUTHORIZED,
            AppError::AccountLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited { .. }
            | AppError::PasswordLocked { .. }
            | AppError::PasswordBusy => StatusCode::TOO_MANY_REQUESTS,
            AppError::Overloaded | AppError::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Store(e) => match e {
                StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                StoreError::Conflict { .. } => StatusCode::CONFLICT,
                StoreError::Invalid { .. } => StatusCode::BAD_REQUEST,
                StoreError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                // The database is down or overloaded, not the request wrong: retry later.
                StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Invalid { code, .. }
            | AppError::Refused { code, .. }
            | AppError::Forbidden { code, .. } => code,
            AppError::Domain(e) => e.code(),
            AppError::Payload(e) => e.code(),
            AppError::Unauthorized => "unauthorized",
            AppError::SignInFailed => "sign_in_failed",
            AppError::AccountLocked { .. } => "account_locked",
            AppError::TooLarge { .. } => "body_too_large",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::PasswordLocked { .. } => "password_locked",
            AppError::PasswordBusy => "password_busy",
            AppError::Overloaded => "overloaded",
            AppError::TimedOut => "request_timeout",
            AppError::Store(e) if e.is_refusal() => e.code(),
            AppError::Store(StoreError::Unavailable(_)) => "store_unavailable",
            AppError::Store(_) | AppError::Internal(_) => "internal_error",
        }
    }
}

/// What every surface tells its user about an error, whatever it looks like there: the API
/// as JSON, the H5 pages as a page, the official account as a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownError {
    pub status: StatusCode,
    /// Stable machine code, e.g. `certificate_not_found`.
    pub code: &'static str,
    /// 中文说明; for a server fault only a generic sentence, the details go to the log.
    pub message: String,
}

impl AppError {
    /// The one mapping to status, code and message. A server fault is logged here, once.
    pub fn shown(&self) -> ShownError {
        let status = self.status();
        let message = if let AppError::Store(StoreError::Unavailable(e)) = self {
            // Expected while the database is down; each one is still worth a line.
            tracing::warn!(error = %e, "register unavailable");
            "登记簿暂时无法访问，操作未执行，请稍后重试".to_owned()
        } else if matches!(self, AppError::Overloaded | AppError::TimedOut) {
            tracing::warn!(error = %self, "request shed");
            self.to_string()
        } else if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
            "服务暂时不可用，请稍后再试".to_owned()
        } else {
            self.to_string()
        };
        ShownError {
            status,
            code: self.code(),
            message,
        }
    }
}

/// 错误: every error answer of the API, whatever its status.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// Stable machine code, e.g. `certificate_not_found`.
    #[schema(example = "certificate_not_found")]
    pub error: &'a str,
    /// 中文说明.
    #[schema(example = "未找到证书 D231000037")]
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let shown = self.shown();
        let mut res = (
            shown.status,
            Json(ErrorBody {
                error: shown.code,
                message: shown.message,
            }),
        )
            .into_response();
        if let AppError::RateLimited { retry_after_secs }
        | AppError::PasswordLocked { retry_after_secs }
        | AppError::AccountLocked { retry_after_secs } = self
        {
            res.headers_mut()
                .insert("retry-after", retry_after_secs.max(1).into());
        }
        match self {
            AppError::Store(StoreError::Unavailable(_)) => {
                res.headers_mut().insert("retry-after", 5.into());
            }
            AppError::Overloaded | AppError::TimedOut | AppError::PasswordBusy => {
                res.headers_mut().insert("retry-after", 1.into());
            }
            _ => {}
        }
        if shown.code == crate::pdf::credentials::WRONG_PASSWORD {
            // Counted per client address by `password_guesses::limit`.
            res.extensions_mut()
                .insert(crate::password_guesses::WrongPasswordAnswered);
        }
        if matches!(self, AppError::Unauthorized) {
            res.headers_mut()
                .insert("www-authenticate", "Bearer".parse().expect("static header"));
        }
        res
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: StoreError) -> (StatusCode, &'static str, String) {
        let e = AppError::from(e);
        (e.status(), e.code(), e.to_string())
    }

    #[test]
    fn the_registers_refusals_keep_their_code_and_message() {
        let cases = [
            (StoreError::not_found("copy_not_found", "未找到"), 404),
            (StoreError::conflict("enterprise_exists", "已登记"), 409),
            (StoreError::invalid("grade_direction", "升级不能"), 400),
            (StoreError::refused("certificate_expired", "已过期"), 422),
        ];
        for (e, status) in cases {
            let (code, message) = (e.code(), e.to_string());
            assert_eq!(
                answer(e),
                (StatusCode::from_u16(status).unwrap(), code, message)
            );
        }
    }

    #[test]
    fn a_database_that_cannot_answer_is_a_503_with_its_own_code() {
        let e = AppError::from(StoreError::from(sqlx::Error::PoolTimedOut));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code(), "store_unavailable");
        assert!(e.shown().message.contains("稍后重试"), "{:?}", e.shown());
        let res = e.into_response();
        assert_eq!(res.headers()["retry-after"], "5");
    }

    #[test]
    fn infrastructure_failures_are_internal_errors() {
        for e in [
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Corrupt("bad date".into()),
        ] {
            let (status, code, _) = answer(e);
            assert_eq!(
                (status, code),
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            );
        }
    }
}
