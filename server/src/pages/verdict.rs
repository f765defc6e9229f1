//! `/V/<BASE32>`: what an inspector sees after scanning a printed copy. The verdict comes
//! first, big and unmistakable; the usage statement of a usage copy next; then 详情, which
//! expands 资质详情 with the live status and, for an outdated print, what changed since.

use maud::{Markup, html};
use zizhi_shared::time::beijing_minute;
use zizhi_shared::verdict::{CertificateState, Level, Verdict};
use zizhi_shared::{Certificate, CopyKind};

use super::layout::{self, Tone, form_preview, row, status_tone, tag};

pub fn render(v: &Verdict, issuer_name: &str) -> Markup {
    let tone = Tone::from(v.summary.level);
    let page_title = match &v.claims {
        Some(c) => format!("{} · {}", v.summary.title, c.enterprise_name),
        None => format!("{} · 证书验证", v.summary.title),
    };
    layout::shell(
        &page_title,
        html! {
            (layout::msg(tone, &v.summary.title, &v.summary.message))
            @match &v.claims {
                Some(_) => (genuine(v, tone)),
                None => (not_genuine()),
            }
            (layout::usage_statement())
            p class="note" { "验证时间：" (beijing_minute(v.checked_at)) "（北京时间）" }
            (layout::footer(issuer_name))
        },
    )
}

fn not_genuine() -> Markup {
    html! {
        div class="usage invalid" id="usage" {
            p class="purpose" { "请勿采信此证书" }
            p class="period" {
                "二维码未通过发证机关的签名验证，证书内容可能被伪造或篡改。"
                "如有疑问，请通过“资质查询”按企业名称核对，或联系发证机关。"
            }
        }
    }
}

fn genuine(v: &Verdict, tone: Tone) -> Markup {
    let c = v.claims.as_ref().expect("called with claims");
    let category = v
        .current_certificate
        .as_ref()
        .map(|cert| cert.category.certificate_title());
    html! {
        @match &c.usage {
            Some(u) => div class={ "usage " (tone.class()) } id="usage" {
                p class="purpose" { "本使用件仅用于：" (u.purpose) }
                p class="period" { "使用期限 " (u.from) " 至 " (u.to) }
            },
            None => div class="usage caution" id="usage" {
                p class="purpose" { "批准件" }
                p class="period" { "仅用于企业内部展示，不能用于投标等经营活动" }
            },
        }
        div class="weui-form-preview" style="margin-top:8px" {
            div class="weui-form-preview__hd" {
                span class="weui-form-preview__label" { "证书编号" }
                em class="weui-form-preview__value" { (c.certificate_number) }
            }
            div class="weui-form-preview__bd" {
                (row("企业名称", &c.enterprise_name))
                @if let Some(t) = &category { (row("证书类别", t)) }
                (row("本件类型", format!("{}（第 {} 版）", c.kind.name_zh(), c.certificate_version)))
                (row("本件生成日期", beijing_minute(c.issued_at)))
                @if let Some(issuer) = &v.issuer { (row("签发机关", issuer)) }
            }
        }
        details id="details" {
            summary { "详情" }
            (details_body(v))
        }
    }
}

fn details_body(v: &Verdict) -> Markup {
    let c = v.claims.as_ref().expect("called with claims");
    html! {
        div class="weui-cells__title" { "资质详情（发证机关实时登记信息）" }
        @match &v.current_certificate {
            Some(cert) => (certificate_block(cert, v)),
            None => (form_preview("证书编号", c.certificate_number.as_str(), html! {
                (row("企业名称", &c.enterprise_name))
                (row("统一社会信用代码", c.credit_code.as_str()))
                (row("资质类别及等级", qualification_list(v)))
                (row("证书状态", standing_text(v)))
            })),
        }
        @if !v.changes_since_printed.is_empty() {
            div class="weui-cells__title" {
                "打印件为第 " (c.certificate_version) " 版，之后的变更"
            }
            ol class="changes" id="changes" {
                @for ch in &v.changes_since_printed {
                    li {
                        "第 " (ch.version) " 版 · " (layout::change_text(ch.change_kind, &ch.note))
                        " · " (beijing_minute(ch.at))
                    }
                }
            }
            @if let Some(cur) = &v.current_certificate {
                p class="note" { "现行版本为第 " (cur.version) " 版，请以上方资质详情为准。" }
            }
        }
        @if v.summary.level != Level::Valid && !v.warnings.is_empty() {
            div class="weui-cells__title" { "验证提示" }
            ul class="changes" {
                @for w in &v.warnings { li { (w.message) } }
            }
        }
        @if c.kind == CopyKind::Approval {
            p class="note" { "批准件相当于传统证书的“正本”，用于企业内部展示；投标等经营活动须使用使用件。" }
        }
    }
}

fn certificate_block(cert: &Certificate, v: &Verdict) -> Markup {
    let e = &cert.enterprise;
    form_preview(
        "证书编号",
        cert.number.as_str(),
        html! {
            (row("企业名称", &e.name))
            (row("注册地址", &e.address))
            (row("统一社会信用代码", e.credit_code.as_str()))
            (row("法定代表人", &e.legal_representative))
            (row("注册资本", format!("{}万元", e.registered_capital_wan)))
            (row("经济性质", &e.economic_nature))
            (row("证书类别", cert.category.certificate_title()))
            (row("有效期至", cert.valid_until.to_string()))
            (row("资质类别及等级", qualification_list(v)))
            (row("发证机关", &cert.issuer))
            (row("批准日期", cert.approved_on.to_string()))
            (row("现行版本", format!("第 {} 版", cert.version)))
        },
    )
}

fn qualification_list(v: &Verdict) -> Markup {
    html! {
        ul class="quals" {
            @for q in &v.qualifications {
                li {
                    (zizhi_shared::qualification_name(&q.item, &q.grade))
                    (tag(status_tone(q.status), &q.status_name))
                }
            }
        }
    }
}

fn standing_text(v: &Verdict) -> &'static str {
    match v.certificate_state {
        Some(CertificateState::Revoked) => "已撤销，不能下载",
        Some(CertificateState::Cancelled) => "已注销，不能下载",
        Some(CertificateState::Suspended) => "资质已暂扣",
        Some(CertificateState::Expired) => "已过有效期",
        Some(CertificateState::Superseded) => "已更新为新版本",
        Some(CertificateState::Current) => "现行有效",
        None => "登记簿中无此证书",
    }
}
