//! A change of one qualification: 升级、降级、暂扣、恢复、吊销、撤销、撤回、注销.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::{basis_and_effective_date, checked_basis_and_date, console_page, recorded, recording};
use crate::accounts::frame::{PageError, csrf, notice};
use crate::app::AppState;
use crate::console::ConsoleStaff;
use crate::error::AppError;
use crate::extract::{ApiPath, FormBody};
use crate::register::ops::{ChangeAct, QualificationAction};

/// The acts that change one qualification, in the form's order.
fn acts() -> impl Iterator<Item = ChangeAct> {
    ChangeAct::ALL
        .into_iter()
        .filter(|a| a.qualification_action().is_some())
}

pub async fn form(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    let not_found = || AppError::not_found("qualification_not_found", format!("未找到资质 {id}"));
    let number = state
        .store
        .qualification_certificate(id)
        .await?
        .ok_or_else(not_found)?;
    let status = state
        .store
        .certificate_status(&number)
        .await?
        .ok_or_else(|| {
            AppError::not_found("certificate_not_found", format!("未找到证书 {number}"))
        })?;
    let q = status.qualification(id).ok_or_else(not_found)?;
    let body = html! {
        h1 { "登记资质变更" }
        p.crumb {
            a href="/console/" { "企业与证书" } " › "
            a href={"/console/enterprises/" (status.credit_code)} { (number) } " › " (q.item)
        }
        div.panel {
            dl.kv {
                dt { "证书" } dd { (number) }
                dt { "资质" } dd { (q.item) " " (q.grade) }
                dt { "状态" } dd { (q.status.name_zh()) }
            }
            (notice("info", "经办人登记变更及其依据、生效日期，经另一名审批人于生效日期当日或其后审批，证书随即换发新版本；旧版本的证书件扫码将显示“已被新版本取代”或“已撤销”。"))
            form.stack method="post" {
                (csrf(&staff.who))
                div.field {
                    label for="action" { "变更事项" }
                    select #action name="action" {
                        @for a in acts() { option value=(a.code()) { (a.name_zh()) } }
                    }
                    p.hint { "吊销：行政处罚；撤销：准予许可不当，依法撤销；撤回：许可所依据的情况发生变化，依法撤回。" }
                }
                div.field {
                    label for="grade" { "新等级（升级、降级时填写）" }
                    input #grade type="text" name="grade" maxlength="10";
                }
                (basis_and_effective_date())
                button.btn type="submit" { "登记变更申请" }
            }
        }
    };
    Ok(console_page(&staff, "登记资质变更", "/console/", body))
}

#[derive(Deserialize)]
pub struct ChangeForm {
    action: String,
    grade: Option<String>,
    basis: String,
    effective_on: Option<String>,
}

pub async fn record(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
    FormBody(f): FormBody<ChangeForm>,
) -> Result<Response, PageError> {
    let act = ChangeAct::from_code(&f.action)
        .filter(|a| a.qualification_action().is_some())
        .ok_or_else(|| {
            AppError::invalid(
                "unknown_action",
                format!("未知的资质变更事项：{}", f.action),
            )
        })?;
    let (basis, effective_on) = checked_basis_and_date(&f.basis, f.effective_on.as_deref())?;
    let grade = match act.qualification_action() {
        Some(QualificationAction::Upgrade | QualificationAction::Downgrade) => {
            let g = f
                .grade
                .as_deref()
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .ok_or_else(|| AppError::invalid("grade_required", "升级或降级须填写新等级"))?;
            Some(crate::register::api::checked_grade(&state, g)?)
        }
        _ => None,
    };
    state
        .store
        .request_qualification_change(
            &recording(&staff, &basis, effective_on),
            id,
            act,
            grade.as_deref(),
        )
        .await?;
    Ok(recorded())
}
