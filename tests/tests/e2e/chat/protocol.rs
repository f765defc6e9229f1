//! The protocol's gates: URL check, signatures, timestamps, AppID, body size and shape.

use serde_json::{Value, json};
use zizhi_tests::{Backend, TestApp, TestEnv};

use super::{FOLLOWER, msg_id, peer, peer_by_mode, plain_twin, post, text, with_chat};

async fn chat_app() -> (TestEnv, TestApp) {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(with_chat(env.settings())).await;
    (env, app)
}

async fn chat_apps() -> (TestEnv, TestApp, TestApp) {
    let (env, safe) = chat_app().await;
    let plain = plain_twin(&env, &safe).await;
    (env, safe, plain)
}

#[tokio::test]
async fn url_check_echoes_echostr_only_when_the_signature_matches() {
    let (env, app) = chat_app().await;
    let r = peer(
        &app,
        vec![
            json!({ "op": "get", "echostr": "8264310987654321" }),
            json!({ "op": "get", "echostr": "8264310987654321", "tamper": "signature" }),
            json!({ "op": "get", "echostr": "8264310987654321", "tamper": "timestamp" }),
        ],
    )
    .await;
    assert_eq!(r[0]["status"], 200, "{}", r[0]);
    assert_eq!(r[0]["body"], "8264310987654321");
    assert_eq!(r[1]["status"], 403, "{}", r[1]);
    assert!(!r[1]["body"].as_str().unwrap().contains("8264310987654321"));
    assert_eq!(r[2]["status"], 403, "{}", r[2]);

    // Without the platform's parameters the refusal names what is missing.
    let res = app.client.get(app.url("/wechat")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "missing_parameter", "{body}");
    assert!(body["message"].as_str().unwrap().contains("signature"));
    app.stop().await;
    env.finish().await;
}

fn error_code(result: &Value) -> String {
    serde_json::from_str::<Value>(result["body"].as_str().unwrap_or("null"))
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test]
async fn deliveries_with_a_bad_signature_a_stale_timestamp_or_another_app_id_are_refused() {
    let (env, app, plain) = chat_apps().await;
    let msg = || text("D231000037", msg_id());
    let mut steps = Vec::new();
    for mode in ["plain", "aes"] {
        for tamper in ["signature", "timestamp"] {
            let mut s = post(mode, msg());
            s["tamper"] = json!(tamper);
            steps.push(s);
        }
    }
    let mut s = post("aes", msg());
    s["tamper"] = json!("msg_signature");
    steps.push(s);
    let mut s = post("aes", msg());
    s["tamper"] = json!("app_id");
    steps.push(s);
    let r = peer_by_mode(&app, &plain, steps).await;
    let expected = [
        "bad_signature",
        "stale_timestamp",
        "bad_signature",
        "stale_timestamp",
        "bad_msg_signature",
        "wrong_app_id",
    ];
    for (res, code) in r.iter().zip(expected) {
        assert_eq!(res["status"], 403, "{res}");
        assert_eq!(error_code(res), code, "{res}");
    }
    // Nothing refused was answered or recorded.
    use sqlx::Row;
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM chat_requests")
        .fetch_one(app.server.state.store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    plain.stop().await;
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_with_a_clear_status() {
    let (env, app, plain) = chat_apps().await;
    let raw = |mode: &str, body: String| json!({ "op": "post", "mode": mode, "raw_body": body });
    let huge = format!(
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>{FOLLOWER}</FromUserName>\
         <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>{}</Content>\
         <MsgId>1</MsgId></xml>",
        "资".repeat(8000)
    );
    let r = peer_by_mode(
        &app,
        &plain,
        vec![
            raw("plain", "this is not xml".into()),
            raw("plain", "<xml><ToUserName>gh_1</ToUserName>".into()),
            raw("plain", "<xml><ToUserName>gh_1</ToUserName></xml>".into()),
            raw(
                "plain",
                format!(
                    "<xml><ToUserName>gh_1</ToUserName><FromUserName>{FOLLOWER}</FromUserName>\
                     <CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>"
                ),
            ),
            raw(
                "plain",
                "<!DOCTYPE xml [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml>&e;</xml>".into(),
            ),
            raw("plain", huge),
            raw(
                "aes",
                "<xml><Encrypt><![CDATA[%%%]]></Encrypt></xml>".into(),
            ),
            raw("aes", "<xml><ToUserName>gh_1</ToUserName></xml>".into()),
        ],
    )
    .await;
    let expected = [
        (400, "malformed_xml"),
        (400, "malformed_xml"),
        (400, "missing_field"),
        (400, "invalid_field"),
        (400, "malformed_xml"),
        (413, "body_too_large"),
        // The envelope's msg_signature is checked before anything is decrypted.
        (403, "bad_msg_signature"),
        (400, "missing_field"),
    ];
    for (res, (status, code)) in r.iter().zip(expected) {
        assert_eq!(res["status"], status, "{res}");
        assert_eq!(error_code(res), code, "{res}");
        let body: Value = serde_json::from_str(res["body"].as_str().unwrap()).unwrap();
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    plain.stop().await;
    app.stop().await;
    env.finish().await;
}

async fn recorded(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) FROM chat_requests")
        .fetch_one(app.server.state.store.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn with_safe_mode_on_a_plaintext_delivery_is_refused_even_correctly_signed() {
    let (env, app) = chat_app().await;
    // The query's signature is right, but it covers no body: anyone holding one captured
    // URL could post any message under it.
    let r = peer(&app, vec![post("plain", text("帮助", msg_id()))]).await;
    assert_eq!(r[0]["status"], 403, "{}", r[0]);
    assert_eq!(error_code(&r[0]), "plaintext_refused");
    let body: Value = serde_json::from_str(r[0]["body"].as_str().unwrap()).unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("安全模式"),
        "{body}"
    );
    assert_eq!(recorded(&app).await, 0);
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn a_replayed_signed_call_is_refused_within_the_five_minutes() {
    let (env, app, plain) = chat_apps().await;
    let mut safe_replay = post("aes", text("帮助", msg_id()));
    safe_replay["repeat"] = json!(3);
    let mut plain_replay = post("plain", text("帮助", msg_id()));
    plain_replay["repeat"] = json!(2);
    // In plaintext mode the body is not signed: a captured URL with a message of the
    // attacker's choosing.
    let mut other_body = post("plain", text("建设", msg_id()));
    other_body["replay_message"] = text("资质查询", msg_id());
    let r = peer_by_mode(&app, &plain, vec![safe_replay, plain_replay, other_body]).await;
    for (i, step) in r.iter().enumerate() {
        let copies = step["copies"].as_array().unwrap();
        assert_eq!(copies[0]["status"], 200, "step {i}: {step}");
        assert!(copies[0]["reply"].is_object(), "step {i}: {step}");
        for replay in &copies[1..] {
            assert_eq!(replay["status"], 403, "step {i}: {replay}");
            assert_eq!(error_code(replay), "replayed_request", "step {i}");
        }
    }
    // Each first call was answered and recorded once; no replay was.
    assert_eq!(recorded(&app).await, 3);
    plain.stop().await;
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn an_endpoint_without_a_token_says_it_is_not_configured() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let res = app
        .client
        .get(app.url("/wechat?signature=0&timestamp=1&nonce=2&echostr=3"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "chat_not_configured", "{body}");
    app.stop().await;
    env.finish().await;
}
