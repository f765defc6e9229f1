//! Several server instances on one PostgreSQL + Redis.

use serde_json::json;
use zizhi_tests::{
    Backend, TestApp, TestEnv, enterprise_with_certificate, qualification_id, usage_copy,
};

#[tokio::test]
async fn a_revocation_through_one_instance_is_seen_by_another_on_the_first_try() {
    let env = TestEnv::new(Backend::Postgres).await;
    let a = TestApp::start(env.settings()).await;
    let b = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&a, "上海杨浦建设有限公司", "91310110MA1FL0050").await;
    let copy = usage_copy(&a, &number, "杨浦区某学校新建工程投标").await;
    let text = copy["qr_text"].as_str().unwrap();

    // B has the status cached as current.
    for _ in 0..3 {
        let (_, v) = b.verify(text).await;
        assert_eq!(v["certificate_state"], "current", "{v}");
    }
    let qid = qualification_id(&a, &number, "建筑工程施工总承包").await;
    let (s, _) = a
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/revoke"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, v) = b.verify(text).await;
    assert_eq!(
        v["certificate_state"], "revoked",
        "first answer from B after the revocation: {v}"
    );
    assert_eq!(v["summary"]["level"], "invalid");

    // A withdrawal through B is seen by A.
    let other = usage_copy(&a, &number, "杨浦区某道路工程投标").await;
    let (_, v) = a.verify(other["qr_text"].as_str().unwrap()).await;
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["code"] != "copy_withdrawn")
    );
    let id = other["id"].as_u64().unwrap();
    let (s, _) = b
        .issuer(
            "POST",
            &format!("/api/v1/issuer/copies/{id}/withdraw"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (_, v) = a.verify(other["qr_text"].as_str().unwrap()).await;
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "copy_withdrawn"),
        "{v}"
    );

    a.stop().await;
    b.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn the_rate_limit_is_shared_across_instances() {
    let env = TestEnv::new(Backend::Postgres).await;
    let mut settings = env.settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_minute = 4;
    settings.rate_limit.burst = 0;
    let a = TestApp::start(settings.clone()).await;
    let b = TestApp::start(settings).await;
    let mut ok = 0;
    let mut limited = 0;
    for i in 0..10 {
        let app = if i % 2 == 0 { &a } else { &b };
        let res = app
            .client
            .get(app.url("/api/v1/enterprises?q=上海"))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            200 => ok += 1,
            429 => limited += 1,
            s => panic!("unexpected {s}"),
        }
    }
    // A minute window may roll over mid-test, which allows at most one more budget.
    assert!(ok <= 8 && limited >= 2, "ok {ok}, limited {limited}");
    a.stop().await;
    b.stop().await;
    env.finish().await;
}
