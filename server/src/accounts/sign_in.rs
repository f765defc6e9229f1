//! Getting in and out: the login page and its passkey ceremony, one-time links (the issuer's
//! invitation, which registers the first key; the demo's login links) and logout.
//!
//! A failed sign-in is answered 401 `sign_in_failed` whatever failed (no such account, no
//! key, a refused assertion), counted per client address (the failed-authentication limit)
//! and per account (locked for a while after five in a row), and written to the event log.

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{TimeDelta, Utc};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::frame::{self, PageError, notice, page, respond, see_other};
use super::links::{LinkKind, token_digest};
use super::passkeys::Binding;
use super::session::{self, SignedIn};
use super::{Account, Audience, Role};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, FormBody};
use crate::pdf::credentials::{self, MIN_PASSWORD_CHARS};
use crate::ratelimit;
use crate::store::StoreError;

/// Failed sign-ins of one account in a row before it is locked.
const FREE_FAILURES: i64 = 5;
/// The first lock; each further failure doubles it (at most 64 times this).
const LOCK: TimeDelta = TimeDelta::minutes(5);

/// Sign-in, links and logout, rate-limited per client address like the enterprise API, and
/// refused outright for an address with many failed sign-ins.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page))
        .route("/login/begin", post(login_begin))
        .route("/login/finish", post(login_finish))
        .route("/login/link/{token}", get(link_page).post(link_sign_in))
        .route("/invite/{token}", get(invitation_page))
        .route("/invite/{token}/begin", post(invitation_begin))
        .route("/invite/{token}/finish", post(invitation_finish))
        .route("/logout", post(logout))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_failed_authentication,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_enterprise,
        ))
}

/// The client address the request layer resolved.
fn client_of(ext: &axum::http::Extensions) -> String {
    ext.get::<crate::client_address::ClientAddr>()
        .map_or_else(|| "-".into(), |c| c.0.to_string())
}

/// Where to go after signing in: only a path on this site of the account's own audience.
fn safe_next(next: Option<&str>, audience: Audience) -> String {
    match next {
        Some(n)
            if n.starts_with(audience.home())
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.chars().all(|c| !c.is_control()) =>
        {
            n.to_owned()
        }
        _ => audience.home().to_owned(),
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    audience: Option<String>,
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let audience = q
        .audience
        .as_deref()
        .and_then(|a| a.parse::<Audience>().ok())
        .unwrap_or(Audience::Enterprise);
    if let Some(s) = session::current(&state, &headers).await?
        && s.account.audience() == audience
    {
        return Ok(see_other(&safe_next(q.next.as_deref(), audience)));
    }
    let next = safe_next(q.next.as_deref(), audience);
    let other = match audience {
        Audience::Enterprise => ("/login?audience=issuer", "发证机关工作人员登录"),
        Audience::Issuer => ("/login?audience=enterprise", "企业用户登录"),
    };
    let body = html! {
        div.panel.login {
            h1 { "登录" }
            p.crumb { (audience.label()) }
            form.stack data-passkey="get" data-begin="/login/begin" data-finish="/login/finish" method="post" action="/login/begin" {
                input type="hidden" name="audience" value=(audience.as_ref());
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="login_name" { "登录名" }
                    input #login_name type="text" name="login_name" required autocomplete="username webauthn" maxlength="40";
                    p.hint { @if audience == Audience::Enterprise { "企业账户的登录名为统一社会信用代码。" } @else { "发证机关分配的工作人员登录名。" } }
                }
                div.error-box data-passkey-error {}
                button.btn type="submit" { "使用通行密钥登录" }
            }
            p.muted { "通行密钥保存在您的手机、电脑或安全密钥中，登录时需验证指纹、面容或 PIN。首次使用请打开发证机关发给您的邀请链接登记。" }
            @if state.settings.portal.demo {
                (notice("warn", "演示模式：没有通行密钥的演示账户，请使用服务启动时打印的一次性登录链接。"))
            }
            p.muted { a href=(other.0) { (other.1) } }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("登录", None, audience, "", true, body),
    ))
}

