//! 变更申请: a clerk records a change (升级, 降级, 暂扣, 恢复, 撤销/吊销, 注销) of one
//! qualification with its legal basis; an approver other than the clerk approves it (the
//! certificate is reissued as a new version at once, effective that day) or rejects it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::ConsoleStaff;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::accounts::{Audience, Role, check_label};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiPath, FormBody};
use crate::register::ops::QualificationAction;

const ACTIONS: &[(QualificationAction, &str)] = &[
    (QualificationAction::Upgrade, "升级"),
    (QualificationAction::Downgrade, "降级"),
    (QualificationAction::Suspend, "暂扣"),
    (QualificationAction::Reinstate, "恢复"),
    (QualificationAction::Revoke, "撤销（吊销）"),
    (QualificationAction::Cancel, "注销"),
];

fn action_label(a: QualificationAction) -> &'static str {
    ACTIONS.iter().find(|(x, _)| *x == a).map_or("", |(_, l)| l)
}

/// A stored instant as Beijing time.
pub fn beijing(stored: &str) -> String {
    crate::store::parse_instant(stored)
        .map_or_else(|_| stored.to_owned(), zizhi_shared::time::beijing_minute)
}

fn action_code(a: QualificationAction) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub async fn form(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    let number = state
        .store
        .qualification_certificate(id)
        .await?
        .ok_or_else(|| {
            AppError::not_found("qualification_not_found", format!("未找到资质 {id}"))
        })?;
    let status = state
        .store
        .certificate_status(&number)
        .await?
        .ok_or_else(|| {
            AppError::not_found("certificate_not_found", format!("未找到证书 {number}"))
        })?;
    let q = status.qualification(id).ok_or_else(|| {
        AppError::not_found("qualification_not_found", format!("未找到资质 {id}"))
    })?;
    let body = html! {
        h1 { "登记资质变更" }
        p.crumb { a href="/console/" { "企业与证书" } " › " (number) " › " (q.item) }
        div.panel {
            dl.kv {
                dt { "证书" } dd { (number) }
                dt { "资质" } dd { (q.item) " " (q.grade) }
                dt { "状态" } dd { (q.status.name_zh()) }
            }
            (notice("info", "经办人登记变更及其依据，经另一名审批人审批后生效（生效日期为审批当日），证书随即换发新版本；旧版本的证书件扫码将显示“已被新版本取代”。"))
            form.stack method="post" {
                (csrf(&staff.who))
                div.field {
                    label for="action" { "变更事项" }
                    select #action name="action" {
                        @for (a, label) in ACTIONS { option value=(action_code(*a)) { (label) } }
                    }
                }
                div.field {
                    label for="grade" { "新等级（升级、降级时填写）" }
                    input #grade type="text" name="grade" maxlength="10";
                }
                div.field {
                    label for="basis" { "依据" }
                    input #basis type="text" name="basis" required maxlength="100" placeholder="例如：沪建建管〔2026〕12号";
                    p.hint { "文件、决定或申请材料的名称与文号。" }
                }
                button.btn type="submit" { "登记变更申请" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "登记资质变更",
            Some(&staff.who),
            Audience::Issuer,
            "/console/",
            false,
            body,
        ),
    ))
}

#[derive(Deserialize)]
pub struct ChangeForm {
    action: String,
    grade: Option<String>,
    basis: String,
}

pub async fn record(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
    FormBody(f): FormBody<ChangeForm>,
) -> Result<Response, PageError> {
    let action: QualificationAction =
        serde_json::from_value(serde_json::Value::String(f.action.clone())).map_err(|_| {
            AppError::invalid(
                "unknown_action",
                format!("未知的资质变更事项：{}", f.action),
            )
        })?;
    let basis = check_label("依据", &f.basis, 100)?;
    let grade = f.grade.as_deref().map(str::trim).filter(|g| !g.is_empty());
    if matches!(
        action,
        QualificationAction::Upgrade | QualificationAction::Downgrade
    ) && grade.is_none()
    {
        return Err(AppError::invalid("grade_required", "升级或降级须填写新等级").into());
    }
    state
        .store
        .request_change(&staff.who.account, id, action, grade, &basis, Utc::now())
        .await?;
    Ok(see_other("/console/changes?done=recorded"))
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Response, PageError> {
    let requests = state.store.change_requests(100).await?;
    let approver = staff.who.account.role == Role::Approver;
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
                    thead { tr { th { "编号" } th { "企业 / 证书" } th { "资质" } th { "变更" } th { "依据" } th { "登记人" } th { "状态" } th { "操作" } } }
                    tbody {
                        @for r in &requests {
                            tr data-request=(r.id) {
                                td { (r.id) }
                                td { (r.enterprise_name) br; span.muted { (r.certificate_number) } }
                                td { (r.item) " " (r.grade) }
                                td { (action_label(r.action)) @if let Some(g) = &r.new_grade { " → " (g) } }
                                td { (r.basis) }
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
                                        form.inline method="post" action={"/console/changes/" (r.id) "/approve"} {
                                            (csrf(&staff.who))
                                            button.btn.small type="submit" { "批准" }
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
    Ok(respond(
        StatusCode::OK,
        page(
            "变更审批",
            Some(&staff.who),
            Audience::Issuer,
            "/console/changes",
            false,
            body,
        ),
    ))
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
        .decide_change(&staff.who.account, id, approve, Utc::now())
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
