//! PostgreSQL stopped: verdicts still report the signature and say plainly that the live
//! status cannot be read (never "current" without a date), within a second; writes are
//! refused with `store_unavailable` within a second; everything recovers when it returns.

use std::time::{Duration, Instant};

use zizhi_tests::parts::{OwnPostgres, OwnRedis, ServerProcess};
use zizhi_tests::{Api, enterprise_with_certificate, usage_copy};

use super::config;

fn codes(v: &serde_json::Value) -> Vec<&str> {
    v["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(|w| w["code"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_stopped_verdicts_say_the_status_is_unavailable_writes_fail_fast_and_all_recovers()
 {
    let pg = OwnPostgres::start().await;
    let redis = OwnRedis::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = ServerProcess::start(&config(pg.url(), Some(redis.url()), dir.path())).await;
    let (_, seen_before) =
        enterprise_with_certificate(&a, "上海金山建设有限公司", "91310116MA1FL0094").await;
    let cached = usage_copy(&a, &seen_before, "金山区某学校新建工程投标").await;
    let cached = cached["qr_text"].as_str().unwrap().to_owned();
    let (_, never_seen) =
        enterprise_with_certificate(&a, "上海松江建设有限公司", "91310117MA1FL0105").await;
    let uncached = usage_copy(&a, &never_seen, "松江区某道路工程投标").await;
    let uncached = uncached["qr_text"].as_str().unwrap().to_owned();
    let (s, v) = a.verify(&cached).await;
    assert_eq!(
        (s, v["certificate_state"].as_str()),
        (200, Some("current")),
        "{v}"
    );

    pg.stop_server().await;
    let stopped = Instant::now();

    // A status confirmed before the outage: shown with its date, at most a caution.
    let t = Instant::now();
    let (s, v) = a.verify(&cached).await;
    let took_cached = t.elapsed();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["signature"], "valid", "{v}");
    assert_eq!(v["summary"]["level"], "caution", "{v}");
    assert!(codes(&v).contains(&"status_unavailable"), "{v}");
    assert!(v["status_as_of"].is_string(), "says since when: {v}");
    let message = v["summary"]["message"].as_str().unwrap();
    assert!(message.contains("实时状态暂不可查"), "{message}");
    assert!(message.contains("状态截至"), "{message}");

    // A certificate not cached: the signature and nothing about the status.
    let t = Instant::now();
    let (s, v) = a.verify(&uncached).await;
    let took_uncached = t.elapsed();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["signature"], "valid", "{v}");
    assert_eq!(v["summary"]["level"], "caution", "{v}");
    assert!(
        v["certificate_state"].is_null(),
        "no state without the register: {v}"
    );
    assert!(codes(&v).contains(&"status_unavailable"), "{v}");
    assert_eq!(
        v["summary"]["message"], "签名真实；实时状态暂不可查，请稍后重试",
        "{v}"
    );

    // A forged code is still refused: the signature is checked before any lookup.
    let mut forged = uncached.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (s, v) = a.verify(&forged).await;
    assert!(s == 200 || s == 400, "{s} {v}");
    assert_ne!(v["summary"]["level"], "valid", "{v}");
    assert_ne!(v["signature"], "valid", "{v}");

    // The H5 page shows the same degraded answer.
    let page = zizhi_tests::zizhi_server::links::verdict_url(&a.base, &uncached).unwrap();
    let res = a.client().get(&page).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("实时状态暂不可查"), "{html}");

    // Writes are refused, fast, with a stable code.
    let t = Instant::now();
    let today = zizhi_tests::today();
    let (s, v) = a
        .issuer(
            "POST",
            &format!("/api/v1/issuer/certificates/{never_seen}/usage-copies"),
            Some(
                serde_json::json!({ "purpose": "停库期间", "from": today.to_string(),
                                     "to": (today + chrono::Duration::days(30)).to_string() }),
            ),
        )
        .await;
    let took_write = t.elapsed();
    assert_eq!(
        (s, v["error"].as_str()),
        (503, Some("store_unavailable")),
        "{v}"
    );

    let (s, ready) = a.get("/readyz").await;
    assert_eq!(
        (s, ready["database"].as_str()),
        (503, Some("unavailable")),
        "{ready}"
    );
    let (s, _) = a.get("/healthz").await;
    assert_eq!(s, 200, "the process itself is alive");

    eprintln!(
        "PostgreSQL stopped: cached verdict {took_cached:?}, uncached verdict {took_uncached:?}, \
         refused write {took_write:?}"
    );
    for (what, took) in [
        ("cached verdict", took_cached),
        ("uncached verdict", took_uncached),
        ("refused write", took_write),
    ] {
        assert!(took < Duration::from_secs(1), "{what} took {took:?}");
    }

    // Back without restarting the server.
    let down_for = stopped.elapsed();
    pg.start_server().await;
    let t = Instant::now();
    loop {
        let (s, v) = a.verify(&uncached).await;
        if s == 200 && v["certificate_state"] == "current" && v["summary"]["level"] == "valid" {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no recovery: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "PostgreSQL back after {down_for:?}: live verdicts again {:?} after it accepted connections",
        t.elapsed()
    );
    let copy = usage_copy(&a, &never_seen, "恢复后的投标").await;
    assert!(copy["id"].is_u64(), "{copy}");
    let (s, ready) = a.get("/readyz").await;
    assert_eq!(
        (s, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );
}
