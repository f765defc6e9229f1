//! 变更申请: a clerk records a change with its legal basis (依据) and effective date (生效日期):
//! one qualification's 升级、降级、暂扣、恢复、吊销、撤销、撤回、注销 ([`qualification`]), an
//! enterprise's 增项 ([`add_item`]) or its 信息变更 ([`enterprise_info`]). An approver other than
//! the clerk approves it, on or after its effective date (the certificate is reissued as a new
//! version at once), or rejects it. The rule on the effective date is in
//! [`crate::register::change_requests`]. Every form works without JavaScript and carries the
//! session's CSRF token.

mod add_item;
mod enterprise_info;
mod qualification;

pub use qualification::{form, record};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{Days, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::ConsoleStaff;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::accounts::{Audience, Role, check_label};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::ApiPath;
use crate::register::change_requests::{
    ChangeDetails, EFFECTIVE_DAYS_AHEAD, EFFECTIVE_DAYS_BACK, Recording, beijing_today,
};
use crate::store::ChangeRequest;

/// The 增项 and 信息变更 forms of one enterprise; merged into the console's router (under its
/// session, CSRF and rate-limit layers) with `.merge(changes::routes())`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console/enterprises/{code}/add-item",
            get(add_item::form).post(add_item::record),
        )
        .route(
            "/console/enterprises/{code}/info-change",
            get(enterprise_info::form).post(enterprise_info::record),
        )
}

/// A stored instant as Beijing time.
pub fn beijing(stored: &str) -> String {
    crate::store::parse_instant(stored)
        .map_or_else(|_| stored.to_owned(), zizhi_shared::time::beijing_minute)
}

/// The 依据 and 生效日期 fields every request form ends with.
fn basis_and_effective_date() -> Markup {
    let today = beijing_today(Utc::now());
    html! {
        div.field {
            label for="basis" { "依据" }
            input #basis type="text" name="basis" required maxlength="100" placeholder="例如：沪建建管〔2026〕12号";
            p.hint { "文件、决定或申请材料的名称与文号。" }
        }
        div.field {
            label for="effective_on" { "生效日期" }
            input #effective_on type="date" name="effective_on" required value=(today)
                min=(today - Days::new(EFFECTIVE_DAYS_BACK)) max=(today + Days::new(EFFECTIVE_DAYS_AHEAD));
            p.hint {
                "北京时间日期，默认今日；可追溯 " (EFFECTIVE_DAYS_BACK) " 天、提前 " (EFFECTIVE_DAYS_AHEAD)
                " 天。生效日期前不能审批；审批时证书换发新版本。"
            }
        }
    }
}

/// The checked 依据 and 生效日期 every request form sends (`effective_on` is `YYYY-MM-DD`,
/// today in Beijing when absent or blank, as the form shows it). The date's span is checked by
/// the store, in the transaction that records the request.
fn checked_basis_and_date(
    basis: &str,
    effective_on: Option<&str>,
) -> Result<(String, NaiveDate), AppError> {
    let basis = check_label("依据", basis, 100)?;
    let effective_on = match effective_on.map(str::trim) {
        None | Some("") => beijing_today(Utc::now()),
        Some(d) => d.parse::<NaiveDate>().map_err(|_| {
            AppError::invalid(
                "effective_on_invalid",
                format!("生效日期应为“年-月-日”格式（如 2026-12-01）：{d}"),
            )
        })?,
    };
    Ok((basis, effective_on))
}

/// Who records, on what basis, from when.
fn recording<'a>(
    staff: &'a ConsoleStaff,
    basis: &'a str,
    effective_on: NaiveDate,
) -> Recording<'a> {
    Recording {
        clerk: &staff.who.account,
        basis,
        effective_on,
        now: Utc::now(),
    }
}

/// Where a recorded request sends the browser.
fn recorded() -> Response {
    see_other("/console/changes?done=recorded")
}

