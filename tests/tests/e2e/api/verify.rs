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
    // A real copy number of another certificate, claimed for this one (the first scan of a
    // certificate reads its own newest copies, and must not take this one for one of them).
    let (_, other_number) =
        enterprise_with_certificate(&app, "上海外滩装饰有限公司", "91310101MA1FL0328").await;
    let other = usage_copy(&app, &other_number, "黄浦区某装饰工程投标").await;
    let mut borrowed = claims.clone();
    borrowed.copy_id = other["id"].as_u64().unwrap();
    assert_ne!(borrowed.copy_id, claims.copy_id);
    for (what, rogue) in [
        ("unknown copy", unknown),
        ("rewritten purpose", rewritten),
        ("another certificate's copy number", borrowed),
    ] {
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

async fn a_copy_issued_after_its_certificate_was_scanned_verifies(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海豫园建设有限公司", "91310101MA1FL0329").await;
    let first = usage_copy(&app, &number, "黄浦区某学校工程投标").await;
    // The first scan reads the certificate's newest copies; a copy issued after it is not
    // among them and must still be found in the register.
    let (_, v) = app.verify(first["qr_text"].as_str().unwrap()).await;
    assert_eq!(v["summary"]["level"], "valid", "{v}");
    for purpose in ["黄浦区某医院工程投标", "黄浦区某道路工程投标"] {
        let later = usage_copy(&app, &number, purpose).await;
        let (s, v) = app.verify(later["qr_text"].as_str().unwrap()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["summary"]["level"], "valid", "{purpose}: {v}");
        assert_eq!(v["claims"]["usage"]["purpose"], purpose, "{v}");
    }
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_copy_issued_after_its_certificate_was_scanned_verifies,
    super::a_copy_issued_after_its_certificate_was_scanned_verifies
);

/// (signature checks made, scans in them) so far, from the server's metrics.
fn signature_checks(app: &TestApp) -> (u64, u64) {
    let text = app.server.state.metrics.render(0, 0);
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().parse::<f64>().unwrap() as u64)
            .unwrap_or(0)
    };
    (
        value("zizhi_signature_batch_size_count "),
        value("zizhi_signature_batch_size_sum "),
    )
}

async fn first_scans_arriving_together_are_checked_together_and_each_answered_as_alone(
    backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    // Every scan a first scan, so every round is checked again.
    settings.repeat_scan_entries = 0;
    let app = TestApp::start(settings).await;
    let (_, number) =
        enterprise_with_certificate(&app, "上海静安建设有限公司", "91310106MA1FL0330").await;
    let mut genuine = Vec::new();
    for i in 0..10 {
        let copy = usage_copy(&app, &number, &format!("静安区某工程投标{i}")).await;
        genuine.push(copy["qr_text"].as_str().unwrap().to_owned());
    }
    let keys = &app.server.state.keys;
    let claims =
        zizhi_shared::verify_text(&genuine[0], keys.current().trust_list(), chrono::Utc::now())
            .unwrap()
            .claims;
    // Signed with the register's key but never issued: a batch proves the signature, the
    // register then says no such copy.
    let never_issued: Vec<String> = (1..=3)
        .map(|i| {
            let mut c = claims.clone();
            c.copy_id += 1000 * i;
            keys.current().qr_text(&c, "ZIZHI.JSGL.SH.GOV.CN").unwrap()
        })
        .collect();
    // A flipped bit: fails any batch it is in, and alone.
    let tampered: Vec<String> = genuine[..3]
        .iter()
        .map(|text| {
            let mut bytes = zizhi_shared::QrText::extract(text).unwrap();
            let n = bytes.len();
            bytes[n - 3] ^= 0x10;
            zizhi_shared::QrText::encode(
                "ZIZHI.JSGL.SH.GOV.CN",
                &zizhi_shared::SignedPayload::from_bytes(bytes),
            )
        })
        .collect();

    for with_tampered in [false, true] {
        let mut scans: Vec<(&str, &str)> = genuine.iter().map(|t| (t.as_str(), "valid")).collect();
        scans.extend(
            never_issued
                .iter()
                .map(|t| (t.as_str(), "copy_not_in_register")),
        );
        if with_tampered {
            scans.extend(tampered.iter().map(|t| (t.as_str(), "bad_signature")));
        }
        // Whether two scans meet depends on how the workers are scheduled: on SQLite, where
        // the commit count answers the freshness check without waiting, nothing holds a scan
        // back for another to catch up, so a round may pass without a meeting.
        let mut gathered = false;
        for _round in 0..30 {
            let before = signature_checks(&app);
            let answers = futures::future::join_all(scans.iter().map(|(t, _)| app.verify(t))).await;
            for ((text, expected), (s, v)) in scans.iter().zip(&answers) {
                assert_eq!(*s, 200, "{v}");
                match *expected {
                    "valid" => {
                        assert_eq!(v["signature"], "valid", "{text}: {v}");
                        assert_eq!(v["summary"]["level"], "valid", "{text}: {v}");
                    }
                    "copy_not_in_register" => {
                        assert_eq!(v["signature"], "valid", "{v}");
                        assert_eq!(v["summary"]["level"], "invalid", "{v}");
                        assert_eq!(v["warnings"][0]["code"], "copy_not_in_register", "{v}");
                    }
                    _ => {
                        assert_eq!(v["signature"], "invalid", "{v}");
                        assert_eq!(v["summary"]["level"], "invalid", "{v}");
                    }
                }
            }
            let after = signature_checks(&app);
            let (checks, scanned) = (after.0 - before.0, after.1 - before.1);
            assert_eq!(
                scanned,
                scans.len() as u64,
                "every scan's signature was checked"
            );
            if checks < scanned {
                gathered = true;
                break;
            }
        }
        assert!(
            gathered,
            "{} scans sent together were never checked together (tampered: {with_tampered})",
            scans.len()
        );
    }
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    first_scans_arriving_together_are_checked_together_and_each_answered_as_alone,
    super::first_scans_arriving_together_are_checked_together_and_each_answered_as_alone,
    on_two_threads
);