#[derive(Deserialize)]
struct LoginBegin {
    login_name: String,
    audience: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    next: Option<String>,
}

/// Records a failed sign-in (per account and in the event log) and answers `sign_in_failed`.
pub(crate) async fn failed(
    state: &AppState,
    account: Option<&Account>,
    subject: &str,
    reason: &str,
    client: &str,
) -> AppError {
    if let Err(e) = state
        .store
        .record_login_failure(
            account.map(|a| a.id),
            subject,
            reason,
            client,
            FREE_FAILURES,
            LOCK,
            Utc::now(),
        )
        .await
    {
        return e.into();
    }
    tracing::warn!(subject, reason, "sign-in failed");
    AppError::SignInFailed
}

async fn refuse_while_locked(state: &AppState, account: &Account) -> AppResult<()> {
    let now = Utc::now();
    if let Some(lock) = state.store.login_lock(account.id, now).await? {
        return Err(AppError::AccountLocked {
            retry_after_secs: (lock.until - now).num_seconds().max(1) as u64,
        });
    }
    Ok(())
}

async fn login_begin(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let client = client_of(req.extensions());
    let FormBody(form) = FormBody::<LoginBegin>::from_request_ext(req, &state).await?;
    let login = form.login_name.trim();
    let audience = form
        .audience
        .as_deref()
        .and_then(|a| a.parse::<Audience>().ok())
        .unwrap_or(Audience::Enterprise);
    let account = state
        .store
        .account_by_login(login)
        .await?
        .filter(|a| !a.disabled && a.audience() == audience);
    let Some(account) = account else {
        return Err(failed(
            &state,
            None,
            &format!("login:{}", login.chars().take(40).collect::<String>()),
            "unknown_account",
            &client,
        )
        .await);
    };
    refuse_while_locked(&state, &account).await?;
    match state
        .passkeys
        .begin_authentication(&state.store, &account, Binding::SignIn, Utc::now())
        .await
    {
        Ok(start) => Ok(Json(start).into_response()),
        Err(AppError::Refused {
            code: "no_passkey", ..
        }) => Err(failed(
            &state,
            Some(&account),
            &format!("account:{}", account.id),
            "no_passkey",
            &client,
        )
        .await),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct CeremonyForm {
    ceremony: String,
    credential: String,
    next: Option<String>,
}

async fn login_finish(State(state): State<AppState>, req: Request) -> AppResult<Response> {
    let client = client_of(req.extensions());
    let FormBody(form) = FormBody::<CeremonyForm>::from_request_ext(req, &state).await?;
    let credential: PublicKeyCredential = serde_json::from_str(&form.credential)
        .map_err(|_| AppError::invalid("credential_invalid", "通行密钥应答格式错误"))?;
    let asserted = match state
        .passkeys
        .finish_authentication(&state.store, &form.ceremony, &credential, Utc::now())
        .await
    {
        Ok(a) if a.binding == Binding::SignIn => a,
        Ok(a) => {
            return Err(failed(
                &state,
                Some(&a.account),
                &format!("account:{}", a.account.id),
                "wrong_ceremony",
                &client,
            )
            .await);
        }
        Err(AppError::Invalid {
            code: "passkey_failed",
            ..
        }) => {
            return Err(failed(&state, None, "login", "assertion_refused", &client).await);
        }
        Err(e) => return Err(e),
    };
    refuse_while_locked(&state, &asserted.account).await?;
    let cookie = session::start(&state, &asserted.account, "passkey", &client, Utc::now()).await?;
    let to = safe_next(form.next.as_deref(), asserted.account.audience());
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "redirect": to })),
    )
        .into_response())
}

