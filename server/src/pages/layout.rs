//! The page shell and the WeUI-style pieces every page is made of: the message area (icon,
//! title, description), form-preview rows of label and value, status tags, the footer.
//!
//! Everything goes through `maud`, which escapes every interpolated string; the only raw
//! HTML is our own stylesheet and icons, compiled in from `assets/pages/`.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use zizhi_shared::verdict::Level;

use crate::register::model::{ChangeKind, QualificationStatus};

const CSS: &str = include_str!("../../../assets/pages/zizhi.css");
const ICON_VALID: &str = include_str!("../../../assets/pages/icons/valid.svg");
const ICON_CAUTION: &str = include_str!("../../../assets/pages/icons/caution.svg");
const ICON_INVALID: &str = include_str!("../../../assets/pages/icons/invalid.svg");
const ICON_SEARCH: &str = include_str!("../../../assets/pages/icons/search.svg");

/// The colour a page's message area takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Valid,
    Caution,
    Invalid,
    /// Neutral (search, nothing found).
    Info,
}

impl From<Level> for Tone {
    fn from(l: Level) -> Tone {
        match l {
            Level::Valid => Tone::Valid,
            Level::Caution => Tone::Caution,
            Level::Invalid => Tone::Invalid,
        }
    }
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Valid => "valid",
            Tone::Caution => "caution",
            Tone::Invalid => "invalid",
            Tone::Info => "info",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Tone::Valid => ICON_VALID,
            Tone::Caution => ICON_CAUTION,
            Tone::Invalid => ICON_INVALID,
            Tone::Info => ICON_SEARCH,
        }
    }
}

/// A whole page: `title` goes into `<title>`, `body` inside the page column.
pub fn shell(title: &str, body: Markup) -> Markup {
    let rare_fonts = super::webfont::font_faces(&format!("{title}{}", body.0));
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover";
                meta name="format-detection" content="telephone=no";
                meta name="robots" content="noindex";
                title { (title) }
                style { (PreEscaped(CSS)) }
                @if !rare_fonts.is_empty() {
                    style { (PreEscaped(&*rare_fonts)) }
                }
            }
            body {
                main.page { (body) }
            }
        }
    }
}

/// WeUI message area: icon, title, description.
pub fn msg(tone: Tone, title: &str, desc: &str) -> Markup {
    html! {
        section class={ "weui-msg lvl-" (tone.class()) } id="verdict" data-level=(tone.class()) {
            div class="weui-msg__icon-area" { (PreEscaped(tone.icon())) }
            div class="weui-msg__text-area" {
                h1 class="weui-msg__title" { (title) }
                p class="weui-msg__desc" { (desc) }
            }
        }
    }
}

/// One label/value row of a form preview.
pub fn row(label: &str, value: impl maud::Render) -> Markup {
    html! {
        div class="weui-form-preview__item" {
            span class="weui-form-preview__label" { (label) }
            span class="weui-form-preview__value" { (value) }
        }
    }
}

/// A form preview: a header row with the key value (e.g. the certificate number), then rows.
pub fn form_preview(head_label: &str, head_value: &str, rows: Markup) -> Markup {
    html! {
        div class="weui-form-preview" {
            div class="weui-form-preview__hd" {
                span class="weui-form-preview__label" { (head_label) }
                em class="weui-form-preview__value" { (head_value) }
            }
            div class="weui-form-preview__bd" { (rows) }
        }
    }
}

pub fn status_tone(s: QualificationStatus) -> Tone {
    match s {
        QualificationStatus::Active => Tone::Valid,
        QualificationStatus::Suspended => Tone::Caution,
        QualificationStatus::Revoked | QualificationStatus::Cancelled => Tone::Invalid,
    }
}

/// A small coloured status label, e.g. 有效 / 暂扣 / 已撤销.
pub fn tag(tone: Tone, text: &str) -> Markup {
    html! { span class={ "tag tag-" (tone.class()) } { (text) } }
}

/// What every page ends with: who stands behind the answer.
pub fn footer(issuer: &str) -> Markup {
    html! {
        footer class="weui-footer" {
            p { a href="/search" { "资质查询" } " · 电子资质证书验证" }
            p { (issuer) }
        }
    }
}

/// The rules an inspector judges a copy by (from the commission's usage rules).
pub fn usage_statement() -> Markup {
    html! {
        p class="note" id="usage-statement" {
            "使用说明：电子资质证书分批准件和使用件。批准件仅用于企业内部展示等非经营活动；"
            "使用件用于企业承接任务等经营活动，仅在标注的用途和使用期限内有效，"
            "打印件（黑白或彩色）与电子文件具有同等效力。资质状态以本页显示的发证机关实时登记信息为准。"
        }
    }
}

/// A version's reason, e.g. 升级：市政公用工程施工总承包三级 → 二级. The register's notes often
/// start with the kind already; it is not said twice.
pub fn change_text(kind: ChangeKind, note: &str) -> String {
    let name = kind.name_zh();
    if note.is_empty() {
        name.to_owned()
    } else if note.starts_with(name) {
        note.to_owned()
    } else {
        format!("{name}：{note}")
    }
}
