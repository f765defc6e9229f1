//! The official-account endpoint (公众号服务器, `/wechat`): the platform's message protocol,
//! configured by token, AppID and EncodingAESKey (`[chat]` in the settings,
//! `ZIZHI_CHAT__TOKEN`, `ZIZHI_CHAT__APP_ID`, `ZIZHI_CHAT__ENCODING_AES_KEY`).
//!
//! - `GET` is the platform's URL check: `echostr` comes back only when `signature` (SHA-1 of
//!   the sorted token, timestamp and nonce) matches; 403 otherwise.
//! - `POST` delivers a message or event: signature and timestamp (at most 5 minutes off) are
//!   checked, the XML parsed (in safe mode decrypted first, its `msg_signature` and AppID
//!   checked), and a passive reply sent within the reply budget — `success` rather than a
//!   late answer, since the platform gives up after 5 seconds.
//! - Retries of a slow delivery are answered once ([`dedupe`]); a (timestamp, nonce) is
//!   accepted once ([`nonces`]), so a captured call cannot be replayed.
//! - With safe mode configured (`encoding_aes_key`), a plaintext delivery is refused: its
//!   body is not covered by any signature.
//!
//! The endpoint is not behind the public per-address rate limit: every follower's message
//! arrives from the platform's few addresses, so that limit would silence all of them at
//! once. It has a per-address budget of its own (`rate_limit.chat`), signatures gate it, and
//! each follower (OpenID) has a budget of their own.
//!
//! Pointing an official account at the server (`zizhi.toml`), then entering
//! `https://zizhi.example.cn/wechat` as the server URL on the platform:
//!
//! ```toml
//! public_base_url = "https://zizhi.example.cn"   # where replies' 详情 links point
//! [chat]
//! token = "…"
//! app_id = "wx…"
//! encoding_aes_key = "…43 characters…"
//! ```

pub mod answer;
pub mod crypto;
pub mod dedupe;
pub mod log;
pub mod message;
pub mod nonces;
pub mod signature;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use self::crypto::{CryptoError, SafeMode};
use self::dedupe::{Claim, Dedupe};
use self::message::{Message, ParseError};
use self::nonces::Nonces;
use self::signature::StaleTimestamp;
use crate::app::AppState;

/// Largest body accepted. Real deliveries are 0.3–3 KB (a 2048-character text, encrypted and
/// base64-encoded, stays under 10 KB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The endpoint's configuration and shared state, built once per router.
pub struct Chat {
    token: Option<SecretString>,
    safe: Result<SafeMode, &'static str>,
    /// An EncodingAESKey is configured (usable or not): plaintext is refused.
    safe_configured: bool,
    budget: Duration,
    dedupe: Dedupe,
    nonces: Nonces,
    followers: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

impl Chat {
    pub fn new(state: &AppState) -> Chat {
        let s = &state.settings.chat;
        let safe = match (&s.encoding_aes_key, &s.app_id) {
            (Some(key), Some(app_id)) => SafeMode::new(key.expose_secret(), app_id).map_err(|e| {
                // The key itself is never logged, only what is wrong with it.
                tracing::error!(error = %e, "chat.encoding_aes_key is unusable; safe mode is off");
                "EncodingAESKey 配置无效"
            }),
            _ => Err("未配置 EncodingAESKey 和 AppID"),
        };
        let followers = NonZeroU32::new(s.per_follower_per_minute)
            .map(|n| governor::RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)));
        Chat {
            token: s.token.clone(),
            safe,
            safe_configured: s.encoding_aes_key.is_some(),
            budget: Duration::from_millis(s.reply_budget_ms),
            dedupe: Dedupe::new(state.redis.clone()),
            nonces: Nonces::new(state.redis.clone()),
            followers,
            checks: AtomicU64::new(0),
        }
    }

    fn token(&self) -> Result<&str, ChatError> {
        self.token
            .as_ref()
            .map(|t| t.expose_secret())
            .filter(|t| !t.is_empty())
            .ok_or(ChatError::NotConfigured)
    }

    /// Whether this follower may be answered now; drops idle followers now and then so the
    /// limiter's memory stays bounded.
    fn allow(&self, follower: &str) -> bool {
        let Some(l) = &self.followers else {
            return true;
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            l.retain_recent();
        }
        l.check_key(&follower.to_owned()).is_ok()
    }
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/wechat", get(check_url).post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(Extension(Arc::new(Chat::new(state))))
}

