//! Server-side sessions: a random id in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure`
//! unless the site is plain-HTTP localhost), the session itself in the database, which every
//! instance reads. (Not in Redis: there it would be a cache that, when it fails over, signs
//! everybody out; the database is shared by all instances already.) A session ends when
//! unused for `session_idle_minutes`, `session_max_hours` after sign-in, at logout, or when
//! its account is disabled.
//!
//! Every state-changing request under the portal and console carries the session's CSRF
//! token (form field `csrf`, or header `x-csrf-token` from the passkey script), checked by
//! [`require_session`] before any handler runs.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, TimeDelta, Utc};
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::passkeys::random_token;
use super::{Account, Audience};
use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// The cookie's name. `__Host-` binds it to this exact host over HTTPS, which browsers allow
/// only for `Secure` cookies.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-zizhi"
    } else {
        "zizhi_session"
    }
}

/// Whether cookies must be `Secure`: always, except for a plain-HTTP site on localhost (the
/// demo and the tests), where a browser would drop a `Secure` cookie.
pub fn secure_cookies(state: &AppState) -> bool {
    match state.settings.public_base_url.as_deref() {
        Some(u) if u.to_ascii_lowercase().starts_with("https://") => true,
        _ => state.passkeys.rp_id() != "localhost",
    }
}

fn digest(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Who is signed in, for this request: put into the request by [`require_session`].
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    /// The form field every form of the page carries.
    pub csrf: String,
    /// `passkey`, `link` or `invitation`.
    pub signed_in_with: String,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .ok_or(AppError::Unauthorized)
    }
}

fn session_id(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() <= 64)
}

/// The live session of this request, if any (expired ones are deleted here).
pub async fn current(state: &AppState, headers: &HeaderMap) -> AppResult<Option<SignedIn>> {
    let Some(id) = session_id(headers, secure_cookies(state)) else {
        return Ok(None);
    };
    let key = digest(&id);
    let Some(s) = state.store.session(&key).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let idle = TimeDelta::minutes(state.settings.portal.session_idle_minutes as i64);
    if s.expires_at <= now || s.last_seen_at + idle <= now || s.account.disabled {
        state.store.delete_session(&key).await?;
        return Ok(None);
    }
    // Written at most once a minute: a page view need not be a database write.
    if now - s.last_seen_at > TimeDelta::minutes(1) {
        state.store.touch_session(&key, now).await?;
    }
    Ok(Some(SignedIn {
        account: s.account,
        csrf: s.csrf_token,
        signed_in_with: s.signed_in_with,
    }))
}

/// Starts a session for `account`; the answer's `Set-Cookie` header.
pub async fn start(
    state: &AppState,
    account: &Account,
    with: &str,
    client: &str,
    now: DateTime<Utc>,
) -> AppResult<HeaderValue> {
    let id = random_token()?;
    let csrf = random_token()?;
    let max = TimeDelta::hours(state.settings.portal.session_max_hours as i64);
    state
        .store
        .create_session(&digest(&id), account, &csrf, with, client, now, now + max)
        .await?;
    let secure = secure_cookies(state);
    let cookie = Cookie::build((cookie_name(secure), id))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(max_age(max))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(|e| AppError::Internal(e.into()))
}

/// Ends this request's session; the answer's `Set-Cookie` that clears the cookie.
pub async fn end(state: &AppState, headers: &HeaderMap) -> AppResult<HeaderValue> {
    let secure = secure_cookies(state);
    if let Some(id) = session_id(headers, secure) {
        state.store.delete_session(&digest(&id)).await?;
    }
    let cookie = Cookie::build((cookie_name(secure), ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(max_age(TimeDelta::zero()))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(|e| AppError::Internal(e.into()))
}

/// `cookie`'s own duration type, from chrono's.
fn max_age(d: TimeDelta) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.num_seconds())
}

/// Largest form a portal or console page posts (a usage copy's terms, a reason, an assertion).
const MAX_FORM_BYTES: usize = 32 * 1024;

/// Layer of the portal (`Audience::Enterprise`) and the console (`Audience::Issuer`): a page
/// without a session, or with another audience's, sends a browser to the sign-in page; a
/// state-changing request must carry the session's CSRF token.
pub async fn require_session(
    State((state, audience)): State<(AppState, Audience)>,
    req: Request,
    next: Next,
) -> Response {
    match admit(&state, audience, req).await {
        Ok(req) => next.run(req).await,
        Err(refusal) => refusal,
    }
}

async fn admit(state: &AppState, audience: Audience, req: Request) -> Result<Request, Response> {
    let wants_page = req.method() == Method::GET || req.method() == Method::HEAD;
    // The passkey script asks for JSON and shows the message; a form gets a page.
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let refuse = |e: AppError| {
        if wants_json {
            e.into_response()
        } else {
            super::frame::error_page(&e)
        }
    };
    let signed_in = match current(state, req.headers()).await {
        Ok(s) => s,
        Err(e) => return Err(refuse(e)),
    };
    let Some(signed_in) = signed_in.filter(|s| s.account.audience() == audience) else {
        if wants_page {
            let next = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let to = format!(
                "/login?audience={audience}&next={}",
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
            );
            return Err(Redirect::to(&to).into_response());
        }
        return Err(refuse(AppError::forbidden(
            "session_required",
            "请先登录（登录已过期，或不是本系统的账户）",
        )));
    };
    if wants_page {
        let mut req = req;
        req.extensions_mut().insert(signed_in);
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return Err(refuse(AppError::TooLarge {
                limit: MAX_FORM_BYTES,
            }));
        }
    };
    let sent = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.into_owned())
        });
    let matches = sent.is_some_and(|t| {
        bool::from(Sha256::digest(t.as_bytes()).ct_eq(&Sha256::digest(signed_in.csrf.as_bytes())))
    });
    if !matches {
        tracing::warn!(
            account = signed_in.account.id,
            "request without its CSRF token"
        );
        return Err(refuse(AppError::forbidden(
            "csrf_invalid",
            "表单已失效（缺少或不符的安全校验码），请刷新页面后重试",
        )));
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(signed_in);
    Ok(req)
}
