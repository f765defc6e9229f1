//! 账户与安全: the account's passkeys (add, rename, remove; never the last one) and the
//! password of the enterprise's signing key (the old one required; the key is re-encrypted).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;
use zizhi_shared::time::beijing_minute;

use super::PortalUser;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::accounts::passkeys::Binding;
use crate::accounts::{Audience, check_label};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, FormBody};
use crate::pdf::credentials::{self, MIN_PASSWORD_CHARS};

#[derive(Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

async fn account_page(
    state: &AppState,
    user: &PortalUser,
    done: Option<&str>,
) -> Result<Response, PageError> {
    let keys = state.store.passkeys_of(user.who.account.id).await?;
    let done = match done {
        Some("key_added") => Some("已登记新的通行密钥。"),
        Some("key_renamed") => Some("已重命名。"),
        Some("key_removed") => Some("已删除该通行密钥。"),
        Some("password") => Some("数字证书密码已修改，请牢记新密码。"),
        _ => None,
    };
    let last = keys.len() <= 1;
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
        div.panel {
            h2 { "通行密钥" }
            @if keys.is_empty() {
                (notice("warn", "本账户尚未登记通行密钥。"))
            } @else {
                div.table-wrap {
                    table data-testid="passkeys" {
                        thead { tr { th { "名称" } th { "登记时间" } th { "最近使用" } th { "操作" } } }
                        tbody {
                            @for k in &keys {
                                tr {
                                    td {
                                        form.inline method="post" action={"/portal/account/keys/" (k.id) "/rename"} {
                                            (csrf(&user.who))
                                            input type="text" name="name" value=(k.name) maxlength="30" required style="max-width:200px";
                                            " "
                                            button.btn.small.plain type="submit" { "重命名" }
                                        }
                                    }
                                    td { (short_time(&k.created_at)) }
                                    td { @if let Some(t) = &k.last_used_at { (short_time(t)) } @else { "—" } }
                                    td.actions {
                                        @if last {
                                            span.muted { "唯一的密钥不能删除" }
                                        } @else {
                                            form.inline method="post" action={"/portal/account/keys/" (k.id) "/remove"} {
                                                (csrf(&user.who))
                                                button.btn.small.danger type="submit" { "删除" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "添加通行密钥" }
            form.stack data-passkey="create" data-begin="/portal/account/keys/begin" data-finish="/portal/account/keys/finish" method="post" action="/portal/account/keys/begin" {
                (csrf(&user.who))
                div.field {
                    label for="key_name" { "名称" }
                    input #key_name type="text" name="key_name" required maxlength="30" placeholder="例如：备用安全密钥";
                }
                div.error-box data-passkey-error {}
                button.btn type="submit" { "登记新的通行密钥" }
            }
        }
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

fn short_time(stored: &str) -> String {
    crate::store::parse_instant(stored).map_or_else(|_| stored.to_owned(), beijing_minute)
}

pub async fn show(
    State(state): State<AppState>,
    user: PortalUser,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    account_page(&state, &user, q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct KeyForm {
    key_name: Option<String>,
    ceremony: Option<String>,
    credential: Option<String>,
}

pub async fn add_key_begin(
    State(state): State<AppState>,
    user: PortalUser,
    FormBody(form): FormBody<KeyForm>,
) -> AppResult<Response> {
    let name = check_label(
        "通行密钥名称",
        form.key_name.as_deref().unwrap_or_default(),
        30,
    )?;
    let start = state
        .passkeys
        .begin_registration(
            &state.store,
            &user.who.account,
            Binding::AddKey { name },
            Utc::now(),
        )
        .await?;
    Ok(Json(start).into_response())
}

pub async fn add_key_finish(
    State(state): State<AppState>,
    user: PortalUser,
    FormBody(form): FormBody<KeyForm>,
) -> AppResult<Response> {
    let (Some(ceremony), Some(credential)) = (&form.ceremony, &form.credential) else {
        return Err(AppError::invalid("credential_invalid", "缺少通行密钥应答"));
    };
    let credential: RegisterPublicKeyCredential = serde_json::from_str(credential)
        .map_err(|_| AppError::invalid("credential_invalid", "通行密钥应答格式错误"))?;
    let now = Utc::now();
    let registered = state
        .passkeys
        .finish_registration(&state.store, ceremony, &credential, now)
        .await?;
    let Binding::AddKey { name } = &registered.binding else {
        return Err(AppError::invalid(
            "passkey_failed",
            "通行密钥验证未通过，请重试",
        ));
    };
    if registered.account_id != Some(user.who.account.id) {
        return Err(AppError::invalid(
            "passkey_failed",
            "通行密钥验证未通过，请重试",
        ));
    }
    state
        .store
        .add_passkey(
            &user.who.account,
            &registered.credential_id,
            name,
            &registered.passkey_json,
            now,
        )
        .await?;
    Ok(Json(json!({ "redirect": "/portal/account?done=key_added" })).into_response())
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

pub async fn rename_key(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(id): ApiPath<i64>,
    FormBody(form): FormBody<RenameForm>,
) -> Result<Response, PageError> {
    let name = check_label("通行密钥名称", &form.name, 30)?;
    state
        .store
        .rename_passkey(&user.who.account, id, &name, Utc::now())
        .await?;
    Ok(see_other("/portal/account?done=key_renamed"))
}

pub async fn remove_key(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    state
        .store
        .remove_passkey(&user.who.account, id, Utc::now())
        .await?;
    Ok(see_other("/portal/account?done=key_removed"))
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
