//! 记录: scans kept on the device, newest first; tap one to verify it again; 清空记录 asks
//! once more before it deletes.

use dioxus::prelude::*;

use super::platform;
use super::state::AppState;
use crate::format;
use crate::view::Source;

#[component]
pub fn HistoryScreen() -> Element {
    let state = use_context::<AppState>();
    let mut confirming = use_signal(|| false);
    let offset = platform::local_offset();
    let history = state.history.read().clone();
    rsx! {
        section { class: "history",
            if history.entries.is_empty() {
                p { class: "empty-note", "暂无扫码记录" }
            }
            ul { class: "list", "data-testid": "history-list",
                for e in history.entries.into_iter() {
                    li {
                        class: "item",
                        "data-testid": "history-item",
                        "data-level": e.level.code(),
                        onclick: {
                            let text = e.text.clone();
                            move |_| state.check(text.clone())
                        },
                        div { class: "item-main",
                            strong {
                                if e.enterprise_name.is_empty() {
                                    "（签名未通过，内容不可信）"
                                } else {
                                    "{e.enterprise_name}"
                                }
                            }
                            span { class: "tag tag-{e.level.code()}", "{e.title}" }
                        }
                        div { class: "item-sub",
                            span { "{e.certificate_number}" }
                            span { {format::time(e.at, offset)} }
                            span {
                                if e.source == Source::Live { "实时" } else { "离线" }
                            }
                        }
                    }
                }
            }
            if !state.history.read().entries.is_empty() {
                if confirming() {
                    div { class: "confirm", role: "alertdialog",
                        p { "确定清空全部 {state.history.read().entries.len()} 条扫码记录？此操作不可恢复。" }
                        div { class: "actions",
                            button {
                                r#type: "button",
                                class: "btn danger",
                                "data-testid": "history-clear-confirm",
                                onclick: move |_| {
                                    state.clear_history();
                                    confirming.set(false);
                                },
                                "清空"
                            }
                            button {
                                r#type: "button",
                                class: "btn",
                                onclick: move |_| confirming.set(false),
                                "取消"
                            }
                        }
                    }
                } else {
                    div { class: "actions",
                        button {
                            r#type: "button",
                            class: "btn",
                            "data-testid": "history-clear",
                            onclick: move |_| confirming.set(true),
                            "清空记录"
                        }
                    }
                }
            }
        }
    }
}
