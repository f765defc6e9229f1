//! The enterprise portal (`/portal/`) in headless Chromium with its virtual WebAuthn
//! authenticator (`tests/peers/portal_browser.js`): invited by the issuer, the enterprise's
//! administrator registers a passkey, claims the approval copy, makes usage copies (each
//! approved by a fresh assertion and the signing-key password), downloads one (pdfsig: two
//! valid signatures), withdraws one; the issuer revokes a qualification and the old copy is
//! listed as no longer downloadable and verifies as superseded. Attacks on the step-up and
//! the session are refused one by one. Screenshots of every page at 1280×800 and 375×667 go
//! to `target/screenshots/portal-*.png`.

mod account;
mod changes;
mod console;
mod sessions;

use chrono::Duration;
use serde_json::{Value, json};
use zizhi_tests::{Backend, TestApp, TestEnv, enterprise_with_certificate, screenshots_dir};

use crate::documents::{tools, validators};

/// The portal's address: browsers refuse an IP address as a passkey relying party.
pub fn localhost(app: &TestApp) -> String {
    app.url("")
        .replace("127.0.0.1", "localhost")
        .trim_end_matches('/')
        .to_owned()
}

/// Runs the browser steps; one observation per step.
pub async fn portal_browser(app: &TestApp, steps: Vec<Value>) -> Vec<Value> {
    let _one_chromium = zizhi_tests::one_chromium_at_a_time().await;
    let input = json!({ "base": localhost(app), "shots": screenshots_dir(), "steps": steps });
    tokio::task::spawn_blocking(move || {
        zizhi_tests::require_chromium();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/portal_browser.js");
        zizhi_tests::run_json_peer("node", script, &input)
    })
    .await
    .expect("browser thread")
}

/// An invitation for the enterprise `code`, through the issuer API.
pub async fn invite(app: &TestApp, code: &str) -> String {
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/enterprises/{code}/invitation"),
            Some(json!({ "display_name": "李敏" })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["login_name"], code);
    b["path"].as_str().expect("path").to_owned()
}

const PASSWORD: &str = "qiye-mima-2026";

async fn copy_text(app: &TestApp, id: u64) -> String {
    let (s, b) = app
        .issuer("GET", &format!("/api/v1/issuer/copies/{id}"), None)
        .await;
    assert_eq!(s, 200, "{b}");
    b["qr_text"].as_str().expect("qr_text").to_owned()
}

/// The live verdict of a copy: its signature result, certificate state and warning codes.
async fn verdict(app: &TestApp, id: u64) -> (String, String, Vec<String>) {
    let (s, v) = app.verify(&copy_text(app, id).await).await;
    assert_eq!(s, 200, "{v}");
    let text = |x: &Value| x.as_str().unwrap_or_default().to_owned();
    let warnings = v["warnings"]
        .as_array()
        .map(|a| a.iter().map(|w| text(&w["code"])).collect())
        .unwrap_or_default();
    (
        text(&v["signature"]),
        text(&v["certificate_state"]),
        warnings,
    )
}