/// Why a request was refused. The body has the same shape as the API's errors.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("公众号接口未配置令牌（chat.token / ZIZHI_CHAT__TOKEN）")]
    NotConfigured,
    #[error("安全模式不可用：{0}")]
    SafeModeUnavailable(&'static str),
    #[error("缺少参数 {0}")]
    MissingParameter(&'static str),
    #[error("查询参数无法读取")]
    BadQuery,
    #[error("签名无效")]
    BadSignature,
    #[error("消息签名（msg_signature）无效")]
    BadMsgSignature,
    #[error("时间戳无效：{0}")]
    Stale(&'static str),
    #[error(
        "已配置安全模式（EncodingAESKey），拒绝明文消息：明文消息体不受签名保护。\
         请在公众号后台“服务器配置”中将消息加解密方式设为安全模式"
    )]
    PlaintextRefused,
    #[error("该请求（timestamp 与 nonce）已处理过，疑似重放，已拒绝")]
    Replayed,
    #[error("不支持的加密类型 {0}")]
    UnknownEncryptType(String),
    #[error("消息体过大（上限 {MAX_BODY_BYTES} 字节）")]
    TooLarge,
    #[error("消息体无法读取")]
    BodyUnreadable,
    #[error("消息体不是 UTF-8 文本")]
    NotUtf8,
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl ChatError {
    fn status(&self) -> StatusCode {
        match self {
            ChatError::NotConfigured | ChatError::SafeModeUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ChatError::BadSignature
            | ChatError::BadMsgSignature
            | ChatError::Stale(_)
            | ChatError::PlaintextRefused
            | ChatError::Replayed
            | ChatError::Crypto(CryptoError::WrongAppId) => StatusCode::FORBIDDEN,
            ChatError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ChatError::NotConfigured => "chat_not_configured",
            ChatError::SafeModeUnavailable(_) => "safe_mode_unavailable",
            ChatError::MissingParameter(_) => "missing_parameter",
            ChatError::BadQuery => "invalid_query",
            ChatError::BadSignature => "bad_signature",
            ChatError::BadMsgSignature => "bad_msg_signature",
            ChatError::Stale(_) => "stale_timestamp",
            ChatError::PlaintextRefused => "plaintext_refused",
            ChatError::Replayed => "replayed_request",
            ChatError::UnknownEncryptType(_) => "unknown_encrypt_type",
            ChatError::TooLarge => "body_too_large",
            ChatError::BodyUnreadable => "body_unreadable",
            ChatError::NotUtf8 => "body_not_utf8",
            ChatError::Parse(e) => e.code(),
            ChatError::Crypto(e) => e.code(),
        }
    }
}

impl From<StaleTimestamp> for ChatError {
    fn from(s: StaleTimestamp) -> ChatError {
        ChatError::Stale(match s {
            StaleTimestamp::NotANumber => "应为整数秒",
            StaleTimestamp::TooOld => "早于 5 分钟前（疑似重放）",
            StaleTimestamp::InTheFuture => "晚于当前时间 5 分钟以上（请检查服务器时钟）",
        })
    }
}

impl IntoResponse for ChatError {
    fn into_response(self) -> Response {
        // Only the kind of fault is logged: never the token, the body or the follower.
        tracing::warn!(code = self.code(), "chat request refused");
        (
            self.status(),
            Json(serde_json::json!({ "error": self.code(), "message": self.to_string() })),
        )
            .into_response()
    }
}

/// The query the platform adds to every call.
#[derive(Deserialize)]
struct Params {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
    encrypt_type: Option<String>,
    msg_signature: Option<String>,
}

fn need<'a>(v: &'a Option<String>, name: &'static str) -> Result<&'a str, ChatError> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(ChatError::MissingParameter(name))
}

/// Checks freshness and the plain signature; returns (timestamp, nonce).
fn authenticate<'a>(token: &str, p: &'a Params) -> Result<(&'a str, &'a str), ChatError> {
    let signature = need(&p.signature, "signature")?;
    let timestamp = need(&p.timestamp, "timestamp")?;
    let nonce = need(&p.nonce, "nonce")?;
    signature::check_fresh(timestamp, Utc::now())?;
    if !signature::matches(&signature::sign(&[token, timestamp, nonce]), signature) {
        return Err(ChatError::BadSignature);
    }
    Ok((timestamp, nonce))
}

async fn check_url(
    Extension(chat): Extension<Arc<Chat>>,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ChatError> {
    let token = chat.token()?;
    let Query(p) = params.map_err(|_| ChatError::BadQuery)?;
    authenticate(token, &p)?;
    let echo = need(&p.echostr, "echostr")?.to_owned();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], echo).into_response())
}

