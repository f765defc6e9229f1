//! The public verification API and trust list.

use zizhi_server::key_ring::{
    KeyRing, RootKeyFile, TrustListChange, offline_root_dir, sign_next_trust_list,
};
use zizhi_shared::trust::KeyRole;
use zizhi_tests::{
    Backend, TestApp, TestEnv, enterprise_with_certificate, on_both_backends, usage_copy,
};

async fn a_scan_verifies_in_any_case_with_or_without_the_url_prefix(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海浦江建设工程有限公司", "91310101MA1FL0001").await;
    let copy = usage_copy(&app, &number, "黄浦区某学校改造工程投标").await;
    let text = copy["qr_text"].as_str().unwrap();
    assert!(
        text.starts_with("HTTPS://ZIZHI.JSGL.SH.GOV.CN/V/"),
        "{text}"
    );
    let base32 = text.rsplit('/').next().unwrap();

    let (s, by_path) = app.get(&format!("/api/v1/verify/{base32}")).await;
    assert_eq!(s, 200, "{by_path}");
    assert_eq!(by_path["signature"], "valid");
    assert_eq!(by_path["certificate_state"], "current");
    assert_eq!(by_path["summary"]["level"], "valid");
    assert_eq!(by_path["claims"]["certificate_number"], number.as_str());
    assert_eq!(by_path["claims"]["kind"], "usage");
    assert_eq!(by_path["current_certificate"]["number"], number.as_str());

    for variant in [
        text.to_owned(),
        text.to_lowercase(),
        format!("  {base32}\n"),
        base32.to_lowercase(),
        text.replace("HTTPS://", "http://"),
    ] {
        let (s, v) = app.verify(&variant).await;
        assert_eq!(s, 200, "{variant}: {v}");
        assert_eq!(v["claims"], by_path["claims"], "{variant}");
        assert_eq!(v["summary"]["level"], "valid");
    }
    let (s, v) = app
        .get(&format!("/api/v1/verify/{}", base32.to_lowercase()))
        .await;
    assert_eq!((s, &v["signature"]), (200, &serde_json::json!("valid")));

    let res = app
        .client
        .post(app.url("/api/v1/verify"))
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_scan_verifies_in_any_case_with_or_without_the_url_prefix,
    super::a_scan_verifies_in_any_case_with_or_without_the_url_prefix
);

async fn the_signature_is_checked_before_the_register_is_consulted(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海申江建设有限公司", "91310104MA1FL0002").await;
    let copy = usage_copy(&app, &number, "徐汇区某道路工程投标").await;
    let text = copy["qr_text"].as_str().unwrap().to_owned();
    let mut bytes = zizhi_shared::QrText::extract(&text).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x40;
    let forged =
        zizhi_shared::QrText::encode("X.CN", &zizhi_shared::SignedPayload::from_bytes(bytes));

    // With the database gone, a forged code is still answered as forged (it never reaches
    // the register), and a genuine one as genuine with its status unknown, never current.
    app.server.state.store.close().await;
    let (s, v) = app.verify(&forged).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["signature"], "invalid");
    assert_eq!(v["summary"]["level"], "invalid");
    let (s, v) = app.verify(&text).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["signature"], "valid");
    assert_eq!(v["summary"]["level"], "caution");
    assert_eq!(v["warnings"][0]["code"], "status_unavailable", "{v}");
    assert!(v["certificate_state"].is_null(), "{v}");

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    the_signature_is_checked_before_the_register_is_consulted,
    super::the_signature_is_checked_before_the_register_is_consulted
);