/// A one-time login link (demo mode) asks before it is used: a mail or chat client that
/// fetches links to preview them must not spend it.
async fn link_page(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, PageError> {
    let account = state
        .store
        .link_account(
            &token_digest(&token),
            LinkKind::DemoLogin.as_ref(),
            Utc::now(),
        )
        .await?
        .ok_or_else(crate::store::link_invalid)?;
    let body = html! {
        div.panel.login {
            h1 { "一次性登录链接" }
            p { "以 " b { (account.display_name) } "（" (account.role.label()) "）身份登录" (account.audience().label()) "。" }
            (notice("warn", "演示模式：此链接只能使用一次，24 小时内有效。正式系统中请使用通行密钥登录。"))
            form method="post" {
                button.btn type="submit" { "确认登录" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("一次性登录", None, account.audience(), "", false, body),
    ))
}

async fn link_sign_in(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    req: Request,
) -> Result<Response, PageError> {
    let client = client_of(req.extensions());
    if !state.settings.portal.demo {
        return Err(AppError::not_found("link_invalid", "该链接已使用、已过期或不存在").into());
    }
    let now = Utc::now();
    let account = match state.store.use_demo_link(&token_digest(&token), now).await {
        Ok(a) => a,
        Err(e) => {
            let _ = failed(&state, None, "link", "link_invalid", &client).await;
            return Err(e.into());
        }
    };
    let cookie = session::start(&state, &account, "link", &client, now).await?;
    let mut res = see_other(account.audience().home());
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(res)
}

async fn invitation_page(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, PageError> {
    let account = state
        .store
        .link_account(
            &token_digest(&token),
            LinkKind::Invitation.as_ref(),
            Utc::now(),
        )
        .await?
        .ok_or_else(crate::store::link_invalid)?;
    let enterprise = account.role == Role::EnterpriseAdmin;
    let action = format!("/invite/{token}");
    let body = html! {
        div.panel.login style="max-width:560px" {
            h1 { "开通账户" }
            p.crumb { (account.audience().label()) }
            dl.kv {
                dt { "账户" } dd { (account.display_name) }
                dt { "登录名" } dd data-testid="login-name" { (account.login_name) }
                dt { "角色" } dd { (account.role.label()) }
            }
            p.muted { "请登记一把通行密钥（手机、电脑或安全密钥，使用时验证指纹、面容或 PIN），以后用它登录。" }
            form.stack data-passkey="create" data-begin=(format!("{action}/begin")) data-finish=(format!("{action}/finish")) method="post" action=(format!("{action}/begin")) {
                div.field {
                    label for="key_name" { "通行密钥名称" }
                    input #key_name type="text" name="key_name" required maxlength="30" value="我的通行密钥";
                    p.hint { "便于日后区分多把密钥，例如“办公室电脑”。" }
                }
                @if enterprise {
                    div.field {
                        label for="password" { "数字证书密码" }
                        input #password type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) maxlength="128" autocomplete="new-password";
                        p.hint { "保护企业电子签名密钥的密码，至少 " (MIN_PASSWORD_CHARS) " 个字符。每次生成使用件都须再次输入；服务器不保存此密码，遗失须向发证机关重新办理。" }
                    }
                    div.field {
                        label for="password_again" { "再次输入密码" }
                        input #password_again type="password" name="password_again" required maxlength="128" autocomplete="new-password";
                    }
                }
                div.error-box data-passkey-error {}
                button.btn type="submit" { "登记通行密钥并开通" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("开通账户", None, account.audience(), "", true, body),
    ))
}

#[derive(Deserialize)]
struct InvitationForm {
    key_name: String,
    password: Option<String>,
    password_again: Option<String>,
    ceremony: Option<String>,
    credential: Option<String>,
}

fn check_invitation_password(account: &Account, form: &InvitationForm) -> AppResult<()> {
    if account.role != Role::EnterpriseAdmin {
        return Ok(());
    }
    let (Some(p), Some(again)) = (&form.password, &form.password_again) else {
        return Err(AppError::invalid("weak_password", "请设置数字证书密码"));
    };
    credentials::check_password(p)?;
    if p != again {
        return Err(AppError::invalid(
            "password_mismatch",
            "两次输入的密码不一致",
        ));
    }
    Ok(())
}

async fn invitation_begin(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    FormBody(form): FormBody<InvitationForm>,
) -> AppResult<Response> {
    let digest = token_digest(&token);
    let account = state
        .store
        .link_account(&digest, LinkKind::Invitation.as_ref(), Utc::now())
        .await?
        .ok_or_else(crate::store::link_invalid)?;
    let name = super::check_label("通行密钥名称", &form.key_name, 30)?;
    check_invitation_password(&account, &form)?;
    let start = state
        .passkeys
        .begin_registration(
            &state.store,
            &account,
            Binding::Invitation {
                link_sha256: digest,
                name,
            },
            Utc::now(),
        )
        .await?;
    Ok(Json(start).into_response())
}

async fn invitation_finish(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    req: Request,
) -> AppResult<Response> {
    let client = client_of(req.extensions());
    let FormBody(form) = FormBody::<InvitationForm>::from_request_ext(req, &state).await?;
    let digest = token_digest(&token);
    let now = Utc::now();
    let account = state
        .store
        .link_account(&digest, LinkKind::Invitation.as_ref(), now)
        .await?
        .ok_or_else(crate::store::link_invalid)?;
    check_invitation_password(&account, &form)?;
    let (Some(ceremony), Some(credential)) = (&form.ceremony, &form.credential) else {
        return Err(AppError::invalid("credential_invalid", "缺少通行密钥应答"));
    };
    let credential: RegisterPublicKeyCredential = serde_json::from_str(credential)
        .map_err(|_| AppError::invalid("credential_invalid", "通行密钥应答格式错误"))?;
    let registered = state
        .passkeys
        .finish_registration(&state.store, ceremony, &credential, now)
        .await?;
    let Binding::Invitation { link_sha256, name } = &registered.binding else {
        return Err(AppError::invalid(
            "passkey_failed",
            "通行密钥验证未通过，请重试",
        ));
    };
    if *link_sha256 != digest || registered.account_id != Some(account.id) {
        return Err(AppError::invalid(
            "passkey_failed",
            "通行密钥验证未通过，请重试",
        ));
    }
    let signing = match (account.role, account.enterprise_id, &form.password) {
        (Role::EnterpriseAdmin, Some(_), Some(password)) => {
            let code = account
                .login_name
                .parse::<zizhi_shared::CreditCode>()
                .map_err(|_| {
                    StoreError::Corrupt("enterprise account without its credit code".into())
                })?;
            let prepared = credentials::prepare_enrolment(
                &state.store,
                &code,
                password,
                zizhi_documents::pki::SCRYPT_LOG_N,
                &state.pdf.enterprise_ca,
                now,
            )
            .await?;
            Some((prepared.credential, code, prepared.signer.common_name()))
        }
        (Role::EnterpriseAdmin, _, _) => {
            return Err(AppError::invalid("weak_password", "请设置数字证书密码"));
        }
        _ => None,
    };
    let account = state
        .store
        .redeem_invitation(
            &digest,
            &registered.credential_id,
            name,
            &registered.passkey_json,
            signing
                .as_ref()
                .map(|(c, code, subject)| (c, code, subject.as_str())),
            now,
        )
        .await?;
    let cookie = session::start(&state, &account, "invitation", &client, now).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "redirect": account.audience().home() })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormBody(form): FormBody<LogoutForm>,
) -> Result<Response, PageError> {
    let current: Option<SignedIn> = session::current(&state, &headers).await?;
    let audience = current
        .as_ref()
        .map_or(Audience::Enterprise, |s| s.account.audience());
    if let Some(s) = &current {
        // Logging someone out is harmless, but only their own pages may ask for it.
        if form.csrf.as_deref() != Some(s.csrf.as_str()) {
            return Err(AppError::forbidden("csrf_invalid", "表单已失效，请刷新页面后重试").into());
        }
    }
    let cookie = session::end(&state, &headers).await?;
    let mut res = see_other(&format!("/login?audience={audience}"));
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(res)
}

pub use frame::error_page;
