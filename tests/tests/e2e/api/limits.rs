//! Rate limits tried as an attacker would: a forged `X-Forwarded-For`, a phone rotating
//! through its IPv6 /64, and two instances behind one load balancer.

use zizhi_server::settings::{Budget, Settings};
use zizhi_tests::parts::{ProcessConfig, ServerProcess};
use zizhi_tests::{Backend, ISSUER_TOKEN, TestApp, TestEnv};

/// Behind one trusted proxy, with a budget of three requests and then one a minute.
fn behind_nginx(mut s: Settings) -> Settings {
    s.proxy.trusted_hops = 1;
    s.rate_limit.enabled = true;
    s.rate_limit.per_minute = 1;
    s.rate_limit.burst = 3;
    s
}

/// GETs `path` as the proxy would forward it; the status.
async fn get_via_proxy(client: &reqwest::Client, url: String, forwarded: &str) -> u16 {
    client
        .get(url)
        .header("x-forwarded-for", forwarded)
        .bearer_auth(ISSUER_TOKEN)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_client_inventing_left_most_forwarded_for_entries_stays_within_its_limit() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(behind_nginx(env.settings())).await;
    let lookup = || app.url("/api/v1/enterprises?q=上海");
    let mut statuses = Vec::new();
    for i in 0..6 {
        // What the client sent, then what nginx appended: the address it saw.
        let forwarded = format!("203.0.113.{i}, 10.0.0.{i}, 198.51.100.9");
        statuses.push(get_via_proxy(&app.client, lookup(), &forwarded).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    // Another client behind the same proxy has a budget of its own.
    assert_eq!(
        get_via_proxy(&app.client, lookup(), "198.51.100.10").await,
        200
    );
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn rotating_ipv6_addresses_within_one_slash_64_does_not_escape_the_limit() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(behind_nginx(env.settings())).await;
    let mut statuses = Vec::new();
    for i in 0..6u32 {
        let forwarded = format!("2001:db8:a:b:{i:x}:{:x}::1", i * 7919);
        statuses.push(
            get_via_proxy(
                &app.client,
                app.url("/api/v1/enterprises?q=上海"),
                &forwarded,
            )
            .await,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    assert_eq!(
        get_via_proxy(
            &app.client,
            app.url("/api/v1/enterprises?q=上海"),
            "2001:db8:a:c::1"
        )
        .await,
        200,
        "the neighbouring /64 is another subscriber"
    );
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn the_issuer_and_enterprise_apis_have_limits_of_their_own() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut s = behind_nginx(env.settings());
    s.rate_limit.issuer = Budget {
        per_minute: 1,
        burst: 2,
    };
    s.rate_limit.enterprise = Budget {
        per_minute: 1,
        burst: 2,
    };
    let app = TestApp::start(s).await;
    let events = || app.url("/api/v1/issuer/events");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get_via_proxy(&app.client, events(), "198.51.100.20").await);
    }
    // Even with the right token: the limit is counted before the token is looked at.
    assert_eq!(statuses, [200, 200, 429]);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            get_via_proxy(
                &app.client,
                app.url("/api/v1/enterprise/certificates"),
                "198.51.100.21",
            )
            .await,
        );
    }
    // The issuer token is no enterprise token (401), and the third is over the budget.
    assert_eq!(statuses, [401, 401, 429]);
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn two_server_processes_on_one_redis_count_one_budget() {
    let env = TestEnv::new(Backend::Postgres).await;
    let config = ProcessConfig {
        binary: env!("CARGO_BIN_EXE_zizhi-under-test").into(),
        database_url: env.database_url.clone(),
        redis_url: Some(zizhi_tests::redis_url()),
        redis_namespace: env.redis_namespace.clone(),
        data_dir: env.data_dir(),
        env: [
            ("ZIZHI_RATE_LIMIT__ENABLED", "true"),
            ("ZIZHI_RATE_LIMIT__PER_MINUTE", "1"),
            ("ZIZHI_RATE_LIMIT__BURST", "3"),
            ("ZIZHI_PROXY__TRUSTED_HOPS", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    };
    let a = ServerProcess::start(&config).await;
    let b = ServerProcess::start(&config).await;
    // Redis counts in windows of a minute: start well inside one, so exactly one budget
    // applies.
    use chrono::Timelike;
    let second = chrono::Utc::now().second();
    if second >= 45 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(61 - second))).await;
    }
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let url = format!("{base}/api/v1/enterprises?q=上海");
        statuses.push(get_via_proxy(&client, url, &format!("6.6.6.{i}, 198.51.100.30")).await);
    }
    // One budget (1 a minute + 3 at once) for both: counted alone, each would pass four.
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429, 429]);
    drop((a, b));
    env.finish().await;
}
