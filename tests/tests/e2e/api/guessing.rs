//! Attempts that guess secrets are counted and slowed: wrong tokens per client address, wrong
//! certificate passwords per enterprise (locked after five in a row, longer after each further
//! one, shared by all instances through the database) and per client address, and never more
//! than a few password checks at once.

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
    let today = zizhi_tests::today();
    let body = |password: &str| {
        json!({ "purpose": "黄浦区某工程投标", "from": today.to_string(),
                "to": (today + chrono::Duration::days(30)).to_string(), "password": password })
    };
    let path = format!("/api/v1/enterprise/certificates/{number}/usage-copies");
    // Wrong guesses one after the other (guesses sent at once wait their turn, or are refused
    // when it does not come soon: see `two_hundred_wrong_passwords_at_once…`).
    for i in 0..5 {
        let guess = body(&format!("wrong-{i}"));
        let (s, b) = as_enterprise(&app, &token, "POST", &path, Some(guess)).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("wrong_password")),
            "{b}"
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

/// The statuses and bodies of one wrong-password request per (token, address).
async fn wrong_password(app: &TestApp, token: &str, number: &str, address: &str) -> Answer {
    let today = zizhi_tests::today();
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/enterprise/certificates/{number}/usage-copies"
        )))
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .json(
            &json!({ "purpose": "黄浦区某工程投标", "from": today.to_string(),
                       "to": (today + chrono::Duration::days(30)).to_string(),
                       "password": format!("guess-{}", uuid::Uuid::new_v4()) }),
        )
        .send()
        .await
        .unwrap();
    Answer {
        status: res.status().as_u16(),
        retry_after: res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        body: res.json().await.unwrap_or_default(),
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: serde_json::Value,
}

impl Answer {
    fn wrong(&self) -> bool {
        self.status == 400 && self.body["error"] == "wrong_password"
    }

    fn locked(&self) -> bool {
        self.status == 429
            && self.body["error"] == "password_locked"
            && self.retry_after.is_some_and(|s| s >= 1)
            && self.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("分钟后再试"))
    }

    /// Refused while another guess at the same password is being checked.
    fn busy(&self) -> bool {
        self.status == 429
            && self.body["error"] == "password_busy"
            && self.retry_after.is_some_and(|s| s >= 1)
    }
}

async fn password_failures_logged(app: &TestApp) -> usize {
    let (_, events) = app
        .issuer("GET", "/api/v1/issuer/events?after=0&limit=1000", None)
        .await;
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "credential.password_failed")
        .count()
}

