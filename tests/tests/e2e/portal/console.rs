//! The issuer console in the browser, with the portal on the other side: a clerk invites an
//! enterprise from the console, its administrator registers a passkey through the link and
//! makes a usage copy; the clerk records a revocation with its legal basis, which a clerk
//! cannot approve and an approver then does; the enterprise's list shows the old copy as no
//! longer downloadable, it verifies as superseded, and the event log names each person.

use chrono::{Duration, Utc};
use serde_json::json;
use zizhi_server::accounts::links::{self, LinkKind};
use zizhi_server::accounts::{Account, Role};
use zizhi_tests::{Backend, TestApp, TestEnv, enterprise_with_certificate};

use super::sessions::staff;
use super::{PASSWORD, portal_browser, verdict};

async fn link(app: &TestApp, account: &Account) -> String {
    links::create(
        &app.server.state.store,
        "test",
        account,
        LinkKind::DemoLogin,
        Utc::now(),
    )
    .await
    .unwrap()
    .0
}

#[tokio::test]
async fn a_clerk_records_a_change_an_approver_approves_it_and_the_enterprise_sees_it() {
    let env = TestEnv::new(Backend::Postgres).await;
    let mut settings = env.settings();
    settings.portal.demo = true;
    let app = TestApp::start(settings).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海浦申市政建设有限公司", "91310000MA1FW0001").await;
    let qualification =
        zizhi_tests::qualification_id(&app, &number, "市政公用工程施工总承包").await;
    let clerk = staff(&app, "zhang.clerk", Role::Clerk, "张经办").await;
    let approver = staff(&app, "wang.approver", Role::Approver, "王审批").await;
    let today = zizhi_tests::today();
    let (from, to) = (today.to_string(), (today + Duration::days(30)).to_string());

    let r = portal_browser(
        &app,
        vec![
            json!({ "op": "link", "path": link(&app, &clerk).await }),
            json!({ "op": "shots", "name": "console-home", "path": "/console/?q=浦申" }),
            json!({ "op": "console_invite", "code": code }),
            json!({ "op": "shots", "name": "console-enterprise", "path": format!("/console/enterprises/{code}") }),
            json!({ "op": "shots", "name": "console-new-enterprise", "path": "/console/enterprises/new" }),
            json!({ "op": "shots", "name": "console-keys", "path": "/console/keys" }),
        ],
    )
    .await;
    assert!(r[0]["who"].as_str().unwrap().contains("张经办"), "{}", r[0]);
    let shown = r[2]["link"].as_str().expect("the link is shown once");
    assert!(
        shown.starts_with("http://localhost:"),
        "a passkey needs the RP id's host: {shown}"
    );
    let invitation = shown[shown.find("/invite/").expect("an invitation path")..].to_owned();
    for shot in r.iter().filter(|s| s["op"] == "shots") {
        assert_eq!(shot["status"], 200, "{shot}");
        assert_eq!(shot["overflow_375"], 0, "{shot}");
    }

    let r = portal_browser(
        &app,
        vec![
            json!({ "op": "invite", "path": invitation, "key_name": "手机", "password": PASSWORD }),
            json!({ "op": "usage", "number": number, "purpose": "徐汇区某道路工程投标", "from": from, "to": to, "password": PASSWORD }),
            // The same browser, now the clerk: records a revocation with its basis.
            json!({ "op": "link", "path": link(&app, &clerk).await }),
            json!({ "op": "shots", "name": "console-change", "path": format!("/console/qualifications/{qualification}/change") }),
            json!({ "op": "record_change", "qualification": qualification, "action": "revoke", "basis": "沪建建管〔2026〕12号" }),
            // A clerk cannot approve, not even by posting the form by hand.
            json!({ "op": "post", "from": "/console/changes", "path": "/console/changes/1/approve" }),
            // The approver approves it.
            json!({ "op": "link", "path": link(&app, &approver).await }),
            json!({ "op": "shots", "name": "console-changes", "path": "/console/changes" }),
            json!({ "op": "approve", "request": 1 }),
            json!({ "op": "events", "query": "actor=wang.approver" }),
            json!({ "op": "shots", "name": "console-events", "path": "/console/events" }),
            // The enterprise signs in with its passkey and sees the change.
            json!({ "op": "login", "login_name": code }),
            json!({ "op": "records", "number": number }),
            json!({ "op": "goto", "path": "/console/" }),
        ],
    )
    .await;
    let copy: u64 = r[1]["done"]
        .as_str()
        .expect("a usage copy")
        .parse()
        .unwrap();
    let recorded = &r[4];
    let request = &recorded["requests"][0];
    assert_eq!(request["id"], 1, "{recorded}");
    assert!(
        request["text"]
            .as_str()
            .unwrap()
            .contains("沪建建管〔2026〕12号"),
        "{recorded}"
    );
    assert_eq!(
        request["can_approve"], false,
        "a clerk sees no approve button: {recorded}"
    );
    assert_eq!(r[5]["status"], 403, "{}", r[5]);
    assert_eq!(r[5]["error"], "role_required", "{}", r[5]);
    assert!(
        r[9]["url"].as_str().unwrap().contains("/console/events"),
        "{}",
        r[9]
    );
    let rows = r[9]["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|row| row[2] == "issuer:wang.approver" && row[3] == "qualification.revoke"),
        "the approval is logged under the approver's own name: {rows:?}"
    );
    assert!(
        r[11]["url"].as_str().unwrap().ends_with("/portal/"),
        "{}",
        r[11]
    );
    let old = r[12]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["copy"] == copy)
        .cloned()
        .expect("the copy is listed");
    assert_eq!(old["downloadable"], false, "{old}");
    assert_eq!(old["reason"], "copy_superseded", "{old}");
    let (_, state, _) = verdict(&app, copy).await;
    // A qualification it prints was revoked: the verdict says so, more than "superseded".
    assert_eq!(state, "revoked");
    // The enterprise's session does not open the console.
    assert!(
        r[13]["url"]
            .as_str()
            .unwrap()
            .contains("/login?audience=issuer"),
        "{}",
        r[13]
    );

    // The clerk's record and the approver's decision, each under its own account.
    let (s, events) = app
        .issuer("GET", "/api/v1/issuer/events?limit=1000", None)
        .await;
    assert_eq!(s, 200);
    let actors: Vec<(String, String)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [
        ("issuer:zhang.clerk", "account.invitation"),
        ("issuer:zhang.clerk", "change_request.record"),
        ("issuer:wang.approver", "qualification.revoke"),
    ] {
        assert!(
            actors.iter().any(|(a, b)| a == want.0 && b == want.1),
            "{want:?} not in {actors:?}"
        );
    }

    // Staff keep their own keys: the approver, signed in by a link, registers a key on 我的账户,
    // signs out, and signs in again with it.
    let r = portal_browser(
        &app,
        vec![
            json!({ "op": "link", "path": link(&app, &approver).await }),
            json!({ "op": "add_key", "path": "/console/account", "key_name": "办公室安全密钥" }),
            json!({ "op": "shots", "name": "console-account", "path": "/console/account" }),
            json!({ "op": "logout" }),
            json!({ "op": "login", "audience": "issuer", "login_name": "wang.approver" }),
        ],
    )
    .await;
    assert_eq!(r[1]["keys"], 1, "{}", r[1]);
    assert!(
        r[1]["url"].as_str().unwrap().contains("done=key_added"),
        "{}",
        r[1]
    );
    assert_eq!(r[2]["status"], 200, "{}", r[2]);
    assert_eq!(r[2]["overflow_375"], 0, "{}", r[2]);
    assert!(
        r[4]["url"].as_str().unwrap().ends_with("/console/"),
        "signed in with the new key: {}",
        r[4]
    );
    app.stop().await;
    env.finish().await;
}
