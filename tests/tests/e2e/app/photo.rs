//! No usable camera picture: the inspector picks a photo instead (`input type=file`), and the
//! screens around it — 扫码 with its camera view, 记录, 设置 — at a phone's width.

use serde_json::{Value, json};

use super::{case, demo_app, drive, photo_of, video_without_code};

#[tokio::test]
async fn photos_chosen_through_the_file_input_are_verified_and_kept_in_the_history() {
    let (env, app, summary) = demo_app().await;
    let usage = photo_of(&env, &summary, "current_usage");
    let approval = photo_of(&env, &summary, "approval");
    // The camera sees the certificate's text but not its code: the scan screen stays.
    let text = video_without_code(&env, &summary, "current_usage");
    let steps = vec![
        json!({ "op": "launch", "b": "phone", "video": text }),
        json!({ "op": "open", "b": "phone", "name": "open" }),
        json!({ "op": "scan_screen", "b": "phone", "name": "scan", "shot": "app-scan" }),
        json!({ "op": "photo", "b": "phone", "file": usage }),
        json!({ "op": "result", "b": "phone", "name": "usage", "source": "live",
                "details": true, "shot": "app-result-photo-valid" }),
        json!({ "op": "photo", "b": "phone", "file": approval }),
        json!({ "op": "result", "b": "phone", "name": "approval", "source": "live" }),
        json!({ "op": "tab", "b": "phone", "tab": "history", "name": "history",
                "shot": "app-history" }),
        json!({ "op": "tab", "b": "phone", "tab": "settings", "name": "settings",
                "shot": "app-settings" }),
        json!({ "op": "clear_history", "b": "phone", "name": "cleared",
                "shot": "app-history-clear" }),
        json!({ "op": "close", "b": "phone" }),
    ];
    let base = app.url("");
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;
    let app = app.expect("still running");

    let scan = seen.named("scan");
    assert_eq!(scan["has_video"], true, "{scan}");
    assert_eq!(
        scan["playing"], true,
        "the camera view does not play: {scan}"
    );
    assert_eq!(scan["has_photo_input"], true, "{scan}");
    assert_eq!(scan["photo_accept"], "image/*", "{scan}");
    assert_eq!(scan["photo_capture"], "environment", "{scan}");
    assert_eq!(scan["past_edge"], json!([]), "{scan}");
    assert_eq!(
        scan["result_shown"], false,
        "no code in view, no result: {scan}"
    );
    assert!(
        scan["scan_status"].as_str().is_some_and(|s| !s.is_empty()),
        "{scan}"
    );
    // Frames keep being decoded while nothing is found; the figure is for the notes.
    let decode_ms = scan["decode_ms"]
        .as_str()
        .and_then(|s| s.parse::<u32>().ok());
    assert!(decode_ms.is_some(), "no frame was decoded: {scan}");
    eprintln!(
        "wasm decode of one {}×{} camera frame without a code: {} ms",
        scan["video_size"][0],
        scan["video_size"][1],
        decode_ms.unwrap_or_default()
    );

    let mut names = Vec::new();
    for (step, name, level) in [
        ("usage", "current_usage", "valid"),
        ("approval", "approval", "caution"),
    ] {
        let r = seen.named(step);
        assert_eq!(r["found"], true, "{name}: the photo gave no result: {r}");
        assert_eq!(r["source"], "live", "{r}");
        assert_eq!(r["level"], level, "{name}: {r}");
        let (_, v) = app.verify(&case(&summary, name).qr_text).await;
        assert_eq!(r["title"], v["summary"]["title"], "{name}: {r}");
        assert_eq!(
            r["enterprise"], v["claims"]["enterprise_name"],
            "{name}: {r}"
        );
        assert_eq!(r["past_edge"], json!([]), "{name}: {r}");
        names.push(v["claims"]["enterprise_name"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.named("usage")["qualifications_open"], true);

    let history = seen.named("history");
    let items: Vec<&str> = history["items"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(items.len(), 2, "two scans, two entries: {history}");
    for name in &names {
        assert!(
            items.iter().any(|i| i.contains(name.as_str())),
            "{name} not in the history: {items:?}"
        );
    }
    assert_eq!(history["past_edge"], json!([]), "{history}");

    let settings = seen.named("settings");
    let url = settings["server_url"].as_str().unwrap_or_default();
    assert!(
        url.is_empty() || base.starts_with(url.trim_end_matches('/')),
        "the app talks to the server it came from by default: {settings}"
    );
    assert!(
        settings["trust_list_age"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{settings}"
    );
    assert_eq!(settings["past_edge"], json!([]), "{settings}");

    let cleared = seen.named("cleared");
    assert_eq!(cleared["before"], 2, "{cleared}");
    assert_eq!(cleared["after"], 0, "{cleared}");
    assert_eq!(cleared["after_reload"], 0, "cleared for good: {cleared}");
    seen.assert_no_page_errors();
    app.stop().await;
    env.finish().await;
}
