//! The shell: top bar, the current screen, the tab bar (扫码 · 结果 · 记录 · 设置).

use dioxus::prelude::*;

use super::history::HistoryScreen;
use super::icons::TabIcon;
use super::platform;
use super::result::ResultScreen;
use super::scan::ScanScreen;
use super::settings::SettingsScreen;
use super::state::{AppState, Tab};

const TABS: [(Tab, &str, &str); 4] = [
    (Tab::Scan, "scan", "扫码"),
    (Tab::Result, "result", "结果"),
    (Tab::History, "history", "记录"),
    (Tab::Settings, "settings", "设置"),
];

#[component]
pub fn App() -> Element {
    let mut state = use_context_provider(AppState::load);
    use_hook(move || {
        // Sync on start when there is a network and a pinned key; a failure shows on 设置.
        if platform::online() && state.pin.peek().pin().is_some() {
            spawn(state.sync_now());
        }
    });
    use_effect(platform::mark_ready);
    let tab = *state.tab.read();
    rsx! {
        div { class: "app",
            header { class: "topbar", "资质证书扫码核验" }
            main { class: "screen",
                match tab {
                    Tab::Scan => rsx! { ScanScreen {} },
                    Tab::Result => rsx! { ResultScreen {} },
                    Tab::History => rsx! { HistoryScreen {} },
                    Tab::Settings => rsx! { SettingsScreen {} },
                }
            }
            nav { class: "tabbar",
                for (t , name , label) in TABS {
                    button {
                        key: "{name}",
                        r#type: "button",
                        class: if t == tab { "tab active" } else { "tab" },
                        "data-testid": "tab-{name}",
                        "aria-current": if t == tab { "page" } else { "false" },
                        onclick: move |_| state.tab.set(t),
                        TabIcon { name }
                        span { "{label}" }
                    }
                }
            }
        }
    }
}
