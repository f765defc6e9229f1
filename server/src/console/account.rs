//! 我的账户: a staff member's own account and passkeys (add, rename, remove; never the last).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::ConsoleStaff;
use crate::accounts::Audience;
use crate::accounts::frame::{PageError, notice, page, respond};
use crate::accounts::keys;
use crate::app::AppState;

#[derive(Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let who = &staff.who;
    let keys = keys::panel(&state, who).await?;
    let body = html! {
        h1 { "我的账户" }
        @if let Some(text) = keys::done_notice(q.done.as_deref()) { (notice("ok", text)) }
        div.panel {
            h2 { "账户" }
            dl.kv {
                dt { "姓名" } dd { (who.account.display_name) }
                dt { "登录名" } dd { (who.account.login_name) }
                dt { "角色" } dd { (who.account.role.label()) }
            }
            p.muted { "账户由系统管理员以 " code { "zizhi staff invite" } " 开设；角色变更请联系系统管理员。" }
        }
        (keys)
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "我的账户",
            Some(who),
            Audience::Issuer,
            "/console/account",
            true,
            body,
        ),
    ))
}
