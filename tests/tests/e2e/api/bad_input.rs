//! Bad input gets a precise error code and a Chinese message, and writes nothing.

use serde_json::json;
use zizhi_tests::{
    Backend, ISSUER_TOKEN, TestApp, TestEnv, credit_code, enterprise_json,
    enterprise_with_certificate, on_both_backends,
};

async fn event_count(app: &TestApp) -> usize {
    let (_, e) = app
        .issuer("GET", "/api/v1/issuer/events?limit=1000", None)
        .await;
    e.as_array().unwrap().len()
}

async fn malformed_bodies_are_refused_with_precise_codes_and_nothing_is_written(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海闵行建设有限公司", "91310112MA1FL0030").await;
    let before = event_count(&app).await;
    let post = |path: String, body: String, ct: &'static str| {
        let req = app
            .client
            .post(app.url(&path))
            .bearer_auth(ISSUER_TOKEN)
            .header("content-type", ct)
            .body(body);
        async move {
            let res = req.send().await.unwrap();
            let s = res.status().as_u16();
            (s, res.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    let ent = "/api/v1/issuer/enterprises".to_string();
    let usage = format!("/api/v1/issuer/certificates/{number}/usage-copies");

    let cases: Vec<(u16, &str, String, String, &'static str)> = vec![
        (400, "malformed_json", ent.clone(), "{\"name\": ".into(), "application/json"),
        (400, "content_type", ent.clone(), "{}".into(), "text/plain"),
        (400, "invalid_body", ent.clone(), {
            let mut e = enterprise_json("上海某公司", &credit_code("91310112MA1FL0031"));
            e["unexpected"] = json!(1);
            e.to_string()
        }, "application/json"),
        (400, "invalid_credit_code", ent.clone(), enterprise_json("上海某公司", "91310112MA1FL00310").to_string(), "application/json"),
        (400, "empty_field", ent.clone(), enterprise_json("   ", &credit_code("91310112MA1FL0032")).to_string(), "application/json"),
        (409, "enterprise_exists", ent.clone(), enterprise_json("重复登记", &code).to_string(), "application/json"),
        (400, "period_ends_before_start", usage.clone(), json!({"purpose": "投标", "from": "2026-12-31", "to": "2026-12-01"}).to_string(), "application/json"),
        (400, "usage_period_outside_validity", usage.clone(), json!({"purpose": "投标", "from": zizhi_tests::today().to_string(), "to": "2099-01-01"}).to_string(), "application/json"),
        (400, "empty_field", usage.clone(), json!({"purpose": " ", "from": "2026-12-01", "to": "2026-12-31"}).to_string(), "application/json"),
        (400, "field_too_long", usage.clone(), json!({"purpose": "很".repeat(31), "from": "2026-12-01", "to": "2026-12-31"}).to_string(), "application/json"),
        (400, "invalid_body", usage.clone(), json!({"purpose": "投标", "from": "2026-13-01", "to": "2026-12-31"}).to_string(), "application/json"),
        // PostgreSQL cannot store a NUL, and no certificate prints a control character.
        (400, "control_character", format!("/api/v1/issuer/enterprises/{code}/qualifications"), json!({"category": "design", "item": "建筑\u{0}行业", "grade": "甲级", "valid_until": "2030-01-01"}).to_string(), "application/json"),
        (400, "control_character", ent.clone(), enterprise_json("上海\n某公司", &credit_code("91310112MA1FL0033")).to_string(), "application/json"),
        (400, "unknown_category", format!("/api/v1/issuer/enterprises/{code}/qualifications"), json!({"category": "bakery", "item": "面包", "grade": "一级"}).to_string(), "application/json"),
        (400, "validity_ends_before_approval", format!("/api/v1/issuer/certificates/{number}/renew"), json!({"approved_on": "2026-01-01", "valid_until": "2025-01-01"}).to_string(), "application/json"),
        (404, "certificate_not_found", "/api/v1/issuer/certificates/D999999999/approval-copy".into(), String::new(), "application/json"),
        (404, "enterprise_not_found", format!("/api/v1/issuer/enterprises/{}/qualifications", credit_code("91310112MA1FL0099")), json!({"category": "design", "item": "建筑行业（建筑工程）", "grade": "甲级", "valid_until": "2030-01-01"}).to_string(), "application/json"),
        (413, "body_too_large", ent.clone(), format!("{{\"name\": \"{}\"}}", "x".repeat(200_000)), "application/json"),
    ];
    for (status, code, path, body, ct) in cases {
        let (s, v) = post(path.clone(), body, ct).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (status, Some(code)),
            "{path}: {v}"
        );
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    assert_eq!(
        event_count(&app).await,
        before,
        "a refused request must not write anything"
    );
    let (_, copies) = app
        .issuer(
            "GET",
            &format!("/api/v1/issuer/certificates/{number}/copies"),
            None,
        )
        .await;
    assert_eq!(copies.as_array().unwrap().len(), 0);
    // A NUL matches no name (none can hold one) instead of failing the query.
    let (s, v) = app.get("/api/v1/enterprises?q=%E4%B8%8A%00").await;
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)), "{v}");

    // A verify body that is too large, or not text.
    let res = app
        .client
        .post(app.url("/api/v1/verify"))
        .body("A".repeat(100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let res = app
        .client
        .post(app.url("/api/v1/verify"))
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (s, v) = app.verify(&"A".repeat(3000)).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("too_long")), "{v}");

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    malformed_bodies_are_refused_with_precise_codes_and_nothing_is_written,
    super::malformed_bodies_are_refused_with_precise_codes_and_nothing_is_written
);

