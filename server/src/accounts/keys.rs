//! 通行密钥 on a person's own account page, the same for enterprise users (`/portal/account`)
//! and issuer staff (`/console/account`): list, add (a registration ceremony bound to the
//! name given), rename, remove (never the last key: the account could not sign in again).
//! Every change is in the event log under the person's own account.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;
use zizhi_shared::time::beijing_minute;

use super::Audience;
use super::check_label;
use super::frame::{PageError, csrf, notice, see_other};
use super::passkeys::Binding;
use super::session::SignedIn;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, FormBody};

/// The audience's account page, under which the key actions live.
pub fn account_page(audience: Audience) -> &'static str {
    match audience {
        Audience::Enterprise => "/portal/account",
        Audience::Issuer => "/console/account",
    }
}

/// The key actions under an audience's account page; mounted inside that audience's router,
/// so its session, CSRF and rate-limit layers apply.
pub fn routes(audience: Audience) -> Router<AppState> {
    let base = account_page(audience);
    Router::new()
        .route(&format!("{base}/keys/begin"), post(add_begin))
        .route(&format!("{base}/keys/finish"), post(add_finish))
        .route(&format!("{base}/keys/{{id}}/rename"), post(rename))
        .route(&format!("{base}/keys/{{id}}/remove"), post(remove))
}

/// The notice after a key action (`?done=…`), if it is one.
pub fn done_notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "key_added" => Some("已登记新的通行密钥。"),
        "key_renamed" => Some("已重命名。"),
        "key_removed" => Some("已删除该通行密钥。"),
        _ => None,
    }
}

/// Stored instants as Beijing minutes on the pages (the raw text if it cannot be read).
pub fn short_time(stored: &str) -> String {
    crate::store::parse_instant(stored).map_or_else(|_| stored.to_owned(), beijing_minute)
}

/// The 通行密钥 panel of the signed-in person's account page.
pub async fn panel(state: &AppState, who: &SignedIn) -> Result<Markup, PageError> {
    let keys = state.store.passkeys_of(who.account.id).await?;
    let base = account_page(who.account.audience());
    let last = keys.len() <= 1;
    Ok(html! {
        div.panel {
            h2 { "通行密钥" }
            p.muted { "通行密钥（手机、电脑或安全密钥）用于登录，并在生成使用件等重要操作时再次确认本人。建议登记两把，以备其一遗失。" }
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
                                        form.inline method="post" action={(base) "/keys/" (k.id) "/rename"} {
                                            (csrf(who))
                                            input type="text" name="name" value=(k.name) maxlength="30" required style="max-width:200px" aria-label="通行密钥名称";
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
                                            form.inline method="post" action={(base) "/keys/" (k.id) "/remove"} {
                                                (csrf(who))
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
            form.stack data-passkey="create" data-begin={(base) "/keys/begin"} data-finish={(base) "/keys/finish"} method="post" action={(base) "/keys/begin"} {
                (csrf(who))
                div.field {
                    label for="key_name" { "名称" }
                    input #key_name type="text" name="key_name" required maxlength="30" placeholder="例如：备用安全密钥";
                }
                div.error-box data-passkey-error {}
                button.btn type="submit" { "登记新的通行密钥" }
            }
        }
    })
}

#[derive(Deserialize)]
pub struct KeyForm {
    key_name: Option<String>,
    ceremony: Option<String>,
    credential: Option<String>,
}

async fn add_begin(
    State(state): State<AppState>,
    who: SignedIn,
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
            &who.account,
            Binding::AddKey { name },
            Utc::now(),
        )
        .await?;
    Ok(Json(start).into_response())
}

async fn add_finish(
    State(state): State<AppState>,
    who: SignedIn,
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
    // The ceremony must have been begun by this person, to add a key: one begun for an
    // invitation or by someone else's session adds nothing here.
    let name = match &registered.binding {
        Binding::AddKey { name } if registered.account_id == Some(who.account.id) => name,
        _ => {
            return Err(AppError::invalid(
                "passkey_failed",
                "通行密钥验证未通过，请重试",
            ));
        }
    };
    state
        .store
        .add_passkey(
            &who.account,
            &registered.credential_id,
            name,
            &registered.passkey_json,
            now,
        )
        .await?;
    let page = account_page(who.account.audience());
    Ok(Json(json!({ "redirect": format!("{page}?done=key_added") })).into_response())
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

async fn rename(
    State(state): State<AppState>,
    who: SignedIn,
    ApiPath(id): ApiPath<i64>,
    FormBody(form): FormBody<RenameForm>,
) -> Result<Response, PageError> {
    let name = check_label("通行密钥名称", &form.name, 30)?;
    state
        .store
        .rename_passkey(&who.account, id, &name, Utc::now())
        .await?;
    let page = account_page(who.account.audience());
    Ok(see_other(&format!("{page}?done=key_renamed")))
}

async fn remove(
    State(state): State<AppState>,
    who: SignedIn,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    state
        .store
        .remove_passkey(&who.account, id, Utc::now())
        .await?;
    let page = account_page(who.account.audience());
    Ok(see_other(&format!("{page}?done=key_removed")))
}