fn success() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "success",
    )
        .into_response()
}

async fn receive(
    State(state): State<AppState>,
    Extension(chat): Extension<Arc<Chat>>,
    params: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ChatError> {
    // The budget runs from the moment the request is ours, across every step below.
    let deadline = tokio::time::Instant::now() + chat.budget;
    let received_at = Utc::now();
    let token = chat.token()?;
    let Query(p) = params.map_err(|_| ChatError::BadQuery)?;
    let (timestamp, nonce) = authenticate(token, &p)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ChatError::TooLarge
        } else {
            ChatError::BodyUnreadable
        }
    })?;
    let text = std::str::from_utf8(&body).map_err(|_| ChatError::NotUtf8)?;

    let safe = match p.encrypt_type.as_deref() {
        None | Some("") | Some("raw") if chat.safe_configured => {
            return Err(ChatError::PlaintextRefused);
        }
        None | Some("") | Some("raw") => None,
        Some("aes") => Some(
            chat.safe
                .as_ref()
                .map_err(|why| ChatError::SafeModeUnavailable(why))?,
        ),
        Some(other) => {
            return Err(ChatError::UnknownEncryptType(
                other.chars().take(20).collect(),
            ));
        }
    };
    let xml = match safe {
        None => text.to_owned(),
        Some(safe) => {
            let encrypt = message::parse_envelope(text)?;
            let msg_signature = need(&p.msg_signature, "msg_signature")?;
            let expected = signature::sign(&[token, timestamp, nonce, &encrypt]);
            if !signature::matches(&expected, msg_signature) {
                return Err(ChatError::BadMsgSignature);
            }
            safe.decrypt(&encrypt)?
        }
    };
    let msg = message::parse(&xml)?;
    if !chat.nonces.first_use(timestamp, nonce).await {
        // The same signed call again. Only a repeat of a message still being answered is
        // let through (to wait for that answer, as a retry racing its first delivery);
        // anything else — the same message answered already, or another body under a
        // captured URL — is a replay.
        let key = msg.dedupe_key(&log::follower_digest(&msg.header.from_user));
        if !chat.dedupe.is_pending(&key).await {
            return Err(ChatError::Replayed);
        }
    }

    let reply = tokio::time::timeout_at(deadline, respond(&state, &chat, &msg, received_at)).await;
    let Ok(Some(reply_xml)) = reply else {
        if reply.is_err() {
            tracing::warn!(
                budget_ms = chat.budget.as_millis() as u64,
                "chat reply over budget; answered success"
            );
        }
        return Ok(success());
    };
    let body = match safe {
        None => reply_xml,
        Some(safe) => {
            let encrypt = safe.encrypt(&reply_xml);
            let sig = signature::sign(&[token, timestamp, nonce, &encrypt]);
            message::envelope_xml(&encrypt, &sig, timestamp, nonce)
        }
    };
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    Ok(res)
}

/// The reply XML for a message, answered once however often it is delivered; `None` means
/// `success`.
async fn respond(
    state: &AppState,
    chat: &Chat,
    msg: &Message,
    received_at: chrono::DateTime<Utc>,
) -> Option<String> {
    let started = std::time::Instant::now();
    let follower = log::follower_digest(&msg.header.from_user);
    let key = msg.dedupe_key(&follower);
    match chat.dedupe.claim(&key).await {
        Claim::First => {}
        Claim::Done(xml) => return xml,
        Claim::Pending => loop {
            // The first delivery is still answering; the caller's deadline bounds the wait.
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Claim::Done(xml) = chat.dedupe.peek(&key).await {
                return xml;
            }
        },
    }
    let base = crate::links::base_url(&state.settings);
    let ans = if chat.allow(&follower) {
        answer::answer(state, &base, msg).await
    } else {
        answer::slow_down()
    };
    let xml = ans.reply.to_xml(
        &msg.header.from_user,
        &msg.header.to_user,
        Utc::now().timestamp(),
    );
    chat.dedupe.finish(&key, xml.as_deref()).await;
    let entry = log::Entry {
        received_at,
        dedupe_key: &key,
        follower: &follower,
        kind: ans.kind,
        subject: ans.subject.as_deref(),
        outcome: ans.outcome,
        elapsed_ms: started.elapsed().as_millis() as i64,
    };
    if let Err(e) = log::record(&state.store, &entry).await {
        tracing::warn!(error = %e, "chat request not recorded");
    }
    tracing::info!(
        kind = ans.kind,
        outcome = ans.outcome,
        elapsed_ms = entry.elapsed_ms,
        "chat answered"
    );
    xml
}
