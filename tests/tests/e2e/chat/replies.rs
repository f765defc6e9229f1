//! What followers are told: every demo case scanned from the menu or pasted, lookups by number,
//! credit code and name, help, welcome and the menu's own keys, in plain and safe mode.

use serde_json::{Value, json};
use zizhi_tests::{Backend, on_both_backends};

use super::{FOLLOWER, case, demo_app, msg_id, peer, peer_by_mode, plain_twin, post, scan, text};

const CASES: &[&str] = &[
    "current_usage",
    "approval",
    "superseded",
    "revoked",
    "cancelled",
    "expired_period",
    "not_started",
    "withdrawn",
    "expired_certificate",
    "forged",
    "unknown_key",
];

fn article(r: &Value) -> &Value {
    assert_eq!(r["status"], 200, "{r}");
    assert!(r.get("reply_error").is_none(), "{r}");
    let reply = &r["reply"];
    assert_eq!(reply["MsgType"], "news", "{r}");
    assert_eq!(reply["ArticleCount"], "1", "{r}");
    assert_eq!(reply["ToUserName"], FOLLOWER, "{r}");
    &reply["Articles"][0]
}

fn content(r: &Value) -> &str {
    assert_eq!(r["status"], 200, "{r}");
    assert!(r.get("reply_error").is_none(), "{r}");
    assert_eq!(r["reply"]["MsgType"], "text", "{r}");
    r["reply"]["Content"].as_str().unwrap()
}

async fn every_demo_case_scanned_from_the_menu_gets_the_apis_verdict_and_a_details_link(
    backend: Backend,
) {
    let (env, app, summary) = demo_app(backend).await;
    let plain = plain_twin(&env, &app).await;
    let mut steps = Vec::new();
    for mode in ["plain", "aes"] {
        for name in CASES {
            steps.push(post(mode, scan(case(&summary, name))));
        }
    }
    let results = peer_by_mode(&app, &plain, steps).await;
    let mut latencies = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let name = CASES[i % CASES.len()];
        let qr = case(&summary, name);
        let (status, v) = app.verify(qr).await;
        assert_eq!(status, 200, "{name}: {v}");
        let a = article(r);
        let title = a["Title"].as_str().unwrap();
        let expected = format!("【{}】", v["summary"]["title"].as_str().unwrap());
        assert!(title.starts_with(&expected), "{name}: {title} vs {v}");
        let description = a["Description"].as_str().unwrap();
        assert!(
            description.contains(v["summary"]["message"].as_str().unwrap()),
            "{name}: {description} vs {v}"
        );
        if let Some(n) = v["claims"]["enterprise_name"].as_str() {
            assert!(title.contains(n), "{name}: {title}");
        }
        // 详情 opens the H5 page of exactly this code, which shows the same verdict.
        let url = a["Url"].as_str().unwrap();
        let code = qr.rsplit('/').next().unwrap();
        assert_eq!(url, app.url(&format!("/v/{code}")), "{name}");
        let page = app.client.get(url).send().await.unwrap();
        assert_eq!(page.status(), 200, "{name}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains(v["summary"]["title"].as_str().unwrap()),
            "{name}"
        );
        latencies.push(r["elapsed_ms"].as_f64().unwrap());
    }
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "scancode_waitmsg reply latency over {} deliveries ({backend:?}): median {:.1} ms, max {:.1} ms",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    assert!(latencies[latencies.len() - 1] < 4500.0, "{latencies:?}");
    plain.stop().await;
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    every_demo_case_scanned_from_the_menu_gets_the_apis_verdict_and_a_details_link,
    super::every_demo_case_scanned_from_the_menu_gets_the_apis_verdict_and_a_details_link
);

