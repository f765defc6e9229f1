//! 账户 and 使用记录 over plain HTTP: API tokens (shown once, acting for the enterprise on its
//! API, refused once revoked, never another enterprise's to revoke, at most ten in force),
//! the verification counts of each copy by day (counted, written, kept across a restart,
//! never counting a forged code), and the staff's own key page in the console.

use zizhi_server::accounts::Role;
use zizhi_tests::{Backend, TestApp, TestEnv, enterprise_with_certificate, on_both_backends};

use super::sessions::{account, demo, signed_in};

/// The value of the first `attr="…"` after `marker` in a page.
fn attr_after(body: &str, marker: &str, attr: &str) -> Option<String> {
    let at = body.find(marker)?;
    let rest = &body[at..];
    let start = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
    let rest = &rest[start..];
    Some(rest[..rest.find('"')?].to_owned())
}

async fn enterprise_api(app: &TestApp, token: &str) -> (u16, serde_json::Value) {
    let res = app
        .client
        .get(app.url("/api/v1/enterprise/certificates"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

async fn api_tokens(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(demo(env.settings())).await;
    let (code_a, number_a) =
        enterprise_with_certificate(&app, "上海令牌甲建设有限公司", "91310000MA1FT0011").await;
    let (code_b, _) =
        enterprise_with_certificate(&app, "上海令牌乙建设有限公司", "91310000MA1FT0012").await;
    let admin_a = account(&app, Role::EnterpriseAdmin, &code_a, Some(&code_a)).await;
    let admin_b = account(&app, Role::EnterpriseAdmin, &code_b, Some(&code_b)).await;
    let mut a = signed_in(&app, &admin_a).await;
    let csrf = a.csrf("/portal/account").await;

    // Without the form's CSRF token nothing is created.
    let r = a
        .post("/portal/account/tokens", &[("name", "投标系统")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A name with a control character is refused with its reason.
    let r = a
        .post(
            "/portal/account/tokens",
            &[("csrf", &csrf), ("name", "投标\u{7}系统")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("label_invalid"), "{}", r.body);

    // Created: the token is on this page and nowhere after it.
    let r = a
        .post(
            "/portal/account/tokens",
            &[("csrf", &csrf), ("name", "投标系统")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = attr_after(&r.body, "data-testid=\"new-token\"", "value")
        .or_else(|| attr_after(&r.body, "id=\"token\"", "value"))
        .expect("the new token on the page");
    assert!(token.starts_with("zzent_") && token.len() > 40, "{token}");
    let listed = a.get("/portal/account").await;
    assert!(listed.body.contains("投标系统"), "{}", listed.body);
    assert!(
        !listed.body.contains(&token),
        "the token is shown only once"
    );

    // It acts for enterprise A on the enterprise API, and only for A.
    let (s, body) = enterprise_api(&app, &token).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.to_string().contains(&number_a), "{body}");

    // Another enterprise's administrator cannot see or revoke it.
    let id = {
        let at = listed
            .body
            .find("/portal/account/tokens/")
            .expect("a revoke link");
        let rest = &listed.body[at + "/portal/account/tokens/".len()..];
        rest[..rest.find('/').unwrap()].to_owned()
    };
    let mut b = signed_in(&app, &admin_b).await;
    let csrf_b = b.csrf("/portal/account").await;
    let r = b.get(&format!("/portal/account/tokens/{id}/revoke")).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = b
        .post(
            &format!("/portal/account/tokens/{id}/revoke"),
            &[("csrf", &csrf_b)],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("api_token_not_found"), "{}", r.body);
    assert_eq!(enterprise_api(&app, &token).await.0, 200, "still in force");

    // Revoked by A (after the confirmation page): refused at once, and listed as revoked.
    let confirm = a.get(&format!("/portal/account/tokens/{id}/revoke")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("确认吊销"));
    let r = a
        .post(
            &format!("/portal/account/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(enterprise_api(&app, &token).await.0, 401);
    let listed = a.get("/portal/account").await;
    assert!(listed.body.contains("已吊销"), "{}", listed.body);
    let r = a
        .post(
            &format!("/portal/account/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 409, "revoked once: {}", r.body);

    // At most ten in force at once.
    let mut statuses = Vec::new();
    for i in 0..11 {
        let name = format!("系统{i}");
        let r = a
            .post(
                "/portal/account/tokens",
                &[("csrf", &csrf), ("name", &name)],
            )
            .await;
        statuses.push(r.status);
        if r.status != 201 {
            assert!(r.body.contains("too_many_api_tokens"), "{}", r.body);
        }
    }
    assert_eq!(statuses[..10], [201; 10], "{statuses:?}");
    assert_eq!(statuses[10], 422, "{statuses:?}");

    // Each creation and the revocation are in the log under the administrator's account.
    let events = app.server.state.store.events(0, 10_000).await.unwrap();
    let mine = |action: &str| {
        events
            .iter()
            .filter(|e| e.action == action && e.actor == admin_a.actor())
            .count()
    };
    assert_eq!(mine("api_token.create"), 11);
    assert_eq!(mine("api_token.revoke"), 1);

    app.stop().await;
    env.finish().await;
}

on_both_backends!(
    api_tokens_are_shown_once_act_for_their_enterprise_and_stop_when_revoked,
    super::api_tokens
);

/// The verification-count cell of a copy's row on 使用记录: (total, the day lines).
fn counts_on(page: &str, copy: u64) -> (u64, String) {
    let row = &page[page
        .find(&format!("data-copy=\"{copy}\""))
        .expect("the copy's row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    let total = attr_after(row, "data-testid=\"verifications\"", "data-total")
        .expect("a count cell")
        .parse()
        .unwrap();
    (total, row.to_owned())
}

async fn verification_counts(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(demo(env.settings())).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海核验计数建设有限公司", "91310000MA1FT0013").await;
    let admin = account(&app, Role::EnterpriseAdmin, &code, Some(&code)).await;
    let copy = zizhi_tests::usage_copy(&app, &number, "计数测试").await;
    let id = copy["id"].as_u64().unwrap();
    let qr = copy["qr_text"].as_str().unwrap().to_owned();
    let records = format!("/portal/certificates/{number}/copies");
    let today = zizhi_tests::today().to_string();

    let mut p = signed_in(&app, &admin).await;
    let (total, _) = counts_on(&p.get(&records).await.body, id);
    assert_eq!(total, 0);

    for _ in 0..3 {
        let (s, v) = app.verify(&qr).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["summary"]["level"], "valid", "{v}");
    }
    // A forged code (one signature byte changed) is not a verification of this copy.
    let mut forged = qr.clone().into_bytes();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let (_, v) = app.verify(&String::from_utf8(forged).unwrap()).await;
    assert_ne!(v["summary"]["level"], "valid", "{v}");

    // Seen at once on the instance that served the scans, before anything is written.
    let (total, row) = counts_on(&p.get(&records).await.body, id);
    assert_eq!(total, 3, "{row}");
    assert!(row.contains(&format!("{today}：3 次")), "{row}");

    // Written, then counted once, not twice.
    let state = &app.server.state;
    assert_eq!(state.verify_tally.write(&state.store).await.unwrap(), 1);
    let (total, _) = counts_on(&p.get(&records).await.body, id);
    assert_eq!(total, 3);

    // One more scan, then a restart: the shutdown writes it, the next instance shows it.
    app.verify(&qr).await;
    app.stop().await;
    let app = TestApp::start(demo(env.settings())).await;
    let mut p = signed_in(&app, &admin).await;
    let (total, row) = counts_on(&p.get(&records).await.body, id);
    assert_eq!(total, 4, "{row}");
    assert!(!row.contains("127.0.0.1"), "never who: {row}");

    app.stop().await;
    env.finish().await;
}

on_both_backends!(
    each_copy_shows_its_verifications_by_day_across_a_restart,
    super::verification_counts
);

#[tokio::test]
async fn staff_manage_their_own_keys_in_the_console() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(demo(env.settings())).await;
    let clerk = account(&app, Role::Clerk, "keys.clerk", None).await;
    let mut c = signed_in(&app, &clerk).await;
    let page = c.get("/console/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("我的账户") && page.body.contains("keys.clerk"));
    assert!(
        page.body.contains("本账户尚未登记通行密钥"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("data-begin=\"/console/account/keys/begin\""),
        "{}",
        page.body
    );
    let csrf = c.csrf("/console/account").await;
    // A registration ceremony begins for this staff member (the browser test finishes one).
    let r = c
        .post(
            "/console/account/keys/begin",
            &[("csrf", &csrf), ("key_name", "办公室安全密钥")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let start: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(
        start.to_string().contains("challenge"),
        "a WebAuthn creation request: {start}"
    );
    // The portal's key actions are not the console's: a staff session is refused there.
    let r = c
        .post(
            "/portal/account/keys/begin",
            &[("csrf", &csrf), ("key_name", "x")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Removing a key that is not the account's is refused.
    let r = c
        .post("/console/account/keys/999999/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    app.stop().await;
    env.finish().await;
}