/// A console page with the staff member's frame.
fn console_page(staff: &ConsoleStaff, title: &str, current: &str, body: Markup) -> Response {
    respond(
        StatusCode::OK,
        page(
            title,
            Some(&staff.who),
            Audience::Issuer,
            current,
            false,
            body,
        ),
    )
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

/// What a request asks for, as the list shows it.
fn describe(r: &ChangeRequest) -> Markup {
    match &r.details {
        ChangeDetails::Qualification { item, grade, .. } => html! {
            (item) " " (grade) @if let Some(g) = &r.new_grade { " → " (g) }
        },
        ChangeDetails::AddItem {
            category,
            item,
            grade,
            ..
        } => html! { (category.name_zh()) "：" (item) " " (grade) },
        ChangeDetails::EnterpriseInfo { before, after } => html! {
            @for (label, old, new) in [
                ("企业名称", &before.name, &after.name),
                ("注册地址", &before.address, &after.address),
                ("法定代表人", &before.legal_representative, &after.legal_representative),
                ("注册资本（万元）", &before.registered_capital_wan, &after.registered_capital_wan),
                ("经济性质", &before.economic_nature, &after.economic_nature),
            ] {
                @if old != new { div { (label) "：" (old) " → " (new) } }
            }
        },
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Response, PageError> {
    let requests = state.store.change_requests(100).await?;
    let approver = staff.who.account.role == Role::Approver;
    let today = beijing_today(Utc::now());
    let done = match q.done.as_deref() {
        Some("recorded") => Some("变更申请已登记，待审批人审批。"),
        Some("approved") => Some("已审批，证书已换发新版本。"),
        Some("rejected") => Some("已退回该变更申请。"),
        _ => None,
    };
    let body = html! {
        h1 { "变更审批" }
        @if let Some(t) = done { (notice("ok", t)) }
        @if !approver { (notice("info", "您是经办人：可登记变更，审批须由审批人办理。")) }
        div.panel {
            div.table-wrap {
                table data-testid="changes" {
                    thead { tr {
                        th { "编号" } th { "企业 / 证书" } th { "变更事项" } th { "内容" } th { "依据" }
                        th { "生效日期" } th { "登记人" } th { "状态" } th { "操作" }
                    } }
                    tbody {
                        @for r in &requests {
                            tr data-request=(r.id) data-act=(r.act.code()) {
                                td { (r.id) }
                                td {
                                    (r.enterprise_name) br;
                                    span.muted { @if let Some(n) = r.certificate_number() { (n) } @else { (r.credit_code) } }
                                }
                                td { (r.act.name_zh()) }
                                td { (describe(r)) }
                                td { (r.basis) }
                                td data-effective-on=(r.effective_on) { (r.effective_on) }
                                td { (r.requested_by) br; span.muted { (beijing(&r.requested_at)) } }
                                td {
                                    @match r.decision.as_deref() {
                                        Some("approved") => { span.state.ok { "已批准" } br; span.muted { (r.decided_by.as_deref().unwrap_or("")) } }
                                        Some(_) => { span.state.off { "已退回" } br; span.muted { (r.decided_by.as_deref().unwrap_or("")) } }
                                        None => { span.state.warn { "待审批" } }
                                    }
                                }
                                td.actions {
                                    @if approver && r.decision.is_none() && r.requested_by_id != staff.who.account.id {
                                        @if r.effective_on <= today {
                                            form.inline method="post" action={"/console/changes/" (r.id) "/approve"} {
                                                (csrf(&staff.who))
                                                button.btn.small type="submit" { "批准" }
                                            }
                                        } @else {
                                            span.muted { (r.effective_on) " 起可批准" } br;
                                        }
                                        form.inline method="post" action={"/console/changes/" (r.id) "/reject"} {
                                            (csrf(&staff.who))
                                            button.btn.small.plain type="submit" { "退回" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(console_page(&staff, "变更审批", "/console/changes", body))
}

async fn decide(
    state: &AppState,
    staff: &ConsoleStaff,
    id: i64,
    approve: bool,
) -> Result<Response, PageError> {
    staff.must_be(Role::Approver)?;
    state
        .store
        .decide_change(
            &staff.who.account,
            id,
            approve,
            &state.settings.issuer_name,
            Utc::now(),
        )
        .await?;
    Ok(see_other(if approve {
        "/console/changes?done=approved"
    } else {
        "/console/changes?done=rejected"
    }))
}

pub async fn approve(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    decide(&state, &staff, id, true).await
}

pub async fn reject(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    decide(&state, &staff, id, false).await
}
