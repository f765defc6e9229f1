//! Retries and the reply budget: the platform redelivers a slow message up to three times;
//! each delivery must be answered once, with one reply, across instances too.

use serde_json::{Value, json};
use zizhi_server::chat::log::follower_digest;
use zizhi_tests::{Backend, TestApp, on_both_backends};

use super::{
    FOLLOWER, answered, case, demo_app, msg_id, peer, peer_by_mode, plain_twin, post, scan, text,
    with_chat, with_plain_chat,
};

fn bodies(r: &Value) -> Vec<String> {
    r["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["status"], 200, "{c}");
            c["body"].as_str().unwrap().to_owned()
        })
        .collect()
}

async fn a_delivery_repeated_by_the_platform_is_answered_once_with_one_reply(backend: Backend) {
    let (env, app, summary) = demo_app(backend).await;
    let plain = plain_twin(&env, &app).await;
    let id = msg_id();
    let aes_id = msg_id();
    let created = chrono::Utc::now().timestamp() - 3;
    let mut racing = post("plain", scan(case(&summary, "revoked")));
    racing["create_time"] = json!(created);
    racing["copies"] = json!(3);
    let mut racing_aes = post("aes", text("D231000037", msg_id()));
    racing_aes["copies"] = json!(3);
    let steps = vec![
        // Retries one after the other: the same MsgId again, each a call of its own.
        post("plain", text("建设", id)),
        post("plain", text("建设", id)),
        post("aes", text("建设", aes_id)),
        post("aes", text("建设", aes_id)),
        // Retries racing the first delivery.
        racing,
        racing_aes,
    ];
    let r = peer_by_mode(&app, &plain, steps).await;
    let first = r[0]["reply"]["Content"].as_str().unwrap();
    assert!(first.starts_with("找到 "), "{first}");
    assert_eq!(r[1]["body"], r[0]["body"], "a retry gets the same reply");
    // In safe mode the retry's reply is the same message, encrypted afresh.
    assert_eq!(r[2]["reply"]["Content"].as_str(), Some(first));
    assert_eq!(r[3]["reply"]["Content"].as_str(), Some(first));
    assert_ne!(r[3]["body"], r[2]["body"]);
    assert_eq!(answered(&app, &format!("msg:{id}")).await, 1);
    assert_eq!(answered(&app, &format!("msg:{aes_id}")).await, 1);

    // Racing copies: each gets the reply or, while the first is still answering, the same
    // reply after a short wait; none is answered twice.
    let raced = bodies(&r[4]);
    assert!(raced.iter().all(|b| b == &raced[0]), "{raced:?}");
    assert!(raced[0].contains("无效或已失效"), "{}", raced[0]);
    let key = format!("evt:{}:{created}:", follower_digest(FOLLOWER));
    assert_eq!(answered(&app, &key).await, 1);
    let raced_aes = &r[5]["copies"];
    let replies: Vec<&Value> = raced_aes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["reply"])
        .collect();
    assert!(
        replies
            .iter()
            .all(|x| x["Articles"] == replies[0]["Articles"]),
        "{raced_aes}"
    );
    plain.stop().await;
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_delivery_repeated_by_the_platform_is_answered_once_with_one_reply,
    super::a_delivery_repeated_by_the_platform_is_answered_once_with_one_reply
);

#[tokio::test]
async fn a_retry_landing_on_another_instance_is_answered_once_through_redis() {
    let (env, first, summary) = demo_app(Backend::Postgres).await;
    let second = TestApp::start(with_chat(env.settings())).await;
    let created = chrono::Utc::now().timestamp() - 2;
    let mut scan_step = post("aes", scan(case(&summary, "superseded")));
    scan_step["create_time"] = json!(created);
    let id = msg_id();
    let a = peer(
        &first,
        vec![scan_step.clone(), post("aes", text("建设", id))],
    )
    .await;
    let b = peer(&second, vec![scan_step, post("aes", text("建设", id))]).await;
    assert_eq!(
        a[0]["reply"]["Articles"], b[0]["reply"]["Articles"],
        "{a:?} {b:?}"
    );
    assert!(
        a[0]["reply"]["Articles"][0]["Title"]
            .as_str()
            .unwrap()
            .starts_with("【注意】")
    );
    assert_eq!(a[1]["reply"]["Content"], b[1]["reply"]["Content"]);
    assert!(a[1]["reply"]["Content"].is_string(), "{a:?}");
    // Both instances share one database: one row each means each delivery was answered once.
    let key = format!("evt:{}:{created}:", follower_digest(FOLLOWER));
    assert_eq!(answered(&first, &key).await, 1);
    assert_eq!(answered(&first, &format!("msg:{id}")).await, 1);
    second.stop().await;
    first.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn an_answer_that_would_miss_the_budget_is_replaced_by_success() {
    let env = zizhi_tests::TestEnv::new(Backend::Sqlite).await;
    env.prepare_demo_keys();
    let mut settings = with_plain_chat(env.settings());
    settings.chat.reply_budget_ms = 0;
    let app = TestApp::start(settings).await;
    let summary = app.seed_demo(&env.dir.path().join("demo")).await;
    let r = peer(
        &app,
        vec![post("plain", scan(case(&summary, "current_usage")))],
    )
    .await;
    assert_eq!(r[0]["status"], 200, "{}", r[0]);
    assert_eq!(r[0]["body"], "success");
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn a_follower_who_floods_the_account_is_asked_to_slow_down() {
    let env = zizhi_tests::TestEnv::new(Backend::Sqlite).await;
    let mut settings = with_plain_chat(env.settings());
    settings.chat.per_follower_per_minute = 2;
    let app = TestApp::start(settings).await;
    let steps = (0..3)
        .map(|_| post("plain", text("帮助", msg_id())))
        .collect();
    let r = peer(&app, steps).await;
    assert!(
        r[1]["reply"]["Content"]
            .as_str()
            .unwrap()
            .contains("资质验证")
    );
    assert!(
        r[2]["reply"]["Content"].as_str().unwrap().contains("太快"),
        "{}",
        r[2]
    );
    app.stop().await;
    env.finish().await;
}
