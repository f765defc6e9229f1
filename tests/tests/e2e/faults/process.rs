//! The process itself: SIGTERM drains what is in flight and exits 0; SIGKILL in the middle
//! of issuing loses nothing acknowledged and leaves nothing half-written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use zizhi_tests::parts::ServerProcess;
use zizhi_tests::{Api, Backend, ISSUER_TOKEN, TestEnv, enterprise_with_certificate, usage_copy};

use super::{Load, config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_every_request_in_flight_and_exits_0() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let server =
        ServerProcess::start(&config(env.database_url.clone(), None, env.dir.path())).await;
    let (_, number) =
        enterprise_with_certificate(&server, "上海青浦建设有限公司", "91310118MA1FL0116").await;
    let copy = usage_copy(&server, &number, "青浦区某工程投标").await;
    let text = copy["qr_text"].as_str().unwrap().to_owned();

    // A request in flight when the signal comes: its body arrives slowly.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/verify HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        text.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = text.split_at(text.len() / 2);
    slow.write_all(first.as_bytes()).await.unwrap();

    let load = Load::start(vec![server.base.clone()], vec![text.clone()], 4);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let signalled = Instant::now();
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the request in flight at SIGTERM was cut: {answer:?}"
    );
    assert!(answer.contains("\"current\""), "{answer}");

    let (code, log) = server.wait(Duration::from_secs(15)).await;
    let exited_after = signalled.elapsed();
    // The load's clients see answers, then refused connections: never a cut one.
    let seen = load.finish_allowing_refusals().await;
    assert_eq!(code, Some(0), "exit code after SIGTERM; log:\n{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(seen.iter().all(|s| s.status == 200), "{seen:?}");
    eprintln!(
        "SIGTERM: exit 0 after {exited_after:?}; {} answers under load, none cut",
        seen.len()
    );
    env.finish().await;
}

/// One issuing request under test: who asked, with which key (also its purpose, so copies can
/// be counted per request), and what came back.
#[derive(Debug, Clone)]
struct Issuing {
    key: String,
    by_enterprise: bool,
    acknowledged: Option<Value>,
}

