//! Attempts that guess secrets are counted and slowed: wrong tokens per client address, wrong
//! certificate passwords per enterprise (locked after five in a row, shared by all instances
//! through the database), and never more than a few password checks at once.

use chrono::Utc;
use futures::future::join_all;
use serde_json::json;
use zizhi_tests::{
    Backend, ISSUER_TOKEN, TestApp, TestEnv, enterprise_with_certificate, on_both_backends,
};

use crate::documents::{PASSWORD, as_enterprise, enrol};

#[tokio::test]
async fn a_client_guessing_tokens_is_refused_before_its_token_is_looked_at() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let get = async |token: &str| {
        app.client
            .get(app.url("/api/v1/issuer/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(get(ISSUER_TOKEN).await, 200);
    for i in 0..20 {
        assert_eq!(get(&format!("guess-{i}")).await, 401, "guess {i}");
    }
    assert_eq!(get("guess-21").await, 429);
    // Now even the right token is not looked at: a refusal says nothing about a guess.
    assert_eq!(get(ISSUER_TOKEN).await, 429);
    let res = app
        .client
        .get(app.url("/api/v1/enterprise/certificates"))
        .bearer_auth("zzq_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        429,
        "the enterprise nest counts the same client"
    );
    assert!(res.headers().contains_key("retry-after"));
    app.stop().await;
    env.finish().await;
}

async fn five_wrong_passwords_lock_the_certificate_password_for_a_while(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海黄浦建设有限公司", "91310101MA1FL0316").await;
    let token = enrol(&app, &code).await;
    let today = Utc::now().date_naive();
    let body = |password: &str| {
        json!({ "purpose": "黄浦区某工程投标", "from": today.to_string(),
                "to": (today + chrono::Duration::days(30)).to_string(), "password": password })
    };
    let path = format!("/api/v1/enterprise/certificates/{number}/usage-copies");
    // Concurrent wrong guesses: each answered (checked a few at a time), none a 5xx.
    let wrong = join_all((0..5).map(|i| {
        as_enterprise(
            &app,
            &token,
            "POST",
            &path,
            Some(body(&format!("wrong-{i}"))),
        )
    }))
    .await;
    for (s, b) in &wrong {
        assert!(
            (*s == 400 && b["error"] == "wrong_password")
                || (*s == 429 && b["error"] == "password_locked"),
            "{s} {b}"
        );
    }
    // Locked: the right password is not even tried.
    let (s, b) = as_enterprise(&app, &token, "POST", &path, Some(body(PASSWORD))).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (429, Some("password_locked")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("分钟后再试"), "{b}");
    // Every failure is in the event log.
    let (_, events) = app
        .issuer("GET", "/api/v1/issuer/events?after=0&limit=1000", None)
        .await;
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "credential.password_failed")
        .count();
    assert_eq!(failed, 5, "{events}");
    // A right password after the lock clears the count (the lock is lifted by hand here).
    sqlx::query("UPDATE enterprise_credentials SET locked_until = NULL")
        .execute(app.server.state.store.pool())
        .await
        .unwrap();
    let (s, b) = as_enterprise(&app, &token, "POST", &path, Some(body(PASSWORD))).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = as_enterprise(&app, &token, "POST", &path, Some(body("wrong-again"))).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("wrong_password")),
        "count restarted: {b}"
    );
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    five_wrong_passwords_lock_the_certificate_password_for_a_while,
    super::five_wrong_passwords_lock_the_certificate_password_for_a_while
);
