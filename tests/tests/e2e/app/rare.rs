//! 生僻字 in the app: a demo enterprise whose name has an Extension B character
//! (上海喆堃𠀀𬌗建设工程有限公司, legal representative 沈䶮) shown on 结果, online and after going
//! offline, and every character drawn by a real font — the rare ones by the app's web font
//! `zizhi-rare` (fetched from the server for the names on screen, or at the sync for the whole
//! register), none by a last-resort font. Chromium is asked through DevTools
//! (`CSS.getPlatformFontsForNode`), as the H5 pages' test asks it. The code is scanned as a
//! photo (a clean PNG of it): what is tested is the name, not the camera.

use serde_json::{Value, json};
use zizhi_shared::rare::rare_chars;

use super::{demo_app, drive};

const NUMBER: &str = "D231090517";
const NAME: &str = "上海喆堃\u{20000}\u{2C317}建设工程有限公司";
const LEGAL: &str = "沈\u{4DAE}";

/// Every rare character of the text drawn by a web font, the rest by the phone's fonts, and
/// no glyph by a last-resort font.
fn assert_drawn_by_real_fonts(t: &Value, what: &str) {
    assert_eq!(t["found"], true, "{what}: the text is not on 结果: {t}");
    let shown = t["element_text"].as_str().unwrap();
    let rare = rare_chars(shown);
    assert!(!rare.is_empty(), "{what}: {t}");
    let rare_count = shown.chars().filter(|c| rare.contains(c)).count() as u64;
    let fonts = t["fonts"].as_array().unwrap();
    // A web font is named by its own name table (HanaMinA, …), not by its CSS family; the
    // app's are the only web fonts of the page.
    for f in fonts {
        let family = f["familyName"].as_str().unwrap_or_default();
        let squashed = family.to_ascii_lowercase().replace([' ', '-'], "");
        assert!(!squashed.contains("lastresort"), "{what}: {t}");
    }
    let glyphs = |custom: bool| -> u64 {
        fonts
            .iter()
            .filter(|f| f["isCustomFont"] == custom)
            .map(|f| f["glyphCount"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(glyphs(true), rare_count, "{what}: {t}");
    let visible = shown.chars().filter(|c| !c.is_whitespace()).count() as u64;
    assert!(glyphs(true) + glyphs(false) >= visible, "{what}: {t}");
}

#[tokio::test]
async fn the_app_draws_rare_characters_of_names_with_its_web_font_online_and_offline() {
    let (env, app, _summary) = demo_app().await;
    let copy = zizhi_tests::usage_copy(&app, NUMBER, "闵行区某住宅项目施工投标").await;
    let qr_text = copy["qr_text"].as_str().expect("qr_text");
    let photo = env.dir.path().join("rare-code.png");
    std::fs::write(&photo, zizhi_shared::render::png(qr_text, 8).unwrap()).unwrap();

    let steps = vec![
        // Online: the fonts of the names on screen come from the server with the verdict.
        json!({ "op": "launch", "b": "online", "camera": false }),
        json!({ "op": "open", "b": "online", "name": "online-open" }),
        json!({ "op": "photo", "b": "online", "file": photo }),
        json!({ "op": "result", "b": "online", "name": "online", "source": "live",
                "details": true }),
        json!({ "op": "fonts", "b": "online", "name": "online-fonts", "texts": [NAME, LEGAL],
                "shot": "app-rare-online" }),
        json!({ "op": "close", "b": "online" }),
        // Offline: nothing scanned while online; the sync fetched the register's fonts.
        json!({ "op": "launch", "b": "offline", "camera": false }),
        json!({ "op": "open", "b": "offline", "name": "offline-open" }),
        json!({ "op": "sync", "b": "offline", "name": "offline-sync" }),
        json!({ "op": "worker", "b": "offline", "name": "offline-worker" }),
        json!({ "op": "stop_server", "name": "stop" }),
        json!({ "op": "reload", "b": "offline", "name": "offline-reload" }),
        json!({ "op": "photo", "b": "offline", "file": photo }),
        json!({ "op": "result", "b": "offline", "name": "offline", "source": "offline" }),
        json!({ "op": "fonts", "b": "offline", "name": "offline-fonts", "texts": [NAME],
                "shot": "app-rare-offline" }),
        json!({ "op": "close", "b": "offline" }),
    ];
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;

    let online = seen.named("online");
    assert_eq!(online["found"], true, "{online}");
    assert_eq!(online["source"], "live", "{online}");
    assert_eq!(online["enterprise"], NAME, "{online}");
    let fonts = seen.named("online-fonts");
    for (t, what) in fonts["texts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["名称", "法定代表人"])
    {
        assert_drawn_by_real_fonts(t, &format!("online {what}"));
    }

    assert_eq!(seen.named("offline-sync")["synced"], true);
    assert_eq!(seen.named("offline-worker")["active"], true);
    assert_eq!(seen.named("offline-reload")["mounted"], true);
    let offline = seen.named("offline");
    assert_eq!(offline["found"], true, "{offline}");
    assert_eq!(offline["source"], "offline", "{offline}");
    assert_eq!(offline["enterprise"], NAME, "{offline}");
    let fonts = seen.named("offline-fonts");
    assert_drawn_by_real_fonts(&fonts["texts"][0], "offline 名称");
    seen.assert_no_page_errors();
    env.finish().await;
}
