//! 企业与证书: search, one enterprise's certificates, qualifications and accounts, registering
//! an enterprise with its first qualification, inviting its administrator, disabling an
//! account.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use maud::html;
use serde::Deserialize;
use zizhi_shared::{Category, CreditCode, Enterprise};

use super::ConsoleStaff;
use crate::accounts::frame::{PageError, csrf, page, respond, see_other};
use crate::accounts::{Audience, Role};
use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{ApiPath, FormBody};
use crate::portal::certificates::{qualification_lines, standing_label};
use crate::register::ops::Grant;

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let text = q.q.as_deref().unwrap_or("").trim().to_owned();
    let found = state
        .store
        .search_enterprises(&text, q.page.unwrap_or(1), 20)
        .await?;
    let pending = state
        .store
        .change_requests(200)
        .await?
        .into_iter()
        .filter(|r| r.decision.is_none())
        .count();
    let pages = found.total.div_ceil(u64::from(found.per_page)).max(1);
    let body = html! {
        h1 { "企业与证书" }
        p.crumb { (state.settings.issuer_name) }
        @if pending > 0 {
            p class="notice info" { "有 " (pending) " 件变更申请待审批。" a href="/console/changes" { "查看" } }
        }
        div.panel {
            form method="get" action="/console/" class="row" {
                div.field { input type="text" name="q" value=(text) placeholder="企业名称、统一社会信用代码或证书编号" maxlength="60"; }
                div { button.btn type="submit" { "查询" } }
            }
            div.table-wrap {
                table data-testid="enterprises" {
                    thead { tr { th { "企业名称" } th { "统一社会信用代码" } th { "证书" } th { "操作" } } }
                    tbody {
                        @for e in &found.items {
                            tr {
                                td { (e.name) }
                                td { (e.credit_code) }
                                td { @for c in &e.certificates { div { (c.number) " " span.muted { (c.category_name) } } } }
                                td.actions { a href={"/console/enterprises/" (e.credit_code)} { "办理" } }
                            }
                        }
                    }
                }
            }
            div.pager {
                span { "共 " @if found.total_capped { "至少 " } (found.total) " 家，第 " (found.page) " / " (pages) " 页" }
                @if found.page > 1 { a href={"?q=" (text) "&page=" (found.page - 1)} { "上一页" } }
                @if u64::from(found.page) < pages { a href={"?q=" (text) "&page=" (found.page + 1)} { "下一页" } }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "企业与证书",
            Some(&staff.who),
            Audience::Issuer,
            "/console/",
            false,
            body,
        ),
    ))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    invited: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(code): ApiPath<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let code: CreditCode = code.parse().map_err(AppError::from)?;
    let summary = state
        .store
        .search_enterprises(code.as_str(), 1, 1)
        .await?
        .items
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("enterprise_not_found", format!("未登记企业 {code}")))?;
    let enterprise_id = state.store.enterprise_to_enrol(&code).await?.id;
    let mut certificates = Vec::new();
    for c in &summary.certificates {
        if let Some(s) = state.store.certificate_status(&c.number).await? {
            certificates.push(s);
        }
    }
    let accounts = state.store.accounts_of(Some(enterprise_id)).await?;
    let today = crate::portal::today();
    let body = html! {
        h1 { (summary.name) }
        p.crumb { a href="/console/" { "企业与证书" } " › " (code) }
        p.actions data-testid="enterprise-changes" {
            a.btn href={"/console/enterprises/" (code) "/add-item"} { "登记增项" } " "
            a.btn.plain href={"/console/enterprises/" (code) "/info-change"} { "登记信息变更" } " "
            a href="/console/changes" { "变更审批" }
        }
        @if let Some(link) = &q.invited {
            div class="notice ok" data-testid="invitation" {
                "邀请链接（72 小时内有效，只能使用一次，请当面或通过安全渠道交给企业管理员）："
                br; code data-testid="invitation-link" { (link) }
            }
        }
        @for s in &certificates {
            @let c = &s.current().certificate;
            @let (label, class) = standing_label(s.standing, c.valid_until < today);
            div.panel data-number=(s.number) {
                h2 { (s.category.certificate_title()) " " (s.number) " " span class={"state " (class)} { (label) } }
                p.muted { "第 " (s.current_version) " 版 · 批准日期 " (c.approved_on) " · 有效期至 " (c.valid_until) }
                div.table-wrap {
                    table {
                        thead { tr { th { "资质" } th { "等级" } th { "状态" } th { "操作" } } }
                        tbody {
                            @for q in &s.qualifications {
                                tr data-qualification=(q.id) {
                                    td { (q.item) }
                                    td { (q.grade) }
                                    td { (q.status.name_zh()) }
                                    td.actions { a href={"/console/qualifications/" (q.id) "/change"} { "登记变更" } }
                                }
                            }
                        }
                    }
                }
                details { summary { "现行证书内容" } (qualification_lines(c)) }
            }
        }
        div.panel {
            h2 { "企业网上办事账户" }
            @if accounts.is_empty() {
                p.muted { "尚未开通。" }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "姓名" } th { "登录名" } th { "状态" } th { "操作" } } }
                        tbody {
                            @for a in &accounts {
                                tr {
                                    td { (a.display_name) }
                                    td { (a.login_name) }
                                    td { @if a.disabled { span.state.off { "已停用" } } @else { span.state.ok { "正常" } } }
                                    td.actions {
                                        form.inline method="post" action={"/console/accounts/" (a.id) (if a.disabled { "/enable" } else { "/disable" })} {
                                            (csrf(&staff.who))
                                            input type="hidden" name="back" value=(code);
                                            button.btn.small.plain type="submit" { @if a.disabled { "启用" } @else { "停用" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action={"/console/enterprises/" (code) "/invite"} {
                (csrf(&staff.who))
                button.btn type="submit" { "生成邀请链接" }
                span.muted { " 企业管理员凭链接登记通行密钥、设置数字证书密码。重新邀请会换发签名密钥。" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            &summary.name,
            Some(&staff.who),
            Audience::Issuer,
            "/console/",
            false,
            body,
        ),
    ))
}

pub async fn invite(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, PageError> {
    let code: CreditCode = code.parse().map_err(AppError::from)?;
    let inv = crate::accounts::invitations::invite(&state, &staff.actor(), &code, None, Utc::now())
        .await?;
    let link = inv.url.unwrap_or(inv.path);
    // Shown once, on the page the clerk lands on; only its digest is stored.
    let to = format!(
        "/console/enterprises/{code}?invited={}",
        percent_encoding::utf8_percent_encode(&link, percent_encoding::NON_ALPHANUMERIC)
    );
    Ok(see_other(&to))
}

#[derive(Deserialize)]
pub struct AccountForm {
    back: Option<String>,
}

async fn set_disabled(
    state: &AppState,
    staff: &ConsoleStaff,
    id: i64,
    disabled: bool,
    back: Option<&str>,
) -> Result<Response, PageError> {
    let account = state
        .store
        .account(id)
        .await?
        .ok_or_else(|| AppError::not_found("account_not_found", "未找到该账户"))?;
    if account.audience() != Audience::Enterprise {
        // Staff accounts are managed on the command line, where the issuer's own
        // administrators are.
        staff.must_be(Role::Approver)?;
    }
    state
        .store
        .set_account_disabled(&staff.actor(), id, disabled, Utc::now())
        .await?;
    let back = back.and_then(|b| b.parse::<CreditCode>().ok()).map_or_else(
        || "/console/".to_owned(),
        |c| format!("/console/enterprises/{c}"),
    );
    Ok(see_other(&back))
}

pub async fn disable_account(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
    FormBody(form): FormBody<AccountForm>,
) -> Result<Response, PageError> {
    set_disabled(&state, &staff, id, true, form.back.as_deref()).await
}

pub async fn enable_account(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    ApiPath(id): ApiPath<i64>,
    FormBody(form): FormBody<AccountForm>,
) -> Result<Response, PageError> {
    set_disabled(&state, &staff, id, false, form.back.as_deref()).await
}

pub async fn new_form(
    State(_state): State<AppState>,
    staff: ConsoleStaff,
) -> Result<Response, PageError> {
    let today = crate::portal::today();
    let body = html! {
        h1 { "登记企业" }
        p.crumb { "登记企业及其首项资质；核准后即生成电子资质证书第 1 版。" }
        div.panel {
            form.stack method="post" action="/console/enterprises/new" {
                (csrf(&staff.who))
                div.field { label for="name" { "企业名称" } input #name type="text" name="name" required maxlength="60"; }
                div.field { label for="credit_code" { "统一社会信用代码" } input #credit_code type="text" name="credit_code" required maxlength="18"; }
                div.field { label for="address" { "注册地址" } input #address type="text" name="address" required maxlength="100"; }
                div.row {
                    div.field { label for="legal_representative" { "法定代表人" } input #legal_representative type="text" name="legal_representative" required maxlength="30"; }
                    div.field { label for="registered_capital_wan" { "注册资本（万元）" } input #registered_capital_wan type="text" name="registered_capital_wan" required maxlength="12"; }
                }
                div.field { label for="economic_nature" { "经济性质" } input #economic_nature type="text" name="economic_nature" required maxlength="40" value="有限责任公司"; }
                h3 { "首项资质" }
                div.field {
                    label for="category" { "资质类别" }
                    select #category name="category" {
                        @for c in Category::ALL { option value=(c.code()) { (c.name_zh()) } }
                    }
                }
                div.row {
                    div.field { label for="item" { "资质项目" } input #item type="text" name="item" required maxlength="40" placeholder="建筑工程施工总承包"; }
                    div.field { label for="grade" { "等级" } input #grade type="text" name="grade" required maxlength="10" placeholder="二级"; }
                }
                div.row {
                    div.field { label for="approved_on" { "批准日期" } input #approved_on type="date" name="approved_on" required value=(today); }
                    div.field { label for="valid_until" { "有效期至" } input #valid_until type="date" name="valid_until" required value=(today + chrono::Days::new(5 * 365)); }
                }
                button.btn type="submit" { "登记并核准" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "登记企业",
            Some(&staff.who),
            Audience::Issuer,
            "/console/enterprises/new",
            false,
            body,
        ),
    ))
}

#[derive(Deserialize)]
pub struct NewEnterprise {
    name: String,
    credit_code: String,
    address: String,
    legal_representative: String,
    registered_capital_wan: String,
    economic_nature: String,
    category: String,
    item: String,
    grade: String,
    approved_on: NaiveDate,
    valid_until: NaiveDate,
}

pub async fn create(
    State(state): State<AppState>,
    staff: ConsoleStaff,
    FormBody(f): FormBody<NewEnterprise>,
) -> Result<Response, PageError> {
    let code: CreditCode = f.credit_code.trim().parse().map_err(AppError::from)?;
    // The same rules as the issuer API, all checked before anything is written.
    let e = crate::register::api::checked_enterprise(
        &state,
        Enterprise {
            name: f.name,
            credit_code: code.clone(),
            address: f.address,
            legal_representative: f.legal_representative,
            registered_capital_wan: f.registered_capital_wan,
            economic_nature: f.economic_nature,
        },
    )?;
    let (item, grade) = crate::register::api::checked_item_grade(&state, &f.item, &f.grade)?;
    let grant = Grant {
        category: f.category.parse().map_err(AppError::from)?,
        item,
        grade,
        approved_on: Some(f.approved_on),
        valid_until: Some(f.valid_until),
        certificate_number: None,
    };
    let now = Utc::now();
    state
        .store
        .create_enterprise(&staff.actor(), &e, now)
        .await?;
    state
        .store
        .grant_qualification(
            &staff.actor(),
            &code,
            &grant,
            &state.settings.issuer_name,
            now,
        )
        .await?;
    Ok(see_other(&format!("/console/enterprises/{code}")))
}