async fn a_failure_midway_leaves_nothing_half_written(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let code: zizhi_shared::CreditCode = credit_code("91310113MA1FL0040").parse().unwrap();
    let (s, _) = app
        .issuer(
            "POST",
            "/api/v1/issuer/enterprises",
            Some(enterprise_json("上海宝山建设有限公司", code.as_str())),
        )
        .await;
    assert_eq!(s, 201);
    let before = event_count(&app).await;
    // The second qualification repeats the first: the certificate row and the first
    // qualification are already inserted when this fails, and must be rolled back.
    let q = zizhi_shared::Qualification {
        category: zizhi_shared::Category::Construction,
        item: "建筑工程施工总承包".into(),
        grade: "三级".into(),
    };
    let number: zizhi_shared::CertificateNumber = "D231000777".parse().unwrap();
    let today = zizhi_tests::today();
    let err = app
        .server
        .state
        .store
        .create_certificate(
            "test",
            &code,
            &number,
            today,
            today + chrono::Duration::days(100),
            &[q.clone(), q.clone()],
            "发证机关",
            chrono::Utc::now(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "duplicate_qualification");
    assert!(
        app.server
            .state
            .store
            .certificate_status(&number)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(event_count(&app).await, before);
    // The same call without the duplicate succeeds, so nothing stale blocks it.
    app.server
        .state
        .store
        .create_certificate(
            "test",
            &code,
            &number,
            today,
            today + chrono::Duration::days(100),
            &[q],
            "发证机关",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_failure_midway_leaves_nothing_half_written,
    super::a_failure_midway_leaves_nothing_half_written
);

async fn public_endpoints_are_rate_limited_per_client(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_minute = 3;
    settings.rate_limit.burst = 2;
    let app = TestApp::start(settings).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let res = app
            .client
            .get(app.url("/api/v1/enterprises?q=上海"))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
            let v: serde_json::Value = res.json().await.unwrap();
            assert_eq!(v["error"], "rate_limited");
        }
    }
    assert_eq!(statuses[0], 200);
    assert!(statuses.contains(&429), "{statuses:?}");
    // The issuer API is not throttled by the public limit.
    let (s, _) = app.issuer("GET", "/api/v1/issuer/events", None).await;
    assert_eq!(s, 200);
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    public_endpoints_are_rate_limited_per_client,
    super::public_endpoints_are_rate_limited_per_client
);
