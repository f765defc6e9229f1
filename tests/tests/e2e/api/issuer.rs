//! The issuer API: authentication, certificate versions, copies, the event log, lookup.

use serde_json::json;
use zizhi_tests::{
    Backend, TestApp, TestEnv, credit_code, enterprise_json, enterprise_with_certificate,
    on_both_backends, qualification_id, usage_copy,
};

async fn issuer_actions_need_the_bearer_token(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let body = enterprise_json("上海某公司", &credit_code("91310101MA1FL0010"));
    let res = app
        .client
        .post(app.url("/api/v1/issuer/enterprises"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let res = app
        .client
        .post(app.url("/api/v1/issuer/enterprises"))
        .bearer_auth("wrong-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], "unauthorized");
    let (s, _) = app.get("/api/v1/issuer/events").await;
    assert_eq!(s, 401);
    // Nothing was written.
    let (s, v) = app.get("/api/v1/enterprises?q=上海某公司").await;
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)));
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    issuer_actions_need_the_bearer_token,
    super::issuer_actions_need_the_bearer_token
);

async fn every_change_issues_a_new_version_and_is_logged(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海黄浦建设集团有限公司", "91310101MA1FL0011").await;
    let (_, d) = app.get(&format!("/api/v1/certificates/{number}")).await;
    assert_eq!(d["current_version"], 2, "grant + added item: {d}");
    assert_eq!(
        d["certificate"]["qualifications"].as_array().unwrap().len(),
        2
    );
    let v1_copy = usage_copy(&app, &number, "黄浦区某项目投标").await;

    // Upgrade: new version, old copy now superseded with the change listed.
    let qid = qualification_id(&app, &number, "市政公用工程施工总承包").await;
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/upgrade"),
            Some(json!({ "grade": "二级" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["current_version"], 3);
    // An "upgrade" that lowers the grade is refused.
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/upgrade"),
            Some(json!({ "grade": "三级" })),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("grade_direction")),
        "{b}"
    );

    let (_, v) = app.verify(v1_copy["qr_text"].as_str().unwrap()).await;
    assert_eq!(v["certificate_state"], "superseded", "{v}");
    assert_eq!(v["summary"]["level"], "caution");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "printed_content_outdated")
    );
    assert_eq!(v["changes_since_printed"][0]["change_kind"], "upgrade");
    assert_eq!(v["current_certificate"]["version"], 3);

    // Editing the enterprise block issues a new version too.
    let mut e = enterprise_json("上海黄浦建设集团有限公司", &code);
    e["address"] = json!("上海市黄浦区南京东路1号");
    let (s, b) = app
        .issuer(
            "PUT",
            &format!("/api/v1/issuer/enterprises/{code}"),
            Some(e),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, d) = app.get(&format!("/api/v1/certificates/{number}")).await;
    assert_eq!(d["current_version"], 4);
    assert_eq!(
        d["certificate"]["enterprise"]["address"],
        "上海市黄浦区南京东路1号"
    );
    assert_eq!(d["versions"][3]["change_kind"], "content_change");
    assert!(d["versions"][0]["superseded_at"].is_string());
    assert!(d["versions"][3]["superseded_at"].is_null());

    // Suspend and reinstate.
    let (s, _) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/suspend"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/downgrade"),
            Some(json!({"grade": "三级"})),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (409, Some("qualification_state")),
        "{b}"
    );
    let (s, _) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/reinstate"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/explode"),
            None,
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (404, Some("unknown_action")));

    // The event log has each change, with who made it, in order.
    let (s, events) = app
        .issuer("GET", "/api/v1/issuer/events?limit=1000", None)
        .await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "enterprise.create",
        "qualification.grant",
        "qualification.add",
        "copy.issue_usage",
        "qualification.upgrade",
        "enterprise.update",
        "qualification.suspend",
        "qualification.reinstate",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "issuer" && e["at"].is_string())
    );

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    every_change_issues_a_new_version_and_is_logged,
    super::every_change_issues_a_new_version_and_is_logged
);

async fn revocation_and_withdrawal_are_seen_at_once(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海静安建工有限公司", "91310106MA1FL0012").await;
    let copy = usage_copy(&app, &number, "静安区某医院改扩建工程投标").await;
    let other = usage_copy(&app, &number, "静安区某办公楼装修工程投标").await;
    let text = copy["qr_text"].as_str().unwrap();
    let (_, v) = app.verify(text).await;
    assert_eq!(v["summary"]["level"], "valid", "{v}");

    // Withdraw one copy: that copy reads withdrawn, the other stays valid.
    let id = copy["id"].as_u64().unwrap();
    let (s, _) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/copies/{id}/withdraw"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/copies/{id}/withdraw"),
            None,
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (409, Some("copy_already_withdrawn"))
    );
    let (_, v) = app.verify(text).await;
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "copy_withdrawn"),
        "{v}"
    );
    assert_eq!(v["summary"]["level"], "invalid");
    let (_, v) = app.verify(other["qr_text"].as_str().unwrap()).await;
    assert_eq!(v["summary"]["level"], "valid", "{v}");

    // Revoke a printed qualification: the copy reads revoked straight away.
    let qid = qualification_id(&app, &number, "建筑工程施工总承包").await;
    let (s, _) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/revoke"),
            Some(json!({"note": "吊销"})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, v) = app.verify(other["qr_text"].as_str().unwrap()).await;
    assert_eq!(v["certificate_state"], "revoked", "{v}");
    assert_eq!(v["summary"]["level"], "invalid");
    assert!(
        v["summary"]["message"]
            .as_str()
            .unwrap()
            .contains("建筑工程施工总承包")
    );

    // Cancel the last one: nothing is left, so no copy can be made any more.
    let qid = qualification_id(&app, &number, "市政公用工程施工总承包").await;
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/cancel"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["standing"], "cancelled");
    assert!(b["current_version"].is_null());
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/certificates/{number}/approval-copy"),
            None,
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (422, Some("no_qualification_left")),
        "{b}"
    );
    let (_, d) = app.get(&format!("/api/v1/certificates/{number}")).await;
    assert!(d["certificate"].is_null(), "{d}");

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    revocation_and_withdrawal_are_seen_at_once,
    super::revocation_and_withdrawal_are_seen_at_once
);