#[tokio::test]
async fn two_hundred_wrong_passwords_at_once_lock_the_passwords_without_exhausting_memory() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.proxy.trusted_hops = 1;
    let app = TestApp::start(settings).await;
    let mut accounts = Vec::new();
    for (name, stem) in [
        ("上海黄浦甲建设有限公司", "91310101MA1FL0401"),
        ("上海黄浦乙建设有限公司", "91310101MA1FL0402"),
    ] {
        let (code, number) = enterprise_with_certificate(&app, name, stem).await;
        accounts.push((enrol(&app, &code).await, number));
    }

    // 200 guesses at once, from two tokens and five addresses.
    let answers = join_all((0..200).map(|i| {
        let (token, number) = &accounts[i % 2];
        let address = format!("203.0.113.{}", i % 5);
        let app = &app;
        async move { wrong_password(app, token, number, &address).await }
    }))
    .await;
    let mut wrong = answers.iter().filter(|a| a.wrong()).count();
    for a in &answers {
        assert!(a.wrong() || a.locked() || a.busy(), "{a:?}");
    }
    // One check at a time per password, so each locks at exactly its fifth wrong guess.
    assert!(wrong <= 10, "{wrong} checked");
    // Keep guessing until both are locked, as an attacker would.
    for round in 0.. {
        let answers = join_all((0..20).map(|i| {
            let (token, number) = &accounts[i % 2];
            let address = format!("203.0.113.{}", i % 5);
            let app = &app;
            async move { wrong_password(app, token, number, &address).await }
        }))
        .await;
        for a in &answers {
            assert!(a.wrong() || a.locked() || a.busy(), "{a:?}");
        }
        wrong += answers.iter().filter(|a| a.wrong()).count();
        if answers.iter().all(Answer::locked) {
            break;
        }
        assert!(round < 20, "still not locked: {answers:?}");
    }
    assert_eq!(
        wrong, 10,
        "five wrong guesses per password were checked, no more"
    );
    let slots = zizhi_server::pdf::credentials::KDF_AT_ONCE;
    assert!(
        zizhi_server::pdf::credentials::kdf_most_at_once() <= slots,
        "never more than {slots} password checks (128 MiB each) at once"
    );
    // Every wrong guess that was checked is in the event log.
    assert_eq!(password_failures_logged(&app).await, wrong);

    // The right password is refused too until the lock ends, from any address.
    for (token, number) in &accounts {
        let (s, b) = as_enterprise_from(&app, token, number, PASSWORD, "198.51.100.50").await;
        assert_eq!(
            (s, b["error"].as_str()),
            (429, Some("password_locked")),
            "{b}"
        );
    }
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn one_address_guessing_across_enterprises_is_made_to_wait() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.proxy.trusted_hops = 1;
    let app = TestApp::start(settings).await;
    let mut accounts = Vec::new();
    for (name, stem) in [
        ("上海静安甲建设有限公司", "91310106MA1FL0501"),
        ("上海静安乙建设有限公司", "91310106MA1FL0502"),
        ("上海静安丙建设有限公司", "91310106MA1FL0503"),
    ] {
        let (code, number) = enterprise_with_certificate(&app, name, stem).await;
        accounts.push((enrol(&app, &code).await, number));
    }
    // Four guesses an account keeps each account below its own lock.
    let mut answers = Vec::new();
    for (token, number) in &accounts {
        for _ in 0..4 {
            answers.push(wrong_password(&app, token, number, "203.0.113.77").await);
        }
    }
    let free = zizhi_server::password_guesses::FREE_FAILURES as usize;
    assert!(answers[..free].iter().all(Answer::wrong), "{answers:?}");
    assert!(answers[free..].iter().all(Answer::locked), "{answers:?}");
    assert_eq!(password_failures_logged(&app).await, free);
    // The address waits even with a right password; another address does not.
    let (token, number) = &accounts[2];
    let (s, b) = as_enterprise_from(&app, token, number, PASSWORD, "203.0.113.77").await;
    assert_eq!(
        (s, b["error"].as_str()),
        (429, Some("password_locked")),
        "{b}"
    );
    let (s, b) = as_enterprise_from(&app, token, number, PASSWORD, "203.0.113.78").await;
    assert_eq!(s, 201, "{b}");
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn a_key_encrypted_at_the_old_scrypt_cost_still_opens_and_is_re_encrypted_at_the_new_one() {
    use sqlx::Row;
    use zizhi_documents::pki::{SCRYPT_LOG_N, Signer, encrypted_key_log_n};
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海徐汇建设有限公司", "91310104MA1FL0601").await;
    let token = enrol(&app, &code).await;
    let pool = app.server.state.store.pool();
    let row = sqlx::query("SELECT certificate_pem, encrypted_key_pem FROM enterprise_credentials")
        .fetch_one(pool)
        .await
        .unwrap();
    let (chain, key): (String, String) = (row.get(0), row.get(1));
    assert_eq!(encrypted_key_log_n(&key), Some(SCRYPT_LOG_N));
    // As an older release stored it: N = 2^15.
    let old = Signer::from_encrypted_pem(&chain, &key, PASSWORD)
        .unwrap()
        .encrypted_key_pem_with_cost(PASSWORD, 15)
        .unwrap();
    sqlx::query("UPDATE enterprise_credentials SET encrypted_key_pem = $1")
        .bind(&old)
        .execute(pool)
        .await
        .unwrap();
    let (s, b) = as_enterprise_from(&app, &token, &number, PASSWORD, "203.0.113.1").await;
    assert_eq!(s, 201, "{b}");
    let now: String = sqlx::query_scalar("SELECT encrypted_key_pem FROM enterprise_credentials")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(encrypted_key_log_n(&now), Some(SCRYPT_LOG_N));
    Signer::from_encrypted_pem(&chain, &now, PASSWORD).expect("the same password opens it");
    let (_, events) = app
        .issuer("GET", "/api/v1/issuer/events?after=0&limit=1000", None)
        .await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "credential.rehashed"),
        "{events}"
    );
    app.stop().await;
    env.finish().await;
}

async fn as_enterprise_from(
    app: &TestApp,
    token: &str,
    number: &str,
    password: &str,
    address: &str,
) -> (u16, serde_json::Value) {
    let today = zizhi_tests::today();
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/enterprise/certificates/{number}/usage-copies"
        )))
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .json(
            &json!({ "purpose": "黄浦区某工程投标", "from": today.to_string(),
                       "to": (today + chrono::Duration::days(30)).to_string(),
                       "password": password }),
        )
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn an_address_made_to_wait_waits_on_every_instance_sharing_redis() {
    let env = TestEnv::new(Backend::Postgres).await;
    let mut settings = env.settings();
    settings.proxy.trusted_hops = 1;
    let a = TestApp::start(settings.clone()).await;
    let b = TestApp::start(settings).await;
    let mut accounts = Vec::new();
    for (name, stem) in [
        ("上海长宁甲建设有限公司", "91310105MA1FL0701"),
        ("上海长宁乙建设有限公司", "91310105MA1FL0702"),
        ("上海长宁丙建设有限公司", "91310105MA1FL0703"),
    ] {
        let (code, number) = enterprise_with_certificate(&a, name, stem).await;
        accounts.push((enrol(&a, &code).await, number));
    }
    // Alternating instances, four guesses an account: each instance alone sees six or fewer.
    let mut answers = Vec::new();
    for (i, (token, number)) in accounts.iter().flat_map(|a| [a; 4]).enumerate() {
        let app = if i % 2 == 0 { &a } else { &b };
        answers.push(wrong_password(app, token, number, "203.0.113.88").await);
    }
    let free = zizhi_server::password_guesses::FREE_FAILURES as usize;
    assert!(answers[..free].iter().all(Answer::wrong), "{answers:?}");
    assert!(answers[free..].iter().all(Answer::locked), "{answers:?}");
    b.stop().await;
    a.stop().await;
    env.finish().await;
}
