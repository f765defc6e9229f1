//! 设置: the server address, how old the trust list and the status snapshot are, 立即同步,
//! the pinned root key, and forgetting everything.

use dioxus::prelude::*;

use super::platform;
use super::state::{AppState, SyncState};
use crate::format;
use crate::sync::{PinState, Settings};

#[component]
pub fn SettingsScreen() -> Element {
    let state = use_context::<AppState>();
    let origin = platform::origin();
    let mut draft = use_signal(|| state.base_url());
    let mut saved_note = use_signal(String::new);
    // Re-render every 30 s so the ages stay true while the screen is open.
    let mut tick = use_signal(|| 0u32);
    use_future(move || async move {
        loop {
            platform::sleep(30_000).await;
            tick += 1;
        }
    });
    let _ = tick();

    let now = platform::now();
    let offset = platform::local_offset();
    let trust_age = match &*state.trust.read() {
        // The root vouches for a list only until its stated expiry; near it, say so, since
        // keys rotated after it will be unknown to this device until it syncs a newer list.
        Some(t) if t.list.is_expired(now) => format!(
            "{}；信任列表已于 {} 到期，请立即同步",
            format::updated(t.synced_at, now, offset),
            format::time(t.list.expires_at, offset)
        ),
        Some(t) if t.list.needs_renewal(now) => format!(
            "{}；信任列表将于 {} 到期，请联网同步",
            format::updated(t.synced_at, now, offset),
            format::time(t.list.expires_at, offset)
        ),
        Some(t) => format::updated(t.synced_at, now, offset),
        None => "尚未同步".to_owned(),
    };
    let snapshot_age = match &*state.status.read() {
        Some(s) => format!(
            "{}；{}",
            format::updated(s.synced_at, now, offset),
            format::status_as_of(s.cache.as_of, offset)
        ),
        None => "尚未同步".to_owned(),
    };
    let sync_text = match &*state.sync.read() {
        SyncState::Idle => String::new(),
        SyncState::Running => "正在同步…".to_owned(),
        SyncState::Done(t) => format!("同步成功（{}）", format::time(*t, offset)),
        SyncState::Failed(why) => format!("同步失败：{why}"),
    };
    let running = *state.sync.read() == SyncState::Running;
    let pin_text = match &*state.pin.read() {
        PinState::Pinned(p) | PinState::New(p) => format!("{}（已固定）", p.kid),
        PinState::Mismatch { pinned, page } => format!(
            "{}（已固定）。注意：当前页面提供的根密钥 {} 与本机固定的不一致，本机只信任已固定的密钥",
            pinned.kid, page.kid
        ),
        PinState::Missing => "未固定：请从核验服务器打开本应用".to_owned(),
    };

    let save = {
        let origin = origin.clone();
        move || {
            let typed = draft.peek().clone();
            match Settings::normalise_url(&typed) {
                Ok(url) => {
                    let url = if url.trim_end_matches('/') == origin {
                        String::new()
                    } else {
                        url
                    };
                    state.save_settings(Settings { server_url: url });
                    draft.set(state.base_url());
                    saved_note.set("已保存".to_owned());
                }
                Err(why) => saved_note.set(why.to_owned()),
            }
        }
    };

    rsx! {
        section { class: "settings",
            div { class: "card",
                h2 { "服务器地址" }
                form {
                    class: "url-form",
                    onsubmit: {
                        let mut save = save.clone();
                        move |e: FormEvent| {
                            e.prevent_default();
                            save();
                        }
                    },
                    input {
                        r#type: "url",
                        "data-testid": "server-url",
                        inputmode: "url",
                        autocomplete: "off",
                        placeholder: "{origin}",
                        value: "{draft}",
                        oninput: move |e| {
                            draft.set(e.value());
                            saved_note.set(String::new());
                        },
                        onchange: {
                            let mut save = save.clone();
                            move |_| save()
                        },
                    }
                    button { r#type: "submit", class: "btn", "data-testid": "server-save", "保存" }
                }
                if !saved_note().is_empty() {
                    p { class: "note", "data-testid": "server-note", "{saved_note}" }
                }
            }
            div { class: "card",
                div { class: "row",
                    span { class: "label", "信任列表" }
                    span { class: "value", "data-testid": "trust-list-age", "{trust_age}" }
                }
                div { class: "row",
                    span { class: "label", "状态快照" }
                    span { class: "value", "data-testid": "snapshot-age", "{snapshot_age}" }
                }
                div { class: "row",
                    span { class: "label", "根密钥" }
                    span { class: "value", "data-testid": "root-key", "{pin_text}" }
                }
                button {
                    r#type: "button",
                    class: "btn primary wide",
                    "data-testid": "sync-now",
                    disabled: running,
                    onclick: move |_| {
                        spawn(state.sync_now());
                    },
                    if running { "正在同步…" } else { "立即同步" }
                }
                p { class: "sync-status", "data-testid": "sync-status", role: "status", "{sync_text}" }
            }
            div { class: "card",
                p { class: "note",
                    "信任列表用于离线核验签名；状态快照用于离线判断证书是否已被撤销、注销或更新。联网时每次扫码都会查询实时状态。"
                }
                button {
                    r#type: "button",
                    class: "btn quiet-danger wide",
                    "data-testid": "reset",
                    onclick: move |_| {
                        if platform::confirm("清除本机保存的信任列表、状态快照、设置和扫码记录？") {
                            state.reset();
                            draft.set(state.base_url());
                        }
                    },
                    "清除本机数据"
                }
            }
        }
    }
}