async fn text_messages_look_up_by_number_credit_code_name_and_pasted_code(backend: Backend) {
    let (env, app, summary) = demo_app(backend).await;
    let plain = plain_twin(&env, &app).await;
    let current = summary
        .cases
        .iter()
        .find(|c| c.case == "current_usage")
        .unwrap();
    let number = current.certificate_number.to_string();
    let (_, details) = app.get(&format!("/api/v1/certificates/{number}")).await;
    let name = details["certificate"]["enterprise"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = details["certificate"]["enterprise"]["credit_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let fragment: String = name.chars().skip(2).collect();
    let steps = vec![
        post("plain", text(&number.to_lowercase(), msg_id())),
        post("aes", text(&code, msg_id())),
        post("plain", text(&fragment, msg_id())),
        post("aes", text(&current.qr_text.to_lowercase(), msg_id())),
        post("plain", text("建设", msg_id())),
        post("plain", text("D999999999", msg_id())),
        post("plain", text("不存在的企业名称甲乙丙", msg_id())),
        post("plain", text("https://example.com/hello", msg_id())),
        post("plain", text("帮助", msg_id())),
    ];
    let r = peer_by_mode(&app, &plain, steps).await;

    // A certificate number: its 资质详情 as a news article linking to /c/.
    let a = article(&r[0]);
    assert!(
        a["Title"].as_str().unwrap().contains(&number),
        "{}",
        a["Title"]
    );
    assert!(a["Description"].as_str().unwrap().contains(&name), "{a}");
    assert_eq!(a["Url"], app.url(&format!("/c/{number}")));

    // A credit code (safe mode): the enterprise and links to its certificates.
    let c = content(&r[1]);
    assert!(c.contains(&name) && c.contains(&code), "{c}");
    assert!(
        c.contains(&format!(
            "<a href=\"{}\">",
            app.url(&format!("/c/{number}"))
        )),
        "{c}"
    );

    // A name fragment finds the enterprise.
    let c = content(&r[2]);
    assert!(c.contains(&name), "{fragment}: {c}");

    // The pasted QR text (any case) is verified like a scan.
    let a = article(&r[3]);
    assert!(
        a["Title"].as_str().unwrap().starts_with("【真实有效】"),
        "{a}"
    );

    // A common fragment lists some and links to the search page for the rest.
    let c = content(&r[4]);
    assert!(c.starts_with("找到 "), "{c}");
    assert!(c.contains("/search?q=%E5%BB%BA%E8%AE%BE"), "{c}");
    assert!(c.len() <= 2048, "{}", c.len());

    // Not found, not ours, help: short Chinese texts that say what can be sent.
    assert!(content(&r[5]).contains("未找到证书编号 D999999999"));
    assert!(content(&r[6]).contains("未找到名称含"));
    assert!(content(&r[7]).contains("不是有效的电子资质证书验证码"));
    let help = content(&r[8]);
    for what in ["资质验证", "证书编号", "统一社会信用代码", "企业名称"] {
        assert!(help.contains(what), "{help}");
    }
    plain.stop().await;
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    text_messages_look_up_by_number_credit_code_name_and_pasted_code,
    super::text_messages_look_up_by_number_credit_code_name_and_pasted_code
);

#[tokio::test]
async fn subscribe_menu_clicks_and_other_messages_get_chinese_guidance() {
    let (env, app, _) = demo_app(Backend::Sqlite).await;
    let plain = plain_twin(&env, &app).await;
    let menu: Value =
        serde_json::from_str(include_str!("../../../../assets/chat/menu.json")).unwrap();
    let mut steps = vec![post(
        "aes",
        json!({ "type": "event", "event": "subscribe" }),
    )];
    let mut clicks = Vec::new();
    for b in menu["button"][0]["sub_button"].as_array().unwrap() {
        if b["type"] == "click" {
            clicks.push(b["name"].as_str().unwrap().to_owned());
            steps.push(post(
                "plain",
                json!({ "type": "event", "event": "CLICK", "key": b["key"] }),
            ));
        }
    }
    // A barcode scanned by mistake, and an image message.
    steps.push(post(
        "plain",
        json!({ "type": "event", "event": "scancode_waitmsg", "key": "ZIZHI_SCAN",
                "scan_type": "barcode", "scan_result": "6901234567892" }),
    ));
    steps.push(json!({ "op": "post", "mode": "plain", "raw_body": format!(
        "<xml><ToUserName><![CDATA[gh_3c884a361561]]></ToUserName>\
         <FromUserName><![CDATA[{FOLLOWER}]]></FromUserName><CreateTime>1700000000</CreateTime>\
         <MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://example.com/a.jpg]]></PicUrl>\
         <MediaId><![CDATA[m1]]></MediaId><MsgId>{}</MsgId></xml>", msg_id()) }));
    let r = peer_by_mode(&app, &plain, steps).await;
    assert!(content(&r[0]).contains("感谢关注"), "{}", r[0]);
    let click_replies: Vec<&str> = r[1..1 + clicks.len()].iter().map(content).collect();
    assert!(
        click_replies.iter().any(|c| c.contains("三种验证方式")),
        "{click_replies:?}"
    );
    assert!(
        click_replies.iter().any(|c| c.contains("/search")),
        "{click_replies:?}"
    );
    assert!(content(&r[1 + clicks.len()]).contains("条形码"));
    assert!(content(&r[2 + clicks.len()]).contains("资质验证"));
    plain.stop().await;
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn with_the_database_gone_a_scan_is_answered_with_the_signature_and_status_unavailable() {
    let (env, app, summary) = demo_app(Backend::Sqlite).await;
    app.server.state.store.close().await;
    let results = peer(
        &app,
        vec![post("aes", scan(case(&summary, "current_usage")))],
    )
    .await;
    let a = article(&results[0]);
    let title = a["Title"].as_str().unwrap();
    assert!(
        title.starts_with("【注意】"),
        "never 真实有效 without the register: {title}"
    );
    let description = a["Description"].as_str().unwrap();
    assert!(description.contains("实时状态暂不可查"), "{description}");
    // The H5 page the reply links to says the same.
    let page = app
        .client
        .get(a["Url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("实时状态暂不可查"));
    app.stop().await;
    env.finish().await;
}