async fn approval_copies_follow_the_current_version(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海普陀建设有限公司", "91310107MA1FL0013").await;
    let path = format!("/api/v1/issuer/certificates/{number}/approval-copy");
    let (s, a) = app.issuer("POST", &path, None).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["kind"], "approval");
    let (_, again) = app.issuer("POST", &path, None).await;
    assert_eq!(
        a["id"], again["id"],
        "the same version's approval copy is handed out again"
    );
    let (_, v) = app.verify(a["qr_text"].as_str().unwrap()).await;
    assert_eq!(v["summary"]["level"], "caution");
    assert_eq!(v["warnings"][0]["code"], "approval_copy_not_for_business");

    let qid = qualification_id(&app, &number, "建筑工程施工总承包").await;
    app.issuer(
        "POST",
        &format!("/api/v1/issuer/qualifications/{qid}/upgrade"),
        Some(json!({"grade": "一级"})),
    )
    .await;
    let (_, b) = app.issuer("POST", &path, None).await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(b["certificate_version"], 3);

    // QR images of a copy.
    let id = b["id"].as_u64().unwrap();
    let res = app
        .client
        .get(app.url(&format!("/api/v1/issuer/copies/{id}/qr.png")))
        .bearer_auth(zizhi_tests::ISSUER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert!(res.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let res = app
        .client
        .get(app.url(&format!("/api/v1/issuer/copies/{id}/qr.svg")))
        .bearer_auth(zizhi_tests::ISSUER_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("<svg"));

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    approval_copies_follow_the_current_version,
    super::approval_copies_follow_the_current_version
);

async fn lookup_finds_enterprises_by_name_code_or_number_with_pages(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let mut last = (String::new(), String::new());
    for i in 0..5 {
        last = enterprise_with_certificate(
            &app,
            &format!("上海浦东路桥建设第{i}工程有限公司"),
            &format!("91310115MA1FL002{i}"),
        )
        .await;
    }
    let (s, p) = app.get("/api/v1/enterprises?q=路桥建设&per_page=2").await;
    assert_eq!(s, 200);
    assert_eq!(p["total"], 5);
    assert_eq!(p["items"].as_array().unwrap().len(), 2);
    let (_, p3) = app
        .get("/api/v1/enterprises?q=路桥建设&per_page=2&page=3")
        .await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    let (_, by_code) = app.get(&format!("/api/v1/enterprises?q={}", last.0)).await;
    assert_eq!(by_code["total"], 1);
    assert_eq!(
        by_code["items"][0]["certificates"][0]["number"],
        last.1.as_str()
    );
    let (_, by_number) = app
        .get(&format!("/api/v1/enterprises?q={}", last.1.to_lowercase()))
        .await;
    assert_eq!(by_number["items"][0]["credit_code"], last.0.as_str());
    // LIKE wildcards in the query are matched literally.
    let (_, none) = app.get("/api/v1/enterprises?q=%25").await;
    assert_eq!(none["total"], 0);
    let (s, e) = app.get("/api/v1/enterprises?q=").await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_query")));
    let (s, e) = app.get("/api/v1/certificates/D000000000").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (404, Some("certificate_not_found"))
    );
    let (s, e) = app.get("/api/v1/certificates/nonsense").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_certificate_number"))
    );
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    lookup_finds_enterprises_by_name_code_or_number_with_pages,
    super::lookup_finds_enterprises_by_name_code_or_number_with_pages
);

async fn the_event_log_cannot_be_rewritten(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    enterprise_with_certificate(&app, "上海虹口建设有限公司", "91310109MA1FL0014").await;
    let pool = app.server.state.store.pool();
    assert!(
        sqlx::query("UPDATE events SET actor = 'someone else'")
            .execute(pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM events")
            .execute(pool)
            .await
            .is_err()
    );
    let (_, events) = app.issuer("GET", "/api/v1/issuer/events", None).await;
    assert!(events.as_array().unwrap().len() >= 3);
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    the_event_log_cannot_be_rewritten,
    super::the_event_log_cannot_be_rewritten
);
