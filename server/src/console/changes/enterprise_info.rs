//! 信息变更: the enterprise block (name, address, legal representative, registered capital,
//! economic nature), checked as the issuer API checks it (`checked_enterprise`, with the
//! printer's text rule); the approval applies it through the API's store path, and every
//! certificate in force gets a new version.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use zizhi_shared::{CreditCode, Enterprise};

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
    let e = state.store.enterprise(&code).await?;
    let body = html! {
        h1 { "登记企业信息变更" }
        p.crumb {
            a href="/console/" { "企业与证书" } " › "
            a href={"/console/enterprises/" (code)} { (e.name) } " › 信息变更"
        }
        div.panel {
            (notice("info", "修改需变更的项目；经另一名审批人于生效日期当日或其后审批，该企业每本有效证书换发新版本。统一社会信用代码不在此变更。"))
            form.stack method="post" {
                (csrf(&staff.who))
                dl.kv { dt { "统一社会信用代码" } dd { (code) } }
                div.field { label for="name" { "企业名称" } input #name type="text" name="name" required maxlength="60" value=(e.name); }
                div.field { label for="address" { "注册地址" } input #address type="text" name="address" required maxlength="120" value=(e.address); }
                div.row {
                    div.field { label for="legal_representative" { "法定代表人" } input #legal_representative type="text" name="legal_representative" required maxlength="30" value=(e.legal_representative); }
                    div.field { label for="registered_capital_wan" { "注册资本（万元）" } input #registered_capital_wan type="text" name="registered_capital_wan" required maxlength="20" value=(e.registered_capital_wan); }
                }
                div.field { label for="economic_nature" { "经济性质" } input #economic_nature type="text" name="economic_nature" required maxlength="60" value=(e.economic_nature); }
                (basis_and_effective_date())
                button.btn type="submit" { "登记信息变更申请" }
            }
        }
    };
    Ok(console_page(&staff, "登记企业信息变更", "/console/", body))
}

#[derive(Deserialize)]
pub struct InfoForm {
    name: String,
    address: String,
    legal_representative: String,
    registered_capital_wan: String,
    economic_nature: String,
    basis: String,
    effective_on: Option<String>,
}

pub async fn record(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(code): ApiPath<String>,
    FormBody(f): FormBody<InfoForm>,
) -> Result<Response, PageError> {
    let code: CreditCode = code.parse().map_err(AppError::from)?;
    // The same rule as `PUT /api/v1/issuer/enterprises/{code}`, before anything is written.
    let after = crate::register::api::checked_enterprise(
        &state,
        Enterprise {
            name: f.name,
            credit_code: code,
            address: f.address,
            legal_representative: f.legal_representative,
            registered_capital_wan: f.registered_capital_wan,
            economic_nature: f.economic_nature,
        },
    )?;
    let (basis, effective_on) = checked_basis_and_date(&f.basis, f.effective_on.as_deref())?;
    state
        .store
        .request_enterprise_info(&recording(&staff, &basis, effective_on), &after)
        .await?;
    Ok(recorded())
}
