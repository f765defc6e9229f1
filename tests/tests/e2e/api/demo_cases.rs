//! Every demo case gets the verdict an inspector should be told.

use serde_json::Value;
use zizhi_tests::{Backend, TestApp, TestEnv, on_both_backends};

fn case<'a>(summary: &'a zizhi_server::demo::seed::DemoSummary, name: &str) -> &'a str {
    &summary
        .cases
        .iter()
        .find(|c| c.case == name)
        .unwrap_or_else(|| panic!("demo has no {name} case"))
        .qr_text
}

fn warnings(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| w["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn each_demo_case_gets_the_verdict_an_inspector_should_be_told(backend: Backend) {
    let env = TestEnv::new(backend).await;
    env.prepare_demo_keys();
    let app = TestApp::start(env.settings()).await;
    let out = env.dir.path().join("demo");
    let summary = app.seed_demo(&out).await;
    assert!(summary.enterprises >= 30, "{summary:?}");
    assert!(out.join("current_usage.png").exists());
    assert!(out.join("current_usage.svg").exists());

    // (case, signature, certificate_state, level, warning that must be present)
    type Expectation = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
    );
    let expectations: &[Expectation] = &[
        ("current_usage", "valid", Some("current"), "valid", None),
        (
            "approval",
            "valid",
            Some("current"),
            "caution",
            Some("approval_copy_not_for_business"),
        ),
        (
            "superseded",
            "valid",
            Some("superseded"),
            "caution",
            Some("printed_content_outdated"),
        ),
        ("revoked", "valid", Some("revoked"), "invalid", None),
        ("cancelled", "valid", Some("cancelled"), "invalid", None),
        (
            "expired_period",
            "valid",
            Some("current"),
            "invalid",
            Some("usage_period_ended"),
        ),
        (
            "not_started",
            "valid",
            Some("current"),
            "caution",
            Some("usage_period_not_started"),
        ),
        (
            "withdrawn",
            "valid",
            Some("current"),
            "invalid",
            Some("copy_withdrawn"),
        ),
        (
            "expired_certificate",
            "valid",
            Some("expired"),
            "invalid",
            None,
        ),
        ("forged", "invalid", None, "invalid", Some("bad_signature")),
        (
            "unknown_key",
            "unknown_key",
            None,
            "invalid",
            Some("unknown_key_id"),
        ),
    ];
    for (name, signature, state, level, warning) in expectations {
        let (status, v) = app.verify(case(&summary, name)).await;
        assert_eq!(status, 200, "{name}: {v}");
        assert_eq!(v["signature"], *signature, "{name}: {v}");
        assert_eq!(v["certificate_state"].as_str(), *state, "{name}: {v}");
        assert_eq!(v["summary"]["level"], *level, "{name}: {v}");
        if let Some(w) = warning {
            assert!(warnings(&v).iter().any(|x| x == w), "{name} lacks {w}: {v}");
        }
        if *signature == "valid" {
            assert!(
                v["claims"]["enterprise_name"].as_str().is_some(),
                "{name}: {v}"
            );
            assert!(
                !v["qualifications"].as_array().unwrap().is_empty(),
                "{name}: {v}"
            );
            assert!(v["checked_at"].as_str().is_some());
        } else {
            assert!(
                v["claims"].is_null(),
                "an unverified code must not show its claims: {v}"
            );
        }
    }

    // The current usage copy says what it may be used for, and nothing alarming.
    let (_, v) = app.verify(case(&summary, "current_usage")).await;
    assert!(warnings(&v).is_empty(), "{v}");
    assert_eq!(v["summary"]["title"], "真实有效");
    let purpose = v["claims"]["usage"]["purpose"].as_str().unwrap();
    assert!(v["summary"]["message"].as_str().unwrap().contains(purpose));

    // The superseded copy lists what changed since it was printed.
    let (_, v) = app.verify(case(&summary, "superseded")).await;
    let changes = v["changes_since_printed"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["change_kind"] == "upgrade"), "{v}");

    // The revoked copy names the revoked qualification and shows it revoked in the live list.
    let (_, v) = app.verify(case(&summary, "revoked")).await;
    assert!(
        v["qualifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["status"] == "revoked"),
        "{v}"
    );

    // Garbage is refused with a precise error, not a verdict.
    for (text, code) in [
        ("hello world", "wrong_prefix"),
        ("https://example.com/V/@@@@", "bad_base32"),
        ("http://weixin.qq.com/r/abc", "wrong_prefix"),
    ] {
        let (status, v) = app.verify(text).await;
        assert_eq!(status, 400, "{text}: {v}");
        assert_eq!(v["error"], code, "{text}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // A second run of the demo on the same register reports the same cases without reseeding.
    let again = app.seed_demo(&out).await;
    assert_eq!(again.cases.len(), summary.cases.len());

    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    each_demo_case_gets_the_verdict_an_inspector_should_be_told,
    super::each_demo_case_gets_the_verdict_an_inspector_should_be_told
);
