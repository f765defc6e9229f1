//! Who may download which copy, on SQLite and on PostgreSQL + Redis.

use serde_json::json;
use zizhi_tests::{
    Backend, ISSUER_TOKEN, TestApp, TestEnv, enterprise_with_certificate, on_both_backends,
    qualification_id, usage_copy,
};

use super::{PASSWORD, as_enterprise, download, enrol, enterprise_usage_copy};

async fn download_rules(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (code, number) =
        enterprise_with_certificate(&app, "上海东方建设有限公司", "91310000MA1FL0011").await;
    let (other_code, other_number) =
        enterprise_with_certificate(&app, "上海西岸建设有限公司", "91310000MA1FL0012").await;
    let token = enrol(&app, &code).await;
    let other = enrol(&app, &other_code).await;

    // Without a token, or with an unknown one, nothing.
    let res = app
        .client
        .get(app.url("/api/v1/copies/1.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let (s, _) = download(&app, "zzent_0000", "/api/v1/copies/1.pdf").await;
    assert_eq!(s, 401);

    // A wrong password issues nothing.
    let today = zizhi_tests::today();
    let (s, b) = as_enterprise(
        &app,
        &token,
        "POST",
        &format!("/api/v1/enterprise/certificates/{number}/usage-copies"),
        Some(
            json!({ "purpose": "投标", "from": today.to_string(), "to": today.to_string(),
                     "password": "not the password" }),
        ),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("wrong_password")),
        "{b}"
    );
    let (_, copies) = as_enterprise(
        &app,
        &token,
        "GET",
        &format!("/api/v1/enterprise/certificates/{number}/copies"),
        None,
    )
    .await;
    assert_eq!(copies.as_array().unwrap().len(), 0, "{copies}");

    // Owner and issuer download; another enterprise is told the copy does not exist, and
    // cannot make copies of a certificate not its own.
    let copy = enterprise_usage_copy(&app, &token, &number, "某项目投标").await;
    let pdf = copy["pdf"].as_str().unwrap();
    assert_eq!(download(&app, &token, pdf).await.0, 200);
    assert_eq!(download(&app, ISSUER_TOKEN, pdf).await.0, 200);
    assert_eq!(download(&app, &other, pdf).await.0, 404);
    let (s, _) = as_enterprise(
        &app,
        &other,
        "POST",
        &format!("/api/v1/enterprise/certificates/{number}/approval-copy"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, list) =
        as_enterprise(&app, &other, "GET", "/api/v1/enterprise/certificates", None).await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["number"], other_number.as_str(), "{list}");

    // A usage copy issued through the issuer API has no enterprise signature, so no file.
    let unsigned = usage_copy(&app, &number, "代办").await;
    let (s, body) = download(
        &app,
        ISSUER_TOKEN,
        &format!("/api/v1/copies/{}.pdf", unsigned["id"]),
    )
    .await;
    assert_eq!(s, 422);
    assert!(String::from_utf8_lossy(&body).contains("usage_copy_not_signed"));

    // After an upgrade the copy belongs to a superseded version: refused, clearly.
    let qid = qualification_id(&app, &number, "市政公用工程施工总承包").await;
    let (s, b) = app
        .issuer(
            "POST",
            &format!("/api/v1/issuer/qualifications/{qid}/upgrade"),
            Some(json!({ "grade": "二级" })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, body) = download(&app, &token, pdf).await;
    assert_eq!(s, 422);
    assert!(String::from_utf8_lossy(&body).contains("copy_superseded"));
    // A new copy of the new version downloads.
    let fresh = enterprise_usage_copy(&app, &token, &number, "新版本投标").await;
    assert_eq!(
        download(&app, &token, fresh["pdf"].as_str().unwrap())
            .await
            .0,
        200
    );

    // With every qualification cancelled nothing of the certificate can be downloaded.
    for item in ["建筑工程施工总承包", "市政公用工程施工总承包"] {
        let id = qualification_id(&app, &number, item).await;
        let (s, b) = app
            .issuer(
                "POST",
                &format!("/api/v1/issuer/qualifications/{id}/cancel"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    for token in [token.as_str(), ISSUER_TOKEN] {
        let (s, body) = download(&app, token, fresh["pdf"].as_str().unwrap()).await;
        assert_eq!(s, 422);
        assert!(String::from_utf8_lossy(&body).contains("no_qualification_left"));
    }
    let (s, b) = as_enterprise(
        &app,
        &token,
        "POST",
        &format!("/api/v1/enterprise/certificates/{number}/usage-copies"),
        Some(
            json!({ "purpose": "投标", "from": today.to_string(), "to": today.to_string(),
                     "password": PASSWORD }),
        ),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (422, Some("no_qualification_left")),
        "{b}"
    );

    // The password can be changed; the old one stops working.
    let (s, _) = as_enterprise(
        &app,
        &other,
        "POST",
        "/api/v1/enterprise/credential/password",
        Some(json!({ "old_password": PASSWORD, "new_password": "a new passphrase" })),
    )
    .await;
    assert_eq!(s, 204);
    let (s, b) = as_enterprise(
        &app,
        &other,
        "POST",
        &format!("/api/v1/enterprise/certificates/{other_number}/usage-copies"),
        Some(
            json!({ "purpose": "投标", "from": today.to_string(), "to": today.to_string(),
                     "password": PASSWORD }),
        ),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("wrong_password")),
        "{b}"
    );
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    copies_download_only_for_their_owner_and_current_version,
    super::download_rules
);
