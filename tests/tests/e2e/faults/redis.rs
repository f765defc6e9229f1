//! Redis is a cache, never a point of failure: hung, killed, restarted empty or back with old
//! entries, it never makes an answer wrong, slow or a 5xx.

use std::time::{Duration, Instant};

use serde_json::json;
use zizhi_tests::parts::OwnRedis;
use zizhi_tests::{
    Api, Backend, TestEnv, enterprise_with_certificate, qualification_id, usage_copy,
};

use super::{Load, config, slowest, two_instances};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_hung_killed_and_restarted_empty_under_load_gives_no_wrong_answer_and_no_5xx() {
    let env = TestEnv::new(Backend::Postgres).await;
    let mut redis = OwnRedis::start().await;
    let cfg = config(env.database_url.clone(), Some(redis.url()), env.dir.path());
    let (a, b) = two_instances(&cfg).await;
    let (_, number) =
        enterprise_with_certificate(&a, "上海闵行建设有限公司", "91310112MA1FL0061").await;
    let revoked = usage_copy(&a, &number, "闵行区某学校新建工程投标").await;
    let (_, other) =
        enterprise_with_certificate(&a, "上海宝山建设有限公司", "91310113MA1FL0072").await;
    let control = usage_copy(&a, &other, "宝山区某道路工程投标").await;
    let texts = vec![
        revoked["qr_text"].as_str().unwrap().to_owned(),
        control["qr_text"].as_str().unwrap().to_owned(),
    ];

    let load = Load::start(vec![a.base.clone(), b.base.clone()], texts, 6);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hung = load.now();
    redis.pause();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = load.now();
    redis.kill().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let qid = qualification_id(&a, &number, "建筑工程施工总承包").await;
    let revoke_started = load.now();
    let t = Instant::now();
    let (s, body) = a
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/revoke"),
            Some(json!({})),
        )
        .await;
    let revoke_took = t.elapsed();
    let revoked_at = load.now();
    assert_eq!(s, 200, "revocation while Redis is down: {body}");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let back = load.now();
    redis.restart().await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let seen = load.finish().await;

    let errors: Vec<_> = seen.iter().filter(|s| s.status != 200).collect();
    assert!(
        errors.is_empty(),
        "{} answers were not 200: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    for s in &seen {
        let right = match (s.which, s.started) {
            (1, _) => s.level == "valid" && s.state == "current",
            (_, at) if at + s.took <= revoke_started => s.level == "valid" && s.state == "current",
            (_, at) if at >= revoked_at => s.level == "invalid" && s.state == "revoked",
            // Asked while the revocation was being made: either answer is right.
            _ => s.state == "current" || s.state == "revoked",
        };
        assert!(
            right,
            "wrong answer: {s:?} (revocation {revoke_started:?}..{revoked_at:?})"
        );
        // The database is up throughout: Redis being away never degrades a verdict.
        assert!(!s.codes.iter().any(|c| c == "status_unavailable"), "{s:?}");
    }
    let after: Vec<_> = seen
        .iter()
        .filter(|s| s.which == 0 && s.started >= revoked_at)
        .collect();
    assert!(
        after.len() > 20,
        "too few answers after the revocation: {}",
        after.len()
    );
    let phases = [
        ("Redis up", Duration::ZERO, hung),
        ("Redis hung", hung, killed),
        ("Redis killed", killed, back),
        ("Redis back empty", back, Duration::MAX),
    ];
    for (name, from, to) in phases {
        let n = seen
            .iter()
            .filter(|s| s.started >= from && s.started < to)
            .count();
        let worst = slowest(&seen, from, to);
        eprintln!("{name}: {n} answers, slowest {worst:?}");
        assert!(
            worst < Duration::from_secs(2),
            "{name}: an answer took {worst:?}"
        );
    }
    eprintln!("revocation while Redis was down took {revoke_took:?}");
    assert!(
        revoke_took < Duration::from_secs(1),
        "revocation took {revoke_took:?}"
    );
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_while_redis_is_away_are_seen_by_both_instances_on_the_first_try() {
    let env = TestEnv::new(Backend::Postgres).await;
    let mut redis = OwnRedis::start().await;
    let cfg = config(env.database_url.clone(), Some(redis.url()), env.dir.path());
    let (a, b) = two_instances(&cfg).await;
    let (_, number) =
        enterprise_with_certificate(&a, "上海奉贤建设有限公司", "91310120MA1FL0083").await;
    let copy = usage_copy(&a, &number, "奉贤区某医院新建工程投标").await;
    let text = copy["qr_text"].as_str().unwrap();
    // Three answers in a row, so the status is cached in both instances and in Redis.
    let warm = async |app: &zizhi_tests::parts::ServerProcess, state: &str| {
        for _ in 0..3 {
            let (s, v) = app.verify(text).await;
            assert_eq!(
                (s, v["certificate_state"].as_str()),
                (200, Some(state)),
                "{v}"
            );
        }
    };
    warm(&a, "current").await;
    warm(&b, "current").await;
    let qid = qualification_id(&a, &number, "建筑工程施工总承包").await;
    let change = async |action: &str| {
        let t = Instant::now();
        let (s, body) = a
            .issuer(
                "POST",
                &format!("/api/v1/issuer/qualifications/{qid}/{action}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 200, "{action}: {body}");
        t.elapsed()
    };

    // Redis hung, then back with every entry it held: the entries are older than the change.
    redis.pause();
    let took = change("suspend").await;
    eprintln!("suspension with Redis hung took {took:?}");
    assert!(took < Duration::from_secs(1), "suspension took {took:?}");
    for (name, app) in [("A", &a), ("B", &b)] {
        let (s, v) = app.verify(text).await;
        assert_eq!(
            (s, v["summary"]["level"].as_str()),
            (200, Some("invalid")),
            "{name} while hung: {v}"
        );
    }
    redis.resume();
    for (name, app) in [("B", &b), ("A", &a)] {
        let (s, v) = app.verify(text).await;
        assert_eq!(
            (s, v["summary"]["level"].as_str()),
            (200, Some("invalid")),
            "{name} after Redis resumed: {v}"
        );
    }
    let took = change("reinstate").await;
    assert!(took < Duration::from_secs(1), "reinstatement took {took:?}");
    // Every change issues a version: the copy now prints an older one.
    warm(&b, "superseded").await;
    warm(&a, "superseded").await;

    // Redis killed, then restarted empty.
    redis.kill().await;
    let (s, ready) = a.get("/readyz").await;
    assert_eq!(
        (s, ready["status"].as_str(), ready["redis"].as_str()),
        (200, Some("degraded"), Some("unavailable")),
        "a Redis outage marks the instance degraded, not dead: {ready}"
    );
    let took = change("revoke").await;
    eprintln!("revocation with Redis down took {took:?}");
    assert!(took < Duration::from_secs(1), "revocation took {took:?}");
    let (_, v) = a.verify(text).await;
    assert_eq!(
        v["certificate_state"], "revoked",
        "A, which made the change, at once: {v}"
    );
    redis.restart().await;
    for (name, app) in [("B", &b), ("A", &a)] {
        let (s, v) = app.verify(text).await;
        assert_eq!(
            (
                s,
                v["certificate_state"].as_str(),
                v["summary"]["level"].as_str()
            ),
            (200, Some("revoked"), Some("invalid")),
            "{name}, first try after Redis restarted empty: {v}"
        );
    }
    env.finish().await;
}
