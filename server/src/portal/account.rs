//! 账户与安全: the account's passkeys ([`crate::accounts::keys`], shared with the console),
//! the password of the enterprise's signing key (the old one required; the key is
//! re-encrypted) and the enterprise's API tokens ([`super::tokens`]).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::PortalUser;
use crate::accounts::Audience;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::accounts::keys;
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::FormBody;
use crate::pdf::credentials::{self, MIN_PASSWORD_CHARS};

#[derive(Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: PortalUser,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let done = keys::done_notice(q.done.as_deref()).or(match q.done.as_deref() {
        Some("password") => Some("数字证书密码已修改，请牢记新密码。"),
        Some("token_revoked") => Some("接口令牌已吊销，使用它的系统已不能再调用企业接口。"),
        _ => None,
    });
    let keys = keys::panel(&state, &user.who).await?;
    let tokens = super::tokens::panel(&state, &user).await?;
    let body = html! {
        h1 { "账户与安全" }
        p.crumb { (user.enterprise.name) }
        @if let Some(text) = done { (notice("ok", text)) }
        div.panel {
            h2 { "账户" }
            dl.kv {
                dt { "姓名" } dd { (user.who.account.display_name) }
                dt { "登录名" } dd { (user.who.account.login_name) }
                dt { "角色" } dd { (user.who.account.role.label()) }
            }
        }
        (keys)
        div.panel {
            h2 { "修改数字证书密码" }
            p.muted { "数字证书密码保护本企业的电子签名密钥，生成使用件时须输入。修改后，密钥以新密码重新加密。" }
            form.stack method="post" action="/portal/account/password" {
                (csrf(&user.who))
                div.field {
                    label for="old_password" { "原密码" }
                    input #old_password type="password" name="old_password" required maxlength="128" autocomplete="current-password";
                }
                div.field {
                    label for="new_password" { "新密码" }
                    input #new_password type="password" name="new_password" required minlength=(MIN_PASSWORD_CHARS) maxlength="128" autocomplete="new-password";
                }
                div.field {
                    label for="new_password_again" { "再次输入新密码" }
                    input #new_password_again type="password" name="new_password_again" required maxlength="128" autocomplete="new-password";
                }
                button.btn type="submit" { "修改密码" }
            }
        }
        (tokens)
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "账户与安全",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/account",
            true,
            body,
        ),
    ))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    old_password: String,
    new_password: String,
    new_password_again: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    user: PortalUser,
    FormBody(form): FormBody<PasswordForm>,
) -> Result<Response, PageError> {
    if form.new_password != form.new_password_again {
        return Err(AppError::invalid("password_mismatch", "两次输入的新密码不一致").into());
    }
    credentials::change_enterprise_password(
        &state.store,
        &user.enterprise,
        &form.old_password,
        &form.new_password,
        Utc::now(),
    )
    .await?;
    Ok(see_other("/portal/account?done=password"))
}
