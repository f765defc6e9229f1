//! Requests racing for one certificate: applied one after the other or refused with 409,
//! never a 500; one approval copy however many claim it at once; a retried request with its
//! `Idempotency-Key` gets the copy the first one made.

use futures::future::join_all;
use serde_json::{Value, json};
use zizhi_tests::{
    Backend, ISSUER_TOKEN, TestApp, TestEnv, enterprise_with_certificate, on_both_backends,
    qualification_id,
};

async fn usage_request(
    app: &TestApp,
    number: &str,
    purpose: &str,
    key: Option<&str>,
) -> (u16, Option<String>, Value) {
    let today = zizhi_tests::today();
    let mut req = app
        .client
        .post(app.url(&format!(
            "/api/v1/issuer/certificates/{number}/usage-copies"
        )))
        .bearer_auth(ISSUER_TOKEN)
        .json(&json!({ "purpose": purpose, "from": today.to_string(),
                       "to": (today + chrono::Duration::days(30)).to_string() }));
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, res.json().await.unwrap_or(Value::Null))
}

async fn concurrent_changes_to_one_certificate_apply_one_at_a_time_or_get_409(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海浦东建设有限公司", "91310115MA1FL0138").await;
    let building = qualification_id(&app, &number, "建筑工程施工总承包").await;
    let municipal = qualification_id(&app, &number, "市政公用工程施工总承包").await;
    let changes = [
        (building, "suspend"),
        (building, "revoke"),
        (building, "cancel"),
        (building, "reinstate"),
        (municipal, "suspend"),
        (municipal, "revoke"),
        (municipal, "reinstate"),
    ];
    let paths: Vec<String> = changes
        .iter()
        .map(|(q, action)| format!("/api/v1/issuer/qualifications/{q}/{action}"))
        .collect();
    let purposes: Vec<String> = (0..4).map(|i| format!("并发投标{i}")).collect();
    let changed = paths.iter().map(|p| app.issuer("POST", p, Some(json!({}))));
    let copies = purposes
        .iter()
        .map(|p| usage_request(&app, &number, p, None));
    let (changed, copies) = tokio::join!(join_all(changed), join_all(copies));
    for ((s, body), (q, action)) in changed.iter().zip(changes) {
        assert!(
            *s == 200 || (*s == 409 && body["error"] == "qualification_state"),
            "{action} {q}: {s} {body}"
        );
    }
    for (s, _, body) in &copies {
        // Issued, or refused because nothing was left in force by then.
        assert!(*s == 201 || *s == 422, "{s} {body}");
    }
    // Whatever the order, the versions are one gapless sequence.
    let (s, details) = app.get(&format!("/api/v1/certificates/{number}")).await;
    assert_eq!(s, 200, "{details}");
    let versions: Vec<u64> = details["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=versions.len() as u64).collect();
    assert_eq!(versions, expected);
    // Something was applied, and the register ends in a state its rules allow.
    assert!(changed.iter().any(|(s, _)| *s == 200));
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    concurrent_changes_to_one_certificate_apply_one_at_a_time_or_get_409,
    super::concurrent_changes_to_one_certificate_apply_one_at_a_time_or_get_409
);

async fn concurrent_claims_of_the_approval_copy_make_one_copy(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海长宁建设有限公司", "91310105MA1FL0149").await;
    let path = format!("/api/v1/issuer/certificates/{number}/approval-copy");
    let claims = join_all((0..8).map(|_| app.issuer("POST", &path, None))).await;
    let ids: Vec<u64> = claims
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 201, "{b}");
            b["id"].as_u64().unwrap()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let (_, copies) = app
        .issuer(
            "GET",
            &format!("/api/v1/issuer/certificates/{number}/copies"),
            None,
        )
        .await;
    assert_eq!(copies.as_array().unwrap().len(), 1, "{copies}");
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    concurrent_claims_of_the_approval_copy_make_one_copy,
    super::concurrent_claims_of_the_approval_copy_make_one_copy
);

async fn a_retried_request_with_its_idempotency_key_gets_the_same_copy(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海静安建设有限公司", "91310106MA1FL0150").await;
    let key = "c0ffee00-0000-4000-8000-000000000001";
    let (s, replayed, first) = usage_request(&app, &number, "静安区某工程投标", Some(key)).await;
    assert_eq!((s, replayed.as_deref()), (201, Some("false")), "{first}");
    let (s, replayed, again) = usage_request(&app, &number, "静安区某工程投标", Some(key)).await;
    assert_eq!((s, replayed.as_deref()), (201, Some("true")), "{again}");
    assert_eq!(first, again, "the retry gets the very same copy");

    // The same key for another request is refused, and so are malformed keys.
    let (s, _, body) = usage_request(&app, &number, "另一个投标", Some(key)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("idempotency_key_reused")),
        "{body}"
    );
    let long = "k".repeat(201);
    for bad in ["", "has space", long.as_str()] {
        let (s, _, body) = usage_request(&app, &number, "格式测试", Some(bad)).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("idempotency_key_invalid")),
            "{bad:?}: {body}"
        );
    }

    // Many retries at once: one copy.
    let key = "c0ffee00-0000-4000-8000-000000000002";
    let answers =
        join_all((0..6).map(|_| usage_request(&app, &number, "并发重试", Some(key)))).await;
    let ids: Vec<u64> = answers
        .iter()
        .map(|(s, _, b)| {
            assert_eq!(*s, 201, "{b}");
            b["id"].as_u64().unwrap()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let (_, copies) = app
        .issuer(
            "GET",
            &format!("/api/v1/issuer/certificates/{number}/copies"),
            None,
        )
        .await;
    let made = copies
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["usage"]["purpose"] == "并发重试")
        .count();
    assert_eq!(made, 1, "{copies}");
    // Without a key, every request is a new copy.
    let (s1, _, a) = usage_request(&app, &number, "无键投标", None).await;
    let (s2, _, b) = usage_request(&app, &number, "无键投标", None).await;
    assert_eq!((s1, s2), (201, 201));
    assert_ne!(a["id"], b["id"]);
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_retried_request_with_its_idempotency_key_gets_the_same_copy,
    super::a_retried_request_with_its_idempotency_key_gets_the_same_copy
);