async fn the_trust_list_opens_with_the_root_key_and_rotation_keeps_old_copies_valid(
    backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海长宁建筑安装有限公司", "91310105MA1FL0003").await;
    let old_copy = usage_copy(&app, &number, "长宁区某住宅项目投标").await;
    let root = app.server.state.keys.current().root().bytes().unwrap();

    let res = app
        .client
        .get(app.url("/.well-known/zizhi/trust-list"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let published: zizhi_server::key_ring::PublishedTrustList = res.json().await.unwrap();
    let list = published
        .open(&root)
        .expect("trust list opens with the root key");
    // The copy-signing key and the snapshot-signing key, each for its role only.
    assert_eq!(list.keys.len(), 2);
    let mut wrong_root = root;
    wrong_root[0] ^= 1;
    assert!(published.open(&wrong_root).is_err());
    app.stop().await;

    // Rotate as an operator would, while the server runs: a new key on the server, the next
    // trust list signed with the offline root, installed; the running instance takes it
    // without a restart.
    let app = TestApp::start(env.settings()).await;
    // Signing keys are in force by UTC date (`KeyRing::signer`), unlike usage periods.
    let today = chrono::Utc::now().date_naive();
    let data = env.data_dir();
    let request = KeyRing::new_online_key(
        &data,
        "SH02",
        KeyRole::CopySigning,
        today,
        "上海市住房和城乡建设管理委员会",
    )
    .unwrap();
    let root_key = RootKeyFile::read(&offline_root_dir(&data).join("RT01.root.key")).unwrap();
    let current = app.server.state.keys.current().trust_list().clone();
    // Signed at least a second after the list in force, as any later signing is.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let next = sign_next_trust_list(
        &root_key,
        Some(&current),
        &TrustListChange {
            add: vec![request],
            retire: vec![(zizhi_shared::KeyId::new(*b"SH01"), today)],
            valid_until: chrono::Utc::now() + chrono::Duration::days(90),
        },
        chrono::Utc::now(),
    )
    .unwrap();
    KeyRing::install(&data, &next).unwrap();
    assert!(app.server.state.keys.reload().unwrap());
    let new_copy = usage_copy(&app, &number, "长宁区某学校项目投标").await;
    assert_eq!(new_copy["key_id"], "SH02");
    assert_eq!(old_copy["key_id"], "SH01");
    for copy in [&old_copy, &new_copy] {
        let (s, v) = app.verify(copy["qr_text"].as_str().unwrap()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["signature"], "valid", "{v}");
        assert_eq!(v["key_id"], copy["key_id"]);
    }
    let (_, t) = app.get("/.well-known/zizhi/trust-list").await;
    assert_eq!(t["keys"].as_array().unwrap().len(), 3, "{t}");

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    the_trust_list_opens_with_the_root_key_and_rotation_keeps_old_copies_valid,
    super::the_trust_list_opens_with_the_root_key_and_rotation_keeps_old_copies_valid
);

async fn a_copy_signed_with_the_issuers_key_but_never_issued_by_the_register_is_invalid(
    backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海外滩建设有限公司", "91310101MA1FL0327").await;
    let copy = usage_copy(&app, &number, "黄浦区某道路工程投标").await;
    let text = copy["qr_text"].as_str().unwrap();
    let keys = &app.server.state.keys;
    let claims = zizhi_shared::verify_text(text, keys.current().trust_list(), chrono::Utc::now())
        .unwrap()
        .claims;
    // Whoever holds the signing key (a leaked backup, an insider) signs what they like: a copy
    // number the register never gave out, or a real one with its purpose rewritten.
    let mut unknown = claims.clone();
    unknown.copy_id += 1000;
    let mut rewritten = claims.clone();
    rewritten.usage.as_mut().unwrap().purpose = "某伪造工程投标".into();
    for (what, rogue) in [("unknown copy", unknown), ("rewritten purpose", rewritten)] {
        let forged = keys
            .current()
            .qr_text(&rogue, "ZIZHI.JSGL.SH.GOV.CN")
            .unwrap();
        for _ in 0..2 {
            let (s, v) = app.verify(&forged).await;
            assert_eq!(s, 200, "{what}: {v}");
            assert_eq!(
                v["signature"], "valid",
                "{what}: the signature itself is good"
            );
            assert_eq!(v["summary"]["level"], "invalid", "{what}: {v}");
            assert_eq!(
                v["warnings"][0]["code"], "copy_not_in_register",
                "{what}: {v}"
            );
            assert!(v["certificate_state"].is_null(), "{what}: {v}");
        }
    }
    let (_, v) = app.verify(text).await;
    assert_eq!(
        v["summary"]["level"], "valid",
        "the issued copy still verifies: {v}"
    );
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_copy_signed_with_the_issuers_key_but_never_issued_by_the_register_is_invalid,
    super::a_copy_signed_with_the_issuers_key_but_never_issued_by_the_register_is_invalid
);
