//! In a basement: the app synced the trust list and status snapshot while the server was
//! reachable; then the server is gone, the page is reloaded (the service worker serves the
//! app) and a scan still gives the signature verdict with "状态截至 <sync time>" — and a
//! revoked copy still says revoked, never 真实有效.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Value, json};

use super::{case, demo_app, drive, video_of};

/// Every "YYYY-MM-DD HH:MM" (Beijing) from `from` to `to`.
fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let cst = FixedOffset::east_opt(8 * 3600).unwrap();
    let mut t = from - Duration::seconds(60);
    let mut out = Vec::new();
    while t <= to + Duration::seconds(60) {
        out.push(t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string());
        t += Duration::seconds(60);
    }
    out.dedup();
    out
}

fn assert_status_as_of(r: &Value, minutes: &[String]) {
    let as_of = r["status_as_of"].as_str().unwrap_or_default();
    assert!(as_of.contains("状态截至"), "{r}");
    assert!(
        minutes.iter().any(|m| as_of.contains(m.as_str())),
        "\"{as_of}\" is not a time of the sync ({minutes:?})"
    );
}

#[tokio::test]
async fn offline_scans_after_a_sync_show_the_signature_and_the_status_as_of_the_sync() {
    let (env, app, summary) = demo_app().await;
    let usage = video_of(&env, &summary, "current_usage");
    let revoked = video_of(&env, &summary, "revoked");
    let mut steps = Vec::new();
    for (b, video) in [("usage", &usage), ("revoked", &revoked)] {
        steps.extend([
            json!({ "op": "launch", "b": b, "video": video }),
            json!({ "op": "open", "b": b, "name": format!("{b}-open") }),
            json!({ "op": "result", "b": b, "name": format!("{b}-live"), "source": "live" }),
            json!({ "op": "sync", "b": b, "name": format!("{b}-sync"),
                    "shot": (b == "usage").then_some("app-settings-synced") }),
            json!({ "op": "worker", "b": b, "name": format!("{b}-worker") }),
        ]);
    }
    steps.push(json!({ "op": "stop_server", "name": "stop" }));
    for (b, shot) in [
        ("usage", "app-result-offline-valid"),
        ("revoked", "app-result-offline-revoked"),
    ] {
        steps.extend([
            json!({ "op": "reload", "b": b, "name": format!("{b}-reload") }),
            json!({ "op": "result", "b": b, "name": format!("{b}-offline"), "source": "offline",
                    "shot": shot }),
            json!({ "op": "close", "b": b }),
        ]);
    }
    let synced_from = Utc::now();
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;
    assert!(app.is_none(), "the server was stopped");
    let stopped_at = seen
        .stopped_at
        .expect("the browser asked to stop the server");
    let minutes = minutes_between(synced_from, stopped_at);

    for b in ["usage", "revoked"] {
        let live = seen.named(&format!("{b}-live"));
        assert_eq!(live["source"], "live", "{b}: {live}");
        let sync = seen.named(&format!("{b}-sync"));
        assert_eq!(sync["synced"], true, "{b}: the app did not sync: {sync}");
        let worker = seen.named(&format!("{b}-worker"));
        assert_eq!(worker["active"], true, "{b}: no service worker: {worker}");
        let cached: Vec<&str> = worker["cached"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // The build names them by content hash: zizhi_app.<hash>.js, zizhi_app_bg.<hash>.wasm.
        for (stem, ext) in [("zizhi_app.", ".js"), ("zizhi_app_bg.", ".wasm")] {
            assert!(
                cached.iter().any(|c| {
                    let name = c.rsplit('/').next().unwrap_or(c);
                    name.starts_with(stem) && name.ends_with(ext)
                }),
                "{b}: the worker did not cache {stem}*{ext}: {cached:?}"
            );
        }
        let reload = seen.named(&format!("{b}-reload"));
        assert_eq!(
            reload["mounted"], true,
            "{b}: the app did not start with the server down: {reload}"
        );
    }
    assert_eq!(seen.named("usage-live")["level"], "valid");
    assert_eq!(seen.named("revoked-live")["level"], "invalid");

    // Current copy: the signature is checked on the phone and the snapshot says current.
    let usage = seen.named("usage-offline");
    assert_eq!(usage["found"], true, "no result offline: {usage}");
    assert_eq!(usage["source"], "offline", "{usage}");
    assert_eq!(usage["level"], "valid", "{usage}");
    assert_eq!(usage["title"], "真实有效", "{usage}");
    // The signature verdict: genuine, checked on the phone against the cached trust list.
    assert!(
        usage["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("证书真实"),
        "the signature verdict is shown: {usage}"
    );
    assert_status_as_of(usage, &minutes);
    let number = case(&summary, "current_usage")
        .certificate_number
        .to_string();
    assert!(
        usage["claims"]
            .as_str()
            .unwrap_or_default()
            .contains(&number),
        "{usage}"
    );

    // Revoked copy: the snapshot synced before the basement says revoked.
    let revoked = seen.named("revoked-offline");
    assert_eq!(revoked["found"], true, "no result offline: {revoked}");
    assert_eq!(revoked["source"], "offline", "{revoked}");
    assert_eq!(revoked["level"], "invalid", "{revoked}");
    assert_eq!(revoked["title"], "无效或已失效", "{revoked}");
    assert!(
        !revoked["text"]
            .as_str()
            .unwrap_or_default()
            .contains("真实有效"),
        "{revoked}"
    );
    assert_status_as_of(revoked, &minutes);
    // Its signed claims are shown: the signature held (a forged code shows none).
    let number = case(&summary, "revoked").certificate_number.to_string();
    assert!(
        revoked["claims"]
            .as_str()
            .unwrap_or_default()
            .contains(&number),
        "{revoked}"
    );
    seen.assert_no_page_errors();
    env.finish().await;
}
