//! `/search?q=&page=`: the public lookup by enterprise name fragment, 统一社会信用代码 or
//! certificate number, a page of enterprises at a time with their certificates.

use chrono::{NaiveDate, Utc};
use maud::{Markup, html};

use super::layout::{self, Tone, tag};
use crate::register::lookup::{EnterpriseSummary, Page};

pub const PER_PAGE: u32 = 10;
fn form(q: &str) -> Markup {
    html! {
        form class="weui-search-bar" action="/search" method="get" role="search" {
            input type="search" name="q" value=(q) maxlength="60" autocomplete="off"
                placeholder="企业名称、统一社会信用代码或证书编号" aria-label="查询内容";
            button class="weui-btn" type="submit" { "查询" }
        }
    }
}

fn enterprise(e: &EnterpriseSummary, today: NaiveDate) -> Markup {
    html! {
        div class="weui-cell result" {
            div class="weui-cell__title" { (e.name) }
            div class="weui-cell__desc" { "统一社会信用代码 " (e.credit_code) }
            div class="weui-cell__desc" { (e.address) }
            @for c in &e.certificates {
                @let (level, label) = crate::wording::certificate_label(c, today);
                a class="cert" href={ "/c/" (c.number) } {
                    (c.number) " " (c.category_name) "资质证书"
                    (tag(level.into(), label))
                }
            }
        }
    }
}

/// The search page: the form alone when `found` is `None`, else the results for `q`.
pub fn render(issuer_name: &str, q: &str, found: Option<&Page<EnterpriseSummary>>) -> Markup {
    let today = zizhi_shared::time::beijing_date(Utc::now());
    let title = if q.is_empty() {
        "资质查询".to_owned()
    } else {
        format!("资质查询 · {q}")
    };
    layout::shell(
        &title,
        html! {
            (form(q))
            @match found {
                None => {
                    (layout::msg(Tone::Info, "资质查询",
                        "输入企业名称中的关键字、18 位统一社会信用代码或证书编号（如 D231000037），查看企业的实时资质状态。"))
                }
                Some(p) if p.total == 0 => {
                    (layout::msg(Tone::Info, "未找到相关企业",
                        &format!("没有与“{q}”匹配的企业。请检查输入，或换一个关键字再试。")))
                }
                Some(p) => {
                    @let pages = p.total.div_ceil(u64::from(p.per_page)).max(1);
                    div class="weui-cells__title" id="summary" {
                        "共找到 " @if p.total_capped { "至少 " } (p.total) " 家企业 · 第 " (p.page) "/" (pages) " 页"
                    }
                    div class="weui-cells" id="results" {
                        @for e in &p.items { (enterprise(e, today)) }
                        @if p.items.is_empty() {
                            div class="weui-cell" { "本页没有更多结果。" }
                        }
                    }
                    nav class="pager" {
                        @if p.page > 1 {
                            a id="prev" href=(crate::links::search_url("", q, p.page - 1)) { "‹ 上一页" }
                        } @else { span {} }
                        span { (p.page) " / " (pages) }
                        @if u64::from(p.page) < pages {
                            a id="next" href=(crate::links::search_url("", q, p.page + 1)) { "下一页 ›" }
                        } @else { span {} }
                    }
                }
            }
            (layout::footer(issuer_name))
        },
    )
}

/// The search page with the form kept and a reason the query was refused.
pub fn render_refused(issuer_name: &str, q: &str, why: &str) -> Markup {
    layout::shell(
        "资质查询",
        html! {
            (form(q))
            (layout::msg(Tone::Invalid, "查询条件有误", why))
            (layout::footer(issuer_name))
        },
    )
}