async fn issue(
    client: &reqwest::Client,
    base: &str,
    number: &str,
    enterprise_token: Option<&str>,
    key: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let today = zizhi_tests::today();
    let mut body = json!({ "purpose": key, "from": today.to_string(),
                           "to": (today + chrono::Duration::days(30)).to_string() });
    let req = match enterprise_token {
        Some(token) => {
            body["password"] = json!(PASSWORD);
            client
                .post(format!(
                    "{base}/api/v1/enterprise/certificates/{number}/usage-copies"
                ))
                .bearer_auth(token)
        }
        None => client
            .post(format!(
                "{base}/api/v1/issuer/certificates/{number}/usage-copies"
            ))
            .bearer_auth(ISSUER_TOKEN),
    };
    let res = req
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_issuing_loses_no_acknowledged_copy_and_leaves_nothing_half_written() {
    let env = TestEnv::new(Backend::Postgres).await;
    let cfg = config(env.database_url.clone(), None, env.dir.path());
    let server = ServerProcess::start(&cfg).await;
    let (code, number) =
        enterprise_with_certificate(&server, "上海崇明建设有限公司", "91310151MA1FL0127").await;
    let (s, enrolled) = server
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code}/credential"),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(s, 201, "{enrolled}");
    let token = enrolled["token"].as_str().unwrap().to_owned();

    // Issuers and the enterprise issue concurrently until the process is killed.
    let log = Arc::new(Mutex::new(Vec::<Issuing>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..5 {
        let by_enterprise = worker >= 3;
        let (base, number, token) = (server.base.clone(), number.clone(), token.clone());
        let (log, stop) = (log.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let key = format!("crash-{worker}-{n}");
                let token = by_enterprise.then_some(token.as_str());
                let acknowledged = match issue(&client, &base, &number, token, &key).await {
                    Ok((201, v)) => Some(v),
                    Ok((s, v)) if s < 500 => panic!("issuing refused before the kill: {s} {v}"),
                    _ => None,
                };
                let done = acknowledged.is_none();
                log.lock().await.push(Issuing {
                    key,
                    by_enterprise,
                    acknowledged,
                });
                if done {
                    break;
                }
            }
        }));
    }
    // Until a few enterprise copies (each with its signed PDF) have been acknowledged.
    let t = Instant::now();
    loop {
        let enterprise_acks = log
            .lock()
            .await
            .iter()
            .filter(|i| i.by_enterprise && i.acknowledged.is_some())
            .count();
        if enterprise_acks >= 2 || t.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.signal("KILL");
    stop.store(true, Ordering::Relaxed);
    let (exit, _) = server.wait(Duration::from_secs(10)).await;
    assert_eq!(exit, None, "killed by the signal");
    for t in tasks {
        t.await.unwrap();
    }
    let log = log.lock().await.clone();
    let acknowledged: Vec<&Issuing> = log.iter().filter(|i| i.acknowledged.is_some()).collect();
    let in_flight: Vec<&Issuing> = log.iter().filter(|i| i.acknowledged.is_none()).collect();
    assert!(
        acknowledged.len() >= 5,
        "too few copies before the kill: {log:?}"
    );

    let server = ServerProcess::start(&cfg).await;
    // Every acknowledged copy is there, verifies, has its event and, from the enterprise,
    // its signed PDF.
    // Every page of the log: a fast server issues more than one page of copies before the
    // enterprise's first few are acknowledged.
    let mut issued_events: Vec<u64> = Vec::new();
    let mut after = 0;
    loop {
        let (s, events) = server
            .issuer(
                "GET",
                &format!("/api/v1/issuer/events?after={after}&limit=1000"),
                None,
            )
            .await;
        assert_eq!(s, 200);
        let page = events.as_array().unwrap();
        let Some(last) = page.last() else {
            break;
        };
        after = last["id"].as_i64().unwrap();
        issued_events.extend(
            page.iter()
                .filter(|e| e["action"] == "copy.issue_usage")
                .filter_map(|e| e["detail"]["copy_id"].as_u64()),
        );
    }
    for i in &acknowledged {
        let copy = i.acknowledged.as_ref().unwrap();
        let id = copy["id"].as_u64().unwrap();
        let (s, stored) = server
            .issuer("GET", &format!("/api/v1/issuer/copies/{id}"), None)
            .await;
        assert_eq!(s, 200, "acknowledged copy {id} is gone: {stored}");
        let (s, v) = server.verify(copy["qr_text"].as_str().unwrap()).await;
        assert_eq!(
            (s, v["summary"]["level"].as_str()),
            (200, Some("valid")),
            "{v}"
        );
        assert!(issued_events.contains(&id), "copy {id} has no event");
        if i.by_enterprise {
            let res = server
                .client()
                .get(server.url(&format!("/api/v1/copies/{id}.pdf")))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "copy {id} has no PDF");
            assert!(res.bytes().await.unwrap().starts_with(b"%PDF"));
        }
    }
    // Nothing half-written: every copy in the register has its event, every enterprise copy
    // its PDF.
    let (s, copies) = server
        .issuer(
            "GET",
            &format!("/api/v1/issuer/certificates/{number}/copies"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    for copy in copies.as_array().unwrap() {
        let id = copy["id"].as_u64().unwrap();
        assert!(issued_events.contains(&id), "copy {id} without its event");
        if copy["usage"]["purpose"]
            .as_str()
            .is_some_and(|p| p.starts_with("crash-3-") || p.starts_with("crash-4-"))
        {
            let res = server
                .client()
                .get(server.url(&format!("/api/v1/copies/{id}.pdf")))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "enterprise copy {id} without its PDF");
        }
    }
    // A client retrying what was in flight, with its key, gets one copy per request.
    let client = reqwest::Client::new();
    for i in &in_flight {
        let token = i.by_enterprise.then_some(token.as_str());
        let (s, v) = issue(&client, &server.base, &number, token, &i.key)
            .await
            .unwrap();
        assert_eq!(s, 201, "retry of {}: {v}", i.key);
    }
    let (_, copies) = server
        .issuer(
            "GET",
            &format!("/api/v1/issuer/certificates/{number}/copies"),
            None,
        )
        .await;
    for i in &log {
        let n = copies
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["usage"]["purpose"] == i.key.as_str())
            .count();
        assert_eq!(n, 1, "copies made for request {}", i.key);
    }
    eprintln!(
        "SIGKILL while issuing: {} acknowledged ({} with PDF), {} in flight, all complete after restart",
        acknowledged.len(),
        acknowledged.iter().filter(|i| i.by_enterprise).count(),
        in_flight.len()
    );
    server.signal("TERM");
    let (code, _) = server.wait(Duration::from_secs(15)).await;
    assert_eq!(code, Some(0));
    env.finish().await;
}
