//! 增项: a qualification added to the enterprise's certificate of its category. Item and grade
//! pass the same checks as the issuer API's and the 登记企业 page's; the approver's approval
//! grants it through the issuer API's store path, its approval date the effective date.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use zizhi_shared::{Category, CreditCode};

use super::{basis_and_effective_date, checked_basis_and_date, console_page, recorded, recording};
use crate::accounts::frame::{PageError, csrf, notice};
use crate::app::AppState;
use crate::console::ConsoleStaff;
use crate::error::AppError;
use crate::extract::{ApiPath, FormBody};

pub async fn form(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, PageError> {
    let code: CreditCode = code.parse().map_err(AppError::from)?;
    let summary = state
        .store
        .search_enterprises(code.as_str(), 1, 1)
        .await?
        .items
        .into_iter()
        .find(|e| e.credit_code == code)
        .ok_or_else(|| AppError::not_found("enterprise_not_found", format!("未登记企业 {code}")))?;
    let body = html! {
        h1 { "登记增项" }
        p.crumb {
            a href="/console/" { "企业与证书" } " › "
            a href={"/console/enterprises/" (code)} { (summary.name) } " › 增项"
        }
        div.panel {
            @if summary.certificates.is_empty() {
                (notice("warn", "该企业尚无证书：首次核准请经“登记企业”或接口办理。"))
            } @else {
                (notice("info", "增项加在该企业同类别的证书上；经另一名审批人于生效日期当日或其后审批，证书换发新版本，新资质的批准日期为生效日期。"))
                form.stack method="post" {
                    (csrf(&staff.who))
                    div.field {
                        label for="category" { "资质类别" }
                        select #category name="category" {
                            @for c in &summary.certificates {
                                option value=(c.category.code()) { (c.category_name) "（" (c.number) "）" }
                            }
                        }
                    }
                    div.row {
                        div.field { label for="item" { "资质项目" } input #item type="text" name="item" required maxlength="40" placeholder="市政公用工程施工总承包"; }
                        div.field { label for="grade" { "等级" } input #grade type="text" name="grade" required maxlength="10" placeholder="三级"; }
                    }
                    (basis_and_effective_date())
                    button.btn type="submit" { "登记增项申请" }
                }
            }
        }
    };
    Ok(console_page(&staff, "登记增项", "/console/", body))
}

#[derive(Deserialize)]
pub struct AddItemForm {
    category: String,
    item: String,
    grade: String,
    basis: String,
    effective_on: Option<String>,
}

pub async fn record(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(code): ApiPath<String>,
    FormBody(f): FormBody<AddItemForm>,
) -> Result<Response, PageError> {
    let code: CreditCode = code.parse().map_err(AppError::from)?;
    let category: Category = f.category.parse().map_err(AppError::from)?;
    // The same rules as the issuer API, all checked before anything is written.
    let (item, grade) = crate::register::api::checked_item_grade(&state, &f.item, &f.grade)?;
    let (basis, effective_on) = checked_basis_and_date(&f.basis, f.effective_on.as_deref())?;
    state
        .store
        .request_add_item(
            &recording(&staff, &basis, effective_on),
            &code,
            category,
            &item,
            &grade,
        )
        .await?;
    Ok(recorded())
}
