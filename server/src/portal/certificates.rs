//! 证书列表 and 领证.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use zizhi_shared::{Certificate, CopyKind};

use super::{PortalUser, number, today};
use crate::accounts::Audience;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::app::AppState;
use crate::extract::ApiPath;
use crate::pdf::enterprise_copies;
use crate::register::model::CertificateStanding;

/// A certificate's state as the list shows it: label and style.
pub fn standing_label(
    standing: CertificateStanding,
    expired: bool,
) -> (&'static str, &'static str) {
    match standing {
        CertificateStanding::Active if expired => ("已过期", "bad"),
        CertificateStanding::Active => ("有效", "ok"),
        CertificateStanding::Suspended => ("暂扣", "warn"),
        CertificateStanding::Revoked => ("已撤销", "bad"),
        CertificateStanding::Cancelled => ("已注销", "off"),
    }
}

/// The qualifications a certificate prints, one a line.
pub fn qualification_lines(c: &Certificate) -> Markup {
    html! {
        @for q in &c.qualifications {
            div { (q.item) " " (q.grade) }
        }
    }
}

/// 证书列表: every certificate of the enterprise, as the guide's table.
pub async fn list(State(state): State<AppState>, user: PortalUser) -> Result<Response, PageError> {
    let certificates = state
        .store
        .enterprise_certificates(user.enterprise.enterprise_id)
        .await?;
    let today = today();
    let body = html! {
        h1 { "电子证书管理" }
        p.crumb { (user.enterprise.name) " · 统一社会信用代码 " (user.enterprise.credit_code) }
        div.panel {
            h2 { "本企业的资质证书" }
            @if certificates.is_empty() {
                p.muted { "本企业尚无电子资质证书。" }
            } @else {
                div.table-wrap {
                    table data-testid="certificates" {
                        thead { tr { th { "证书编号" } th { "批准机关" } th { "批准日期" } th { "有效日期" } th { "资质及等级" } th { "状态" } th { "操作" } } }
                        tbody {
                            @for c in &certificates {
                                @let active = c.standing == CertificateStanding::Active;
                                @let expired = c.certificate.valid_until < today;
                                @let (label, class) = standing_label(c.standing, expired);
                                tr data-number=(c.number) {
                                    td { (c.number) br; span.muted { (c.category.certificate_title()) } }
                                    td { (c.certificate.issuer) }
                                    td { @if active { (c.certificate.approved_on) } @else { "—" } }
                                    td { @if active { (c.certificate.valid_until) } @else { "—" } }
                                    td { @if active { (qualification_lines(&c.certificate)) } @else { span.muted { "无有效资质" } } }
                                    td { span class={"state " (class)} { (label) } }
                                    td.actions {
                                        @if active && !expired {
                                            a href={"/portal/certificates/" (c.number) "/claim"} { "领证" }
                                            a href={"/portal/certificates/" (c.number) "/usage"} { "生成使用件" }
                                        }
                                        a href={"/portal/certificates/" (c.number) "/copies"} { "使用记录" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        div.panel {
            h2 { "办理说明" }
            ul {
                li { b { "领证" } "：领取证书的批准件（电子证书正本），仅用于展示资质，" b { "不得用于投标等业务" } "。" }
                li { b { "生成使用件" } "：填写用途和使用期限，经通行密钥确认并输入数字证书密码后生成，由发证机关和企业共同电子签名，可用于投标等业务，数量不限。" }
                li { b { "使用记录" } "：查看、下载和作废已生成的使用件。" }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "证书列表",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/",
            false,
            body,
        ),
    ))
}

/// What regions B and C of the printed certificate show.
pub fn printed_regions(c: &Certificate) -> Markup {
    let e = &c.enterprise;
    html! {
        div.print data-testid="region-b" {
            h3 { "B 区 · 企业信息" }
            dl.kv {
                dt { "企业名称" } dd { (e.name) }
                dt { "统一社会信用代码" } dd { (e.credit_code) }
                dt { "注册地址" } dd { (e.address) }
                dt { "法定代表人" } dd { (e.legal_representative) }
                dt { "注册资本" } dd { (e.registered_capital_wan) " 万元" }
                dt { "经济性质" } dd { (e.economic_nature) }
                dt { "证书编号" } dd { (c.number) }
                dt { "有效期" } dd { (c.approved_on) " 至 " (c.valid_until) }
            }
        }
        div.print data-testid="region-c" {
            h3 { "C 区 · 资质类别及等级" }
            (qualification_lines(c))
            dl.kv style="margin-top:8px" {
                dt { "发证机关" } dd { (c.issuer) }
                dt { "批准日期" } dd { (c.approved_on) }
            }
        }
    }
}

/// 领证: what will be printed, and a confirmation.
pub async fn claim_page(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(n): ApiPath<String>,
) -> Result<Response, PageError> {
    let n = number(&n)?;
    let status = enterprise_copies::own_certificate(&state, &user.enterprise, &n).await?;
    let existing = state
        .store
        .copies_of(&status.number)
        .await?
        .into_iter()
        .find(|c| {
            c.kind == CopyKind::Approval
                && c.certificate_version == status.current_version
                && c.withdrawn_at.is_none()
        });
    let active = status.standing == CertificateStanding::Active;
    let c = &status.current().certificate;
    let body = html! {
        h1 { "领证" }
        p.crumb { a href="/portal/" { "证书列表" } " › " (status.number) " › 领证" }
        div.panel {
            h2 { "将打印在批准件上的内容" }
            (notice("warn", "批准件是电子证书的正本，仅用于展示本企业的资质，不得用于投标等业务；投标等业务请生成使用件。"))
            (printed_regions(c))
            p.muted { "批准件的有效期自批准日期 " (c.approved_on) " 起算，至 " (c.valid_until) " 止，与领取日期无关。" }
            @if !active {
                (notice("bad", "该证书已无有效资质，不能领证。"))
            } @else if let Some(copy) = &existing {
                (notice("ok", "本版本的批准件已领取，可在使用记录中下载。"))
                p { a.btn href={"/portal/copies/" (copy.id) ".pdf"} { "下载批准件（PDF）" } " " a.btn.plain href={"/portal/certificates/" (status.number) "/copies"} { "使用记录" } }
            } @else {
                form method="post" {
                    (csrf(&user.who))
                    p { label { input type="checkbox" name="confirm" value="yes" required; " 我已核对以上内容，确认领取批准件" } }
                    button.btn type="submit" { "确认领证" }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "领证",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/",
            false,
            body,
        ),
    ))
}

#[derive(serde::Deserialize)]
pub struct ClaimForm {
    confirm: Option<String>,
}

pub async fn claim(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(n): ApiPath<String>,
    crate::extract::FormBody(form): crate::extract::FormBody<ClaimForm>,
) -> Result<Response, PageError> {
    let n = number(&n)?;
    if form.confirm.as_deref() != Some("yes") {
        return Err(crate::error::AppError::invalid(
            "confirmation_required",
            "请先勾选确认已核对批准件内容",
        )
        .into());
    }
    let outcome =
        enterprise_copies::claim_approval(&state, &user.enterprise, &user.actor(), &n, None)
            .await?;
    Ok(see_other(&format!(
        "/portal/certificates/{}/copies?done=claimed&copy={}",
        outcome.copy.certificate_number, outcome.copy.id
    )))
}
