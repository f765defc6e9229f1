//! The verdict icons (the H5 pages' circles) and the tab icons, as inline SVG.

use dioxus::prelude::*;
use zizhi_shared::verdict::Level;

#[component]
pub fn VerdictIcon(level: Level) -> Element {
    let (fill, mark) = match level {
        Level::Valid => ("#07C160", "M17 33.5l10 10 20-21"),
        Level::Caution => ("#FA9D3B", "M32 16v20M32 46v1"),
        Level::Invalid => ("#FA5151", "M21 21l22 22M43 21L21 43"),
    };
    rsx! {
        svg {
            class: "verdict-icon",
            view_box: "0 0 64 64",
            width: "72",
            height: "72",
            "aria-hidden": "true",
            circle { cx: "32", cy: "32", r: "32", fill }
            path {
                d: mark,
                fill: "none",
                stroke: "#fff",
                stroke_width: "5",
                stroke_linecap: "round",
                stroke_linejoin: "round",
            }
        }
    }
}

/// One stroke path per tab, drawn at 24 px.
pub fn tab_path(name: &str) -> &'static str {
    match name {
        "scan" => {
            "M4 8V5a1 1 0 0 1 1-1h3M16 4h3a1 1 0 0 1 1 1v3M20 16v3a1 1 0 0 1-1 1h-3M8 20H5a1 1 0 0 1-1-1v-3M4 12h16"
        }
        "result" => "M5 12.5l4.5 4.5L19 7.5",
        "history" => "M12 7v5l3 2M3.5 12a8.5 8.5 0 1 0 2.5-6M3 4v4h4",
        _ => {
            "M12 9.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM4 12h2M18 12h2M12 4v2M12 18v2M6.3 6.3l1.4 1.4M16.3 16.3l1.4 1.4M6.3 17.7l1.4-1.4M16.3 7.7l1.4-1.4"
        }
    }
}

#[component]
pub fn TabIcon(name: &'static str) -> Element {
    rsx! {
        svg {
            view_box: "0 0 24 24",
            width: "24",
            height: "24",
            "aria-hidden": "true",
            path {
                d: tab_path(name),
                fill: "none",
                stroke: "currentColor",
                stroke_width: "2",
                stroke_linecap: "round",
                stroke_linejoin: "round",
            }
        }
    }
}
