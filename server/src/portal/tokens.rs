//! 接口令牌 on 账户与安全: an enterprise administrator makes a token for one of the
//! enterprise's own systems (a bidding tool that fetches usage copies, say), sees it once,
//! and revokes it when the system no longer needs it. A token acts for the enterprise on the
//! enterprise API exactly as the enrolment token does; the portal never shows it again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::PortalUser;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::accounts::keys::short_time;
use crate::accounts::{Audience, Role, check_label};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiPath, FormBody};
use crate::pdf::credentials;
use crate::store::MAX_ACTIVE_API_TOKENS;

fn must_be_admin(user: &PortalUser) -> Result<(), PageError> {
    if user.who.account.role == Role::EnterpriseAdmin {
        Ok(())
    } else {
        Err(AppError::forbidden("role_required", "接口令牌须由企业管理员办理").into())
    }
}

/// The 接口令牌 panel of 账户与安全.
pub async fn panel(state: &AppState, user: &PortalUser) -> Result<Markup, PageError> {
    let tokens = state
        .store
        .api_tokens(user.enterprise.enterprise_id)
        .await?;
    let admin = user.who.account.role == Role::EnterpriseAdmin;
    Ok(html! {
        div.panel {
            h2 { "接口令牌" }
            p.muted {
                "供本企业的业务系统调用企业接口（领证、生成使用件、下载文件）。调用时在请求头中携带 "
                code { "Authorization: Bearer <令牌>" }
                "。令牌只在创建时显示一次；不再使用的令牌请及时吊销。创建人的账户停用后，其创建的令牌随之失效。"
            }
            @if tokens.is_empty() {
                p.muted { "尚未创建接口令牌。" }
            } @else {
                div.table-wrap {
                    table data-testid="api-tokens" {
                        thead { tr { th { "名称" } th { "创建人" } th { "创建时间" } th { "状态" } th { "操作" } } }
                        tbody {
                            @for t in &tokens {
                                tr {
                                    td { (t.name) }
                                    td { (t.created_by) }
                                    td { (short_time(&t.created_at)) }
                                    @if let Some(at) = &t.revoked_at {
                                        td { span.state.off { "已吊销" } " " span.muted { (short_time(at)) } }
                                        td { "—" }
                                    } @else {
                                        td { span.state.ok { "有效" } }
                                        td.actions {
                                            @if admin {
                                                a.btn.small.danger href={"/portal/account/tokens/" (t.id) "/revoke"} { "吊销" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if admin {
                h3 { "创建接口令牌" }
                form.stack method="post" action="/portal/account/tokens" {
                    (csrf(&user.who))
                    div.field {
                        label for="token_name" { "用途名称" }
                        input #token_name type="text" name="name" required maxlength="30" placeholder="例如：投标文件系统";
                        p.hint { "同时有效的令牌最多 " (MAX_ACTIVE_API_TOKENS) " 个。" }
                    }
                    button.btn type="submit" { "创建令牌" }
                }
            }
        }
    })
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    name: String,
}

/// Creates a token and shows it, this once. The page is `no-store` like every portal page,
/// so neither the browser's cache nor a proxy keeps it.
pub async fn create(
    State(state): State<AppState>,
    user: PortalUser,
    FormBody(form): FormBody<NewTokenForm>,
) -> Result<Response, PageError> {
    must_be_admin(&user)?;
    let name = check_label("令牌用途名称", &form.name, 30)?;
    let token = credentials::new_api_token()?;
    state
        .store
        .create_api_token(
            &user.who.account,
            &name,
            &credentials::token_digest(&token),
            Utc::now(),
        )
        .await?;
    let body = html! {
        h1 { "接口令牌已创建" }
        p.crumb { a href="/portal/account" { "账户与安全" } " / " (name) }
        div.panel {
            (notice("warn", "请立即复制并妥善保存：离开本页后，令牌不会再次显示。遗失后只能吊销并重新创建。"))
            div.field {
                label for="token" { "令牌" }
                input #token type="text" readonly value=(token) data-testid="new-token" autocomplete="off" spellcheck="false";
            }
            p { a.btn href="/portal/account" { "已保存，返回账户与安全" } }
        }
    };
    Ok(respond(
        StatusCode::CREATED,
        page(
            "接口令牌已创建",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/account",
            false,
            body,
        ),
    ))
}

pub async fn revoke_page(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    must_be_admin(&user)?;
    let tokens = state
        .store
        .api_tokens(user.enterprise.enterprise_id)
        .await?;
    let token = tokens
        .iter()
        .find(|t| t.id == id && t.revoked_at.is_none())
        .ok_or_else(|| AppError::not_found("api_token_not_found", "未找到该接口令牌"))?;
    let body = html! {
        h1 { "吊销接口令牌" }
        p.crumb { a href="/portal/account" { "账户与安全" } " / " (token.name) }
        div.panel {
            (notice("warn", "吊销后，使用该令牌的系统将立即无法调用企业接口，且不可恢复。"))
            dl.kv {
                dt { "名称" } dd { (token.name) }
                dt { "创建人" } dd { (token.created_by) }
                dt { "创建时间" } dd { (short_time(&token.created_at)) }
            }
            form.stack method="post" action={"/portal/account/tokens/" (id) "/revoke"} {
                (csrf(&user.who))
                div.actions {
                    button.btn.danger type="submit" { "确认吊销" }
                    " "
                    a.btn.plain href="/portal/account" { "取消" }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "吊销接口令牌",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/account",
            false,
            body,
        ),
    ))
}

pub async fn revoke(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    must_be_admin(&user)?;
    state
        .store
        .revoke_api_token(&user.who.account, id, Utc::now())
        .await?;
    Ok(see_other("/portal/account?done=token_revoked"))
}
