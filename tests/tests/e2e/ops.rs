//! What operators watch: `/metrics`, `/readyz`, and the logs — JSON with a request id on
//! every request's lines, and not one secret in them after a full scenario — and the bounds
//! that keep an overloaded instance answering.

use std::time::Duration;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use zizhi_tests::parts::{ProcessConfig, ServerProcess, free_port};
use zizhi_tests::{
    Api, Backend, ISSUER_TOKEN, TestApp, TestEnv, enterprise_with_certificate, usage_copy,
};

const DB_PASSWORD: &str = "db-pass-Zq81vX";
const ENTERPRISE_PASSWORD: &str = "enterprise-pass-Lm27wR";
const CHAT_TOKEN: &str = "chattokenQp93";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_scenario_logs_json_with_request_ids_and_no_secret_and_metrics_count_it() {
    let env = TestEnv::new(Backend::Postgres).await;
    // Trust authentication ignores the password, so it can be in the URL as in production.
    let database_url = env.database_url.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{DB_PASSWORD}@"),
        1,
    );
    assert!(database_url.contains(DB_PASSWORD), "{database_url}");
    let metrics_port = free_port();
    let config = ProcessConfig {
        binary: env!("CARGO_BIN_EXE_zizhi-under-test").into(),
        database_url,
        redis_url: Some(zizhi_tests::redis_url()),
        redis_namespace: format!("zizhi_ops_{}", uuid::Uuid::new_v4().simple()),
        data_dir: env.dir.path().join("data"),
        env: [
            ("ZIZHI_LOG_FORMAT", "json".to_owned()),
            ("ZIZHI_METRICS_BIND", format!("127.0.0.1:{metrics_port}")),
            ("ZIZHI_CHAT__TOKEN", CHAT_TOKEN.to_owned()),
            ("ZIZHI_CHAT__APP_ID", "wx0123456789abcdef".to_owned()),
            ("ZIZHI_CHAT__ENCODING_AES_KEY", AES_KEY.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    };
    let server = ServerProcess::start(&config).await;

    // The scenario: register, issue, verify, enrol, a wrong and a right password, a forged
    // code, a wrong token, the official account's URL check.
    let (code, number) =
        enterprise_with_certificate(&server, "上海嘉定建设有限公司", "91310114MA1FL0161").await;
    let copy = usage_copy(&server, &number, "嘉定区某工程投标").await;
    let text = copy["qr_text"].as_str().unwrap().to_owned();
    let (s, v) = server.verify(&text).await;
    assert_eq!(
        (s, v["summary"]["level"].as_str()),
        (200, Some("valid")),
        "{v}"
    );
    // A byte of the signed payload changed: the signature no longer holds.
    let mut bytes = zizhi_tests::zizhi_shared::QrText::extract(&text).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x40;
    let forged = zizhi_tests::zizhi_shared::QrText::encode(
        "X.CN",
        &zizhi_tests::zizhi_shared::SignedPayload::from_bytes(bytes),
    );
    let (s, v) = server.verify(&forged).await;
    assert_eq!((s, v["signature"].as_str()), (200, Some("invalid")), "{v}");
    let (s, enrolled) = server
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code}/credential"),
            Some(json!({ "password": ENTERPRISE_PASSWORD })),
        )
        .await;
    assert_eq!(s, 201, "{enrolled}");
    let enterprise_token = enrolled["token"].as_str().unwrap().to_owned();
    let today = zizhi_tests::today();
    for password in ["wrong-password-1", ENTERPRISE_PASSWORD] {
        server
            .client()
            .post(server.url(&format!(
                "/api/v1/enterprise/certificates/{number}/usage-copies"
            )))
            .bearer_auth(&enterprise_token)
            .json(
                &json!({ "purpose": "嘉定区某道路工程投标", "from": today.to_string(),
                           "to": (today + chrono::Duration::days(30)).to_string(),
                           "password": password }),
            )
            .send()
            .await
            .unwrap();
    }
    let res = server
        .client()
        .get(server.url("/api/v1/issuer/events"))
        .bearer_auth("not-the-issuer-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (timestamp, nonce) = (chrono::Utc::now().timestamp().to_string(), "1405");
    let mut parts = [CHAT_TOKEN, timestamp.as_str(), nonce];
    parts.sort_unstable();
    let signature = hex::encode(Sha1::digest(parts.concat().as_bytes()));
    let res = server
        .client()
        .get(server.url(&format!(
            "/wechat?signature={signature}&timestamp={timestamp}&nonce={nonce}&echostr=42"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "42");

    // /metrics: the issuer's on the main address, anyone's on the scraper's address.
    let (s, _) = server.get("/metrics").await;
    assert_eq!(
        s, 401,
        "/metrics on the public address needs the issuer token"
    );
    let with_token = server
        .client()
        .get(server.url("/metrics"))
        .bearer_auth(ISSUER_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scraped = server
        .client()
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for metrics in [&with_token, &scraped] {
        for expected in [
            "zizhi_http_requests_total{method=\"POST\",route=\"/api/v1/verify\",status=\"200\"}",
            "zizhi_verdicts_total{level=\"valid\",state=\"current\"} 1",
            "zizhi_verdicts_total{level=\"invalid\",state=\"none\"}",
            "zizhi_status_cache_total{result=\"miss\"}",
            "zizhi_http_request_duration_seconds_bucket",
            "zizhi_database_pool_connections{state=\"idle\"}",
            "zizhi_redis_failures_total 0",
        ] {
            assert!(
                metrics.contains(expected),
                "{expected} missing from:\n{metrics}"
            );
        }
    }
    let (s, ready) = server.get("/readyz").await;
    assert_eq!(
        (s, ready),
        (
            200,
            json!({ "status": "ready", "database": "ok", "redis": "ok" })
        )
    );

    server.signal("TERM");
    let (code, log) = server.wait(Duration::from_secs(15)).await;
    assert_eq!(code, Some(0), "{log}");

    // Every line is JSON; every line a request logged carries its request id.
    let mut finished = 0;
    for line in log.lines() {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        if entry["fields"]["message"] == "finished processing request" {
            finished += 1;
            let id = entry["span"]["id"].as_str().unwrap_or("");
            assert!(uuid::Uuid::parse_str(id).is_ok(), "no request id: {line}");
        }
    }
    assert!(
        finished >= 10,
        "one access line a request, found {finished}:\n{log}"
    );

    // Not one secret: tokens, passwords, the EncodingAESKey, the database password, and the
    // key material the server generated into its data directory.
    let mut secrets = vec![
        ISSUER_TOKEN.to_owned(),
        DB_PASSWORD.to_owned(),
        ENTERPRISE_PASSWORD.to_owned(),
        enterprise_token,
        CHAT_TOKEN.to_owned(),
        AES_KEY.to_owned(),
    ];
    let data = env.dir.path().join("data");
    for entry in std::fs::read_dir(data.join("keys")).unwrap() {
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        if let Some(seed) = file["seed"].as_str() {
            secrets.push(seed.to_owned());
        }
    }
    for name in ["root.key", "issuer.key"] {
        let pem = std::fs::read_to_string(data.join("pki").join(name)).unwrap();
        secrets.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 24)
                .map(str::to_owned),
        );
    }
    assert!(secrets.len() >= 8, "{secrets:?}");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the log: {secret}"
        );
    }
    eprintln!(
        "{} log lines, {finished} access lines, none holding any of {} secrets",
        log.lines().count(),
        secrets.len()
    );
    env.finish().await;
}

/// Opens a request whose body never finishes arriving: it stays in progress on the server.
async fn hanging_request(app: &TestApp) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    s.write_all(
        b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
          Content-Length: 100\r\n\r\nHTTPS://",
    )
    .await
    .unwrap();
    s
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_refused_at_once_with_retry_after() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.resilience.max_concurrent_requests = 2;
    let app = TestApp::start(settings).await;
    let _first = hanging_request(&app).await;
    let _second = hanging_request(&app).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "overloaded", "{body}");
    drop((_first, _second));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "served again once the others are gone");
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn a_request_past_the_time_bound_is_answered_503_and_dropped() {
    use tokio::io::AsyncReadExt;
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.resilience.request_timeout_secs = 1;
    let app = TestApp::start(settings).await;
    let mut slow = hanging_request(&app).await;
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "no answer within 5 s");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    app.stop().await;
    env.finish().await;
}
