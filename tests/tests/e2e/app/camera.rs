//! Scanning printed copies with the phone's camera, online: the app finds the code in the
//! video and shows the server's verdict and the live 资质详情.

use serde_json::{Value, json};

use super::{CAMERA_CASES, case, demo_app, drive, video_of};

/// Screenshot name of each case's result screen.
fn shot(name: &str) -> String {
    let level = match name {
        "current_usage" => "valid",
        "approval" => "caution",
        "revoked" => "invalid-revoked",
        "forged" => "invalid-forged",
        other => other,
    };
    format!("app-result-{level}")
}

#[tokio::test]
async fn camera_scans_of_printed_copies_show_the_servers_verdict_and_details() {
    let (env, app, summary) = demo_app().await;
    let mut steps = Vec::new();
    for name in CAMERA_CASES {
        let video = video_of(&env, &summary, name);
        steps.extend([
            json!({ "op": "launch", "b": name, "video": video }),
            json!({ "op": "open", "b": name, "name": format!("open-{name}") }),
            json!({ "op": "result", "b": name, "name": name, "source": "live", "details": true,
                    "shot": shot(name) }),
            json!({ "op": "close", "b": name }),
        ]);
    }
    let root_key = hex_key(&app);
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;
    let app = app.expect("still running");

    for name in CAMERA_CASES {
        let opened = seen.named(&format!("open-{name}"));
        assert_eq!(opened["status"], 200, "{opened}");
        assert_eq!(opened["mounted"], true, "the app did not mount: {opened}");
        assert_eq!(opened["root_key"], root_key.as_str(), "{opened}");
        assert_eq!(opened["root_kid"], "RT01", "{opened}");

        let r = seen.named(name);
        assert_eq!(r["found"], true, "{name}: no result from the camera: {r}");
        let (status, v) = app.verify(&case(&summary, name).qr_text).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(r["source"], "live", "{name}: {r}");
        assert_eq!(
            r["status_as_of"],
            Value::Null,
            "live needs no 状态截至: {r}"
        );
        assert_eq!(
            r["past_edge"],
            json!([]),
            "{name}: wider than the phone: {r}"
        );
        assert_eq!(r["level"], v["summary"]["level"], "{name}: {r}");
        assert_eq!(r["title"], v["summary"]["title"], "{name}: {r}");
        let message = r["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(v["summary"]["message"].as_str().unwrap()),
            "{name}: the app says {message:?}, the server {}",
            v["summary"]["message"]
        );
        let number = case(&summary, name).certificate_number.to_string();
        check_claims_and_details(name, r, &v, &number);
    }
    let titles: Vec<&Value> = CAMERA_CASES
        .iter()
        .map(|n| &seen.named(n)["title"])
        .collect();
    assert_eq!(
        titles,
        [
            &json!("真实有效"),
            &json!("注意"),
            &json!("无效或已失效"),
            &json!("无效或已失效")
        ]
    );
    let forged = seen.named("forged");
    assert!(
        forged["message"]
            .as_str()
            .unwrap_or_default()
            .contains("签名"),
        "a forged code is refused for its signature: {forged}"
    );
    seen.assert_no_page_errors();
    app.stop().await;
    env.finish().await;
}

fn hex_key(app: &zizhi_tests::TestApp) -> String {
    app.server.state.keys.current().root().public_key.clone()
}

/// Genuine codes show what they claim and, live, every qualification of the certificate;
/// a forged code shows neither.
fn check_claims_and_details(name: &str, r: &Value, v: &Value, number: &str) {
    if v["claims"].is_null() {
        // What a forged code claims (here a genuine copy's number) is not shown as fact.
        assert_eq!(r["has_qualifications"], false, "{name}: {r}");
        let claims = r["claims"].as_str().unwrap_or_default();
        assert!(
            !claims.contains(number),
            "{name} shows forged claims: {claims}"
        );
        assert!(
            !r["text"].as_str().unwrap_or_default().contains("真实有效"),
            "{name}: {r}"
        );
        return;
    }
    let claims = r["claims"].as_str().unwrap_or_default();
    assert!(claims.contains(number), "{name}: {claims}");
    if let Some(purpose) = v["claims"]["usage"]["purpose"].as_str() {
        assert!(claims.contains(purpose), "{name}: {claims}");
    }
    assert_eq!(
        r["enterprise"], v["claims"]["enterprise_name"],
        "{name}: {r}"
    );
    assert_eq!(r["has_qualifications"], true, "{name}: no 资质详情: {r}");
    assert_eq!(
        r["qualifications_open"], true,
        "{name}: 资质详情 did not open"
    );
    let shown = r["qualifications"].as_str().unwrap_or_default();
    for q in v["qualifications"].as_array().unwrap() {
        let item = q["item"].as_str().unwrap();
        assert!(shown.contains(item), "{name}: {item} missing from {shown}");
    }
}
