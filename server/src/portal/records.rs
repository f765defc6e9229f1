//! 使用记录: the copies of one certificate, newest first, paginated; downloads of each copy's
//! PDF, PNG preview and QR code; 作废 (withdrawing) a usage copy with its reason.
//!
//! A copy that may no longer be downloaded (its certificate version superseded, nothing left
//! in force, withdrawn) says why, with a link to what to do instead; the download rules are
//! the API's ([`crate::pdf::files::check_downloadable`]).

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use zizhi_shared::CopyKind;
use zizhi_shared::time::beijing_minute;

use super::{PortalUser, number};
use crate::accounts::Audience;
use crate::accounts::frame::{PageError, csrf, notice, page, respond, see_other};
use crate::app::AppState;
use crate::auth::CopyReader;
use crate::copies::model::CopyRecord;
use crate::error::AppError;
use crate::extract::{ApiPath, FormBody};
use crate::pdf::enterprise_copies;
use crate::pdf::files::{check_downloadable, copy_file};
use crate::register::model::CertificateStatus;
use crate::store::VerificationDay;

/// Usage copies per page.
const PAGE_SIZE: usize = 10;

/// 核验次数: how many times a copy was verified, and on which days (never by whom).
fn verifications(days: Option<&Vec<VerificationDay>>) -> Markup {
    let days = days.map_or(&[][..], Vec::as_slice);
    let total: u64 = days.iter().map(|d| d.count).sum();
    html! {
        td data-testid="verifications" data-total=(total) {
            @if days.is_empty() {
                span.muted { "尚无" }
            } @else {
                details.days {
                    summary { "共 " (total) " 次" }
                    ul {
                        @for d in days { li { (d.day) "：" (d.count) " 次" } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<usize>,
    done: Option<String>,
    copy: Option<u64>,
}

/// The copy's links, or why it cannot be downloaded.
fn actions(
    copy: &CopyRecord,
    status: &CertificateStatus,
    who: &crate::accounts::session::SignedIn,
) -> Markup {
    match check_downloadable(copy, status) {
        Ok(_) => html! {
            a href={"/portal/copies/" (copy.id) ".pdf"} { "下载 PDF" }
            a href={"/portal/copies/" (copy.id) ".png"} { "预览图" }
            a href={"/portal/copies/" (copy.id) "/qr/png"} { "二维码 PNG" }
            a href={"/portal/copies/" (copy.id) "/qr/svg"} { "SVG" }
            @if copy.kind == CopyKind::Usage {
                a href={"/portal/copies/" (copy.id) "/withdraw"} data-testid="withdraw" { "作废" }
            }
            @let _ = who;
        },
        Err(e) => {
            let shown = e.shown();
            html! {
                span.muted data-testid="not-downloadable" data-reason=(shown.code) { "不可下载：" (shown.message) }
                @if shown.code == "copy_superseded" {
                    br;
                    a href={"/portal/certificates/" (status.number) "/claim"} { "查看现行证书" }
                }
            }
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(n): ApiPath<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let n = number(&n)?;
    let status = enterprise_copies::own_certificate(&state, &user.enterprise, &n).await?;
    let copies = state.store.copies_of(&status.number).await?;
    let (usage, approval): (Vec<_>, Vec<_>) =
        copies.into_iter().partition(|c| c.kind == CopyKind::Usage);
    let pages = usage.len().div_ceil(PAGE_SIZE).max(1);
    let current = q.page.unwrap_or(1).clamp(1, pages);
    let shown = usage
        .iter()
        .enumerate()
        .skip((current - 1) * PAGE_SIZE)
        .take(PAGE_SIZE);
    let total = usage.len();
    let shown: Vec<_> = shown.collect();
    let listed: Vec<i64> = shown
        .iter()
        .map(|(_, c)| *c)
        .chain(&approval)
        .filter_map(|c| i64::try_from(c.id).ok())
        .collect();
    let counts = state.verify_tally.days(&state.store, &listed).await?;
    let count_of = |c: &CopyRecord| i64::try_from(c.id).ok().and_then(|id| counts.get(&id));
    let done = match q.done.as_deref() {
        Some("usage") => Some("使用件已生成，并已由发证机关和本企业电子签名。"),
        Some("claimed") => Some("批准件已领取。"),
        Some("withdrawn") => Some("使用件已作废，扫码核验将显示“已作废”。"),
        _ => None,
    };
    let body = html! {
        h1 { "使用记录" }
        p.crumb { a href="/portal/" { "证书列表" } " › " (status.number) " › 使用记录" }
        @if let Some(text) = done {
            p class="notice ok" role="status" data-testid="done" data-copy=[q.copy] { (text) }
        }
        div.panel {
            h2 { "使用件" }
            @if usage.is_empty() {
                p.muted { "尚未生成使用件。" a href={"/portal/certificates/" (status.number) "/usage"} { "生成使用件" } }
            } @else {
                div.table-wrap {
                    table data-testid="usage-copies" {
                        thead { tr { th { "序号" } th { "用途" } th { "使用允许时间范围" } th { "生成日期" } th { "状态" } th { "核验次数" } th { "操作" } } }
                        tbody {
                            @for (i, c) in shown.iter().copied() {
                                @let terms = c.usage.as_ref();
                                tr data-copy=(c.id) {
                                    td { (total - i) }
                                    td { (terms.map_or("", |t| t.purpose.as_str())) }
                                    td { @if let Some(t) = terms { (t.from) " 至 " (t.to) } }
                                    td { (beijing_minute(c.issued_at)) }
                                    td {
                                        @if let Some(at) = c.withdrawn_at {
                                            span.state.off { "已作废" } br; span.muted { (beijing_minute(at)) }
                                        } @else if c.certificate_version != status.current_version {
                                            span.state.warn { "旧版本" }
                                        } @else {
                                            span.state.ok { "有效" }
                                        }
                                    }
                                    (verifications(count_of(c)))
                                    td.actions { (actions(c, &status, &user.who)) }
                                }
                            }
                        }
                    }
                }
                @if pages > 1 {
                    div.pager {
                        span { "共 " (total) " 件，第 " (current) " / " (pages) " 页" }
                        @if current > 1 { a href={"?page=" (current - 1)} { "上一页" } }
                        @if current < pages { a href={"?page=" (current + 1)} { "下一页" } }
                    }
                }
            }
        }
        div.panel {
            h2 { "批准件" }
            @if approval.is_empty() {
                p.muted { "尚未领取批准件。" a href={"/portal/certificates/" (status.number) "/claim"} { "领证" } }
            } @else {
                div.table-wrap {
                    table data-testid="approval-copies" {
                        thead { tr { th { "编号" } th { "证书版本" } th { "领取时间" } th { "核验次数" } th { "操作" } } }
                        tbody {
                            @for c in &approval {
                                tr data-copy=(c.id) {
                                    td { (c.id) }
                                    td { "第 " (c.certificate_version) " 版" }
                                    td { (beijing_minute(c.issued_at)) }
                                    (verifications(count_of(c)))
                                    td.actions { (actions(c, &status, &user.who)) }
                                }
                            }
                        }
                    }
                }
            }
            p.muted { "核验次数按北京时间日期统计扫码核验本件的次数，不记录核验人；其他服务器上的核验数秒后计入。" }
            p.muted { "批准件仅用于展示资质，不得用于投标等业务。" }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "使用记录",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/",
            false,
            body,
        ),
    ))
}

/// The copy with this id if it is one of the enterprise's, with its certificate's status.
async fn own_copy(
    state: &AppState,
    user: &PortalUser,
    id: u64,
) -> Result<(CopyRecord, CertificateStatus), PageError> {
    let not_found = || AppError::not_found("copy_not_found", format!("未找到编号为 {id} 的证书件"));
    let copy = state.store.copy(id).await?.ok_or_else(not_found)?;
    let status =
        enterprise_copies::own_certificate(state, &user.enterprise, &copy.certificate_number)
            .await
            .map_err(|_| not_found())?;
    Ok((copy, status))
}

/// `{id}.pdf` or `{id}.png`, as the API serves them.
pub async fn download(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, PageError> {
    Ok(copy_file(
        &state,
        &CopyReader::Enterprise(user.enterprise.clone()),
        &file,
    )
    .await?)
}

/// The QR code alone, PNG or SVG, for a copy that may still be downloaded.
pub async fn qr(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath((id, format)): ApiPath<(u64, String)>,
) -> Result<Response, PageError> {
    let (copy, status) = own_copy(&state, &user, id).await?;
    check_downloadable(&copy, &status)?;
    let name = |ext: &str| {
        crate::pdf::files::disposition(&format!(
            "{}-二维码-{}.{ext}",
            copy.certificate_number, copy.id
        ))
    };
    let render_error =
        |e: zizhi_shared::render::RenderError| AppError::Internal(anyhow::anyhow!("{e}"));
    let res = match format.as_str() {
        "png" => (
            [
                (header::CONTENT_TYPE, "image/png".to_owned()),
                (header::CONTENT_DISPOSITION, name("png")),
            ],
            zizhi_shared::render::png(&copy.qr_text, 8).map_err(render_error)?,
        )
            .into_response(),
        "svg" => (
            [
                (header::CONTENT_TYPE, "image/svg+xml".to_owned()),
                (header::CONTENT_DISPOSITION, name("svg")),
            ],
            zizhi_shared::render::svg(&copy.qr_text, 8).map_err(render_error)?,
        )
            .into_response(),
        _ => return Err(AppError::not_found("unknown_format", "二维码格式须为 png 或 svg").into()),
    };
    Ok(res)
}

pub async fn withdraw_page(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, PageError> {
    let (copy, status) = own_copy(&state, &user, id).await?;
    let body = html! {
        h1 { "作废使用件" }
        p.crumb { a href="/portal/" { "证书列表" } " › " a href={"/portal/certificates/" (status.number) "/copies"} { "使用记录" } " › 作废" }
        div.panel {
            @if copy.kind != CopyKind::Usage {
                (notice("bad", "只有使用件可以作废。"))
            } @else if copy.withdrawn_at.is_some() {
                (notice("info", "该使用件已作废。"))
            } @else {
                @let t = copy.usage.as_ref();
                dl.kv {
                    dt { "证书编号" } dd { (copy.certificate_number) }
                    dt { "用途" } dd { (t.map_or("", |t| t.purpose.as_str())) }
                    dt { "使用期限" } dd { @if let Some(t) = t { (t.from) " 至 " (t.to) } }
                    dt { "生成时间" } dd { (beijing_minute(copy.issued_at)) }
                }
                (notice("warn", "作废后不可恢复：任何人扫描该使用件的二维码，都将看到“已作废”。"))
                form.stack method="post" {
                    (csrf(&user.who))
                    div.field {
                        label for="reason" { "作废原因" }
                        input #reason type="text" name="reason" required maxlength="100" placeholder="例如：项目已取消";
                    }
                    button.btn.danger type="submit" { "确认作废" }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "作废使用件",
            Some(&user.who),
            Audience::Enterprise,
            "/portal/",
            false,
            body,
        ),
    ))
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    reason: String,
}

pub async fn withdraw(
    State(state): State<AppState>,
    user: PortalUser,
    ApiPath(id): ApiPath<u64>,
    FormBody(form): FormBody<WithdrawForm>,
) -> Result<Response, PageError> {
    let (copy, status) = own_copy(&state, &user, id).await?;
    if copy.kind != CopyKind::Usage {
        return Err(AppError::refused("not_a_usage_copy", "只有使用件可以作废").into());
    }
    let reason = crate::accounts::check_label("作废原因", &form.reason, 100)?;
    state
        .store
        .withdraw_copy(&user.actor(), id, Some(&reason), Utc::now())
        .await?;
    Ok(see_other(&format!(
        "/portal/certificates/{}/copies?done=withdrawn&copy={id}",
        status.number
    )))
}
