//! 结果: the verdict, as big as the H5 page's (green 真实有效 / orange 注意 / red 无效或已失效),
//! where the status came from, the usage statement, the signed claims and, live only,
//! 资质详情 in a `<details>`.

use dioxus::prelude::*;

use super::icons::VerdictIcon;
use super::state::{AppState, ResultState, Tab};
use crate::check::Shown;
use crate::view::{ResultView, Row, Source};

#[component]
fn Rows(rows: Vec<Row>) -> Element {
    rsx! {
        for r in rows {
            div { class: "row",
                span { class: "label", "{r.label}" }
                span { class: "value", "{r.value}" }
            }
        }
    }
}

#[component]
pub fn ResultScreen() -> Element {
    let mut state = use_context::<AppState>();
    let result = state.result.read().clone();
    match result {
        ResultState::Empty => rsx! {
            section { class: "empty",
                p { "尚无核验结果" }
                button {
                    r#type: "button",
                    class: "btn primary",
                    onclick: move |_| state.tab.set(Tab::Scan),
                    "去扫码"
                }
            }
        },
        ResultState::Checking => rsx! {
            section { class: "checking", "data-testid": "checking",
                div { class: "spinner" }
                p { "正在核验…" }
            }
        },
        ResultState::Shown {
            shown: Shown::Message { title, message },
            ..
        } => rsx! {
            section { class: "verdict lvl-info", "data-testid": "result-message",
                h1 { class: "title", "{title}" }
                p { class: "message", "{message}" }
            }
            Actions { text: None }
        },
        ResultState::Shown {
            shown: Shown::View(v),
            pending,
        } => rsx! {
            Verdict { view: *v, pending }
        },
    }
}

#[component]
fn Actions(text: Option<String>) -> Element {
    let mut state = use_context::<AppState>();
    rsx! {
        div { class: "actions",
            button {
                r#type: "button",
                class: "btn primary",
                "data-testid": "scan-again",
                onclick: move |_| state.tab.set(Tab::Scan),
                "继续扫码"
            }
            if let Some(text) = text {
                button {
                    r#type: "button",
                    class: "btn",
                    "data-testid": "recheck",
                    onclick: move |_| state.check(text.clone()),
                    "重新核验"
                }
            }
        }
    }
}

#[component]
fn Verdict(view: ResultView, pending: bool) -> Element {
    let v = view;
    let level = v.level.code();
    let source_text = match v.source {
        Source::Live => "实时状态（发证机关登记簿）",
        Source::Offline => "离线核验（本机信任列表与状态快照）",
    };
    rsx! {
        section {
            class: "result",
            "data-testid": "result",
            "data-level": level,
            "data-source": v.source.code(),
            "data-pending": if pending { Some("1") } else { None },
            div { class: "verdict lvl-{level}",
                VerdictIcon { level: v.level }
                h1 { class: "title", "data-testid": "verdict-title", "{v.title}" }
                p { class: "message", "data-testid": "verdict-message", "{v.message}" }
                if let Some(asof) = &v.status_as_of {
                    p { class: "as-of", "data-testid": "status-as-of", "{asof}" }
                }
                p { class: "source source-{v.source.code()}", "{source_text}" }
                if pending {
                    p { class: "pending", "正在联网获取实时状态…" }
                }
            }
            if let Some(n) = &v.notice {
                p { class: "notice", "data-testid": "result-notice", "{n}" }
            }
            if let Some(u) = &v.usage {
                div { class: "usage tone-{u.tone.code()}",
                    p { class: "purpose", "{u.headline}" }
                    p { class: "period", "{u.detail}" }
                }
            }
            if !v.enterprise_name.is_empty() {
                div { class: "card head",
                    span { class: "label", "企业名称" }
                    strong { class: "enterprise", "data-testid": "enterprise-name", "{v.enterprise_name}" }
                }
            }
            if !v.claims.is_empty() {
                div { class: "card", "data-testid": "claims",
                    h2 { "二维码签名内容" }
                    Rows { rows: v.claims.clone() }
                }
            }
            if let Some(quals) = &v.qualifications {
                details { class: "card", "data-testid": "qualifications",
                    summary { "资质详情（发证机关实时登记信息）" }
                    div { class: "details-body",
                        ul { class: "quals",
                            for q in quals.iter() {
                                li {
                                    span { "{q.text}" }
                                    span { class: "tag tag-{q.tone.code()}", "{q.status_name}" }
                                }
                            }
                        }
                        if !v.certificate.is_empty() {
                            h3 { "现行证书" }
                            Rows { rows: v.certificate.clone() }
                        }
                        if !v.changes.is_empty() {
                            h3 { "打印件之后的变更" }
                            ol { class: "changes",
                                for c in v.changes.iter() {
                                    li { "{c}" }
                                }
                            }
                        }
                    }
                }
            } else if !v.claims.is_empty() {
                p { class: "note", "资质详情需联网查看：联网后点“重新核验”。" }
            }
            if !v.warnings.is_empty() {
                div { class: "card", "data-testid": "warnings",
                    h2 { "核验提示" }
                    ul { class: "warnings",
                        for w in v.warnings.iter() {
                            li { "{w}" }
                        }
                    }
                }
            }
            p { class: "note", "核验时间：{v.checked_at}" }
            Actions { text: Some(v.text.clone()) }
        }
    }
}