fn copy_id(step: &Value) -> u64 {
    step["done"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no copy made: {step}"))
}

#[tokio::test]
async fn an_invited_enterprise_claims_makes_downloads_and_withdraws_copies_with_its_passkey() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海申城建设工程有限公司", "91310000MA1FP0001").await;
    let link = invite(&app, &code).await;
    let today = zizhi_tests::today();
    let (from, to) = (today.to_string(), (today + Duration::days(60)).to_string());
    let pdf_file = env.dir.path().join("usage.pdf");
    let r = portal_browser(
        &app,
        vec![
            json!({ "op": "invite", "path": link, "key_name": "办公室电脑", "password": PASSWORD }),
            json!({ "op": "shots", "name": "certificates", "path": "/portal/" }),
            json!({ "op": "shots", "name": "claim", "path": format!("/portal/certificates/{number}/claim") }),
            json!({ "op": "claim", "number": number }),
            json!({ "op": "shots", "name": "usage-form", "path": format!("/portal/certificates/{number}/usage") }),
            json!({ "op": "usage", "number": number, "purpose": "闵行区某学校新建工程投标", "from": from, "to": to, "password": PASSWORD }),
            json!({ "op": "usage", "number": number, "purpose": "浦东新区某道路改造工程投标", "from": from, "to": to, "password": PASSWORD }),
            json!({ "op": "records", "number": number }),
            json!({ "op": "shots", "name": "records", "path": format!("/portal/certificates/{number}/copies") }),
            json!({ "op": "shots", "name": "account", "path": "/portal/account" }),
            json!({ "op": "logout" }),
            json!({ "op": "shots", "name": "login", "path": "/login?audience=enterprise" }),
            json!({ "op": "login", "login_name": code }),
        ],
    )
    .await;
    let back = &r[12];
    assert!(
        back["url"].as_str().unwrap().ends_with("/portal/"),
        "signed in again with the same key: {back}"
    );
    let invited = &r[0];
    assert!(
        invited["url"].as_str().unwrap().ends_with("/portal/"),
        "{invited}"
    );
    assert_eq!(invited["certificates"], json!([number]), "{invited}");
    assert!(
        invited["who"].as_str().unwrap().contains("李敏"),
        "{invited}"
    );
    for shot in r.iter().filter(|s| s["op"] == "shots") {
        assert_eq!(shot["status"], 200, "{shot}");
        assert_eq!(
            shot["overflow_375"], 0,
            "the page scrolls sideways on a phone: {shot}"
        );
        assert_eq!(shot["overflow_1280"], 0, "{shot}");
    }
    let claimed = &r[3];
    assert!(
        claimed["regions"]["b"]
            .as_str()
            .unwrap()
            .contains("上海申城建设工程有限公司"),
        "{claimed}"
    );
    assert!(
        claimed["regions"]["c"]
            .as_str()
            .unwrap()
            .contains("建筑工程施工总承包 二级"),
        "{claimed}"
    );
    let approval = copy_id(claimed);
    let first = copy_id(&r[5]);
    let second = copy_id(&r[6]);
    assert!(first != second && first != approval);
    let records = &r[7];
    let rows = records["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        3,
        "two usage copies and the approval copy: {records}"
    );
    assert!(
        rows.iter().all(|row| row["downloadable"] == true),
        "{records}"
    );
    // Newest first, numbered as the guide's table.
    assert_eq!(rows[0]["copy"], second, "{records}");
    assert!(
        rows[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("2 浦东新区某道路改造工程投标"),
        "{records}"
    );

    // Each verifies as issued; the usage copy's PDF carries both signatures.
    for id in [approval, first, second] {
        let (signature, state, warnings) = verdict(&app, id).await;
        assert_eq!(
            (signature.as_str(), state.as_str()),
            ("valid", "current"),
            "copy {id}: {warnings:?}"
        );
        let expected: &[&str] = if id == approval {
            &["approval_copy_not_for_business"]
        } else {
            &[]
        };
        assert_eq!(warnings, expected, "copy {id}");
    }
    let r = portal_browser(
        &app,
        vec![
            json!({ "op": "goto", "path": "/portal/" }),
            json!({ "op": "download", "path": format!("/portal/copies/{first}.pdf"), "save": pdf_file }),
            json!({ "op": "download", "path": format!("/portal/copies/{first}.png") }),
            json!({ "op": "download", "path": format!("/portal/copies/{first}/qr/svg") }),
        ],
    )
    .await;
    // A new browser has no session: the portal sends it to the sign-in page.
    assert!(
        r[0]["url"]
            .as_str()
            .unwrap()
            .contains("/login?audience=enterprise"),
        "{}",
        r[0]
    );
    assert_ne!(
        r[1]["type"], "application/pdf",
        "no file without a session: {}",
        r[1]
    );

    // Signed in again with the same key (a fresh browser has it too: the virtual
    // authenticator is per browser, so this run registers through a second invitation).
    let link = invite(&app, &code).await;
    let r = portal_browser(
        &app,
        vec![
            json!({ "op": "invite", "path": link, "key_name": "备用电脑", "password": PASSWORD }),
            json!({ "op": "download", "path": format!("/portal/copies/{first}.pdf"), "save": pdf_file }),
            json!({ "op": "download", "path": format!("/portal/copies/{first}.png") }),
            json!({ "op": "download", "path": format!("/portal/copies/{first}/qr/svg") }),
            json!({ "op": "download", "path": format!("/portal/copies/{first}/qr/png") }),
            json!({ "op": "shots", "name": "withdraw", "path": format!("/portal/copies/{second}/withdraw") }),
            json!({ "op": "withdraw", "copy": second, "reason": "项目已取消" }),
            json!({ "op": "attacks", "number": number, "password": PASSWORD, "from": from, "to": to }),
            json!({ "op": "records", "number": number }),
            json!({ "op": "shots", "name": "records-verified", "path": format!("/portal/certificates/{number}/copies") }),
        ],
    )
    .await;
    // 核验次数: each copy was verified once above, today, and the page says so.
    let listed = r[8]["rows"].as_array().unwrap();
    for id in [approval, first] {
        let row = listed
            .iter()
            .find(|row| row["copy"] == id)
            .unwrap_or_else(|| panic!("copy {id} listed: {listed:?}"));
        assert!(
            row["text"].as_str().unwrap().contains("共 1 次"),
            "copy {id} verified once: {row}"
        );
    }
    assert_eq!(r[9]["status"], 200, "{}", r[9]);
    assert_eq!(r[1]["status"], 200, "{}", r[1]);
    assert_eq!(r[1]["type"], "application/pdf", "{}", r[1]);
    assert_eq!(r[2]["type"], "image/png", "{}", r[2]);
    assert_eq!(r[3]["type"], "image/svg+xml", "{}", r[3]);
    assert_eq!(r[4]["type"], "image/png", "{}", r[4]);
    let v = validators(&app, &env).await;
    let sig = v.pdfsig(std::path::Path::new(pdf_file.to_str().unwrap()));
    assert_eq!((sig.signatures, sig.valid), (2, 2), "{}", sig.report);
    assert!(tools::pdftotext(&pdf_file).contains("闵行区某学校新建工程投标"));
    assert_eq!(r[6]["done"], second.to_string(), "{}", r[6]);
    let (signature, _, warnings) = verdict(&app, second).await;
    assert_eq!(signature, "valid");
    assert!(
        warnings.iter().any(|w| w == "copy_withdrawn"),
        "{warnings:?}"
    );

    let attacks = &r[7];
    let code_of = |k: &str| (attacks[k]["status"].clone(), attacks[k]["error"].clone());
    assert_eq!(
        attacks["first"]["status"], 200,
        "the honest request works: {attacks}"
    );
    for (what, status, code) in [
        ("no_assertion", 400, "assertion_required"),
        ("replayed", 401, "sign_in_failed"),
        ("purpose_changed", 401, "sign_in_failed"),
        ("other_ceremony", 401, "sign_in_failed"),
        ("uv_cleared", 401, "sign_in_failed"),
        ("csrf_missing", 403, "csrf_invalid"),
        ("csrf_wrong", 403, "csrf_invalid"),
        ("wrong_password", 400, "wrong_password"),
        ("purpose_too_long", 400, "field_too_long"),
        ("purpose_control", 400, "control_character"),
        ("period_outside", 400, "usage_period_outside_validity"),
        ("period_reversed", 400, "period_ends_before_start"),
    ] {
        assert_eq!(
            code_of(what),
            (json!(status), json!(code)),
            "{what}: {attacks}"
        );
    }

    // The issuer revokes a qualification: a new version; the old copies are listed as no
    // longer downloadable, with a link to the current certificate, and verify as superseded.
    let q = zizhi_tests::qualification_id(&app, &number, "市政公用工程施工总承包").await;
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{q}/revoke"),
            Some(json!({ "note": "资质核查不合格" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let r = portal_browser(
        &app,
        vec![
            json!({ "op": "invite", "path": invite(&app, &code).await, "key_name": "第三台电脑", "password": PASSWORD }),
            json!({ "op": "records", "number": number }),
        ],
    )
    .await;
    let rows = r[1]["rows"].as_array().unwrap();
    let old = rows
        .iter()
        .find(|row| row["copy"] == first)
        .expect("first copy listed");
    assert_eq!(old["downloadable"], false, "{old}");
    assert_eq!(old["reason"], "copy_superseded", "{old}");
    assert_eq!(old["current_link"], true, "{old}");
    let (_, state, _) = verdict(&app, first).await;
    // A qualification it prints was revoked: the verdict says so, more than "superseded".
    assert_eq!(state, "revoked");

    app.stop().await;
    env.finish().await;
}
