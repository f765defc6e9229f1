//! The pages over plain HTTP: weight, status codes, headers, escaping and the rate limit.

use zizhi_tests::{Backend, TestApp, TestEnv, enterprise_with_certificate, on_both_backends};

use super::{CASES, case, demo_app, qr_path};

/// Under 50 KB: the stylesheet and icons are inline, and so are the web fonts of a page's few
/// rare characters (`server/src/pages/webfont.rs`), a few KB each.
const MAX_PAGE_BYTES: usize = 50 * 1024;

async fn fetch(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = app
        .client
        .get(app.url(path))
        .send()
        .await
        .expect("GET page");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("page body"))
}

async fn every_page_weighs_under_50_kb_and_needs_no_script(backend: Backend) {
    let (env, app, summary) = demo_app(backend).await;
    let number = case(&summary, "superseded").certificate_number.to_string();
    let mut paths: Vec<(String, String)> = CASES
        .iter()
        .map(|n| (n.to_string(), qr_path(&case(&summary, n).qr_text)))
        .collect();
    // Lower case as a typed link would be, with a trailing slash.
    let lower = qr_path(&case(&summary, "approval").qr_text).to_lowercase() + "/";
    paths.push(("approval (lower case)".into(), lower));
    paths.push(("certificate".into(), format!("/c/{number}")));
    paths.push(("search".into(), "/search?q=工程".into()));
    paths.push(("search form".into(), "/search".into()));
    let mut weights = Vec::new();
    for (name, path) in &paths {
        let (status, headers, html) = fetch(&app, path).await;
        assert_eq!(status, 200, "{name}: {html}");
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{name}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{name}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none'"),
            "{name}"
        );
        assert!(html.len() < MAX_PAGE_BYTES, "{name}: {} bytes", html.len());
        assert!(!html.contains("<script"), "{name} sends a script");
        assert!(!html.contains("<link"), "{name} needs another request");
        weights.push(format!("{name} {:.1} KB", html.len() as f64 / 1024.0));
    }
    eprintln!("page weights ({backend:?}): {}", weights.join(", "));

    // Garbage codes and numbers get a page with the right status, never a 500.
    for (path, status) in [
        ("/V/HELLO", 400),
        ("/v/AEBAGBAFAYD0", 400),
        ("/V/%FF%FE", 400),
        ("/c/not-a-number", 400),
        ("/c/D999999999", 404),
        ("/search?q=x&page=zero", 400),
        ("/search?q=x&page=0", 400),
    ] {
        let (s, headers, html) = fetch(&app, path).await;
        assert_eq!(s, status, "{path}: {html}");
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        assert!(html.contains("data-level=\"invalid\""), "{path}: {html}");
    }
    let long = "工".repeat(61);
    let (s, _, html) = fetch(&app, &format!("/search?q={long}")).await;
    assert_eq!(s, 400);
    assert!(html.contains("查询内容过长"), "{html}");
    app.stop().await;
    env.finish().await;
}
on_both_backends!(
    every_page_weighs_under_50_kb_and_needs_no_script,
    super::every_page_weighs_under_50_kb_and_needs_no_script
);

#[tokio::test]
async fn whatever_users_type_or_the_register_holds_is_escaped() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = TestApp::start(env.settings()).await;
    let evil = "<script>alert(1)</script>";
    let (code, number) = enterprise_with_certificate(
        &app,
        "上海<script>alert(1)</script>建设有限公司",
        "91310000MA1K00001",
    )
    .await;

    let (s, _, html) = fetch(
        &app,
        &format!("/search?q={}", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(!html.contains(evil), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );

    for path in [
        format!("/c/{number}"),
        format!("/search?q={code}"),
        "/search?q=%22%3E%3Cscript%3E".to_owned(),
        "/c/%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_owned(),
        "/V/%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_owned(),
    ] {
        let (_, _, html) = fetch(&app, &path).await;
        assert!(!html.to_lowercase().contains("<script"), "{path}: {html}");
    }
    // Out of the input's value attribute too.
    let (_, _, html) = fetch(&app, "/search?q=%22%3E%3Cscript%3E").await;
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;\""),
        "{html}"
    );
    let (_, _, html) = fetch(&app, &format!("/c/{number}")).await;
    assert!(
        html.contains("上海&lt;script&gt;alert(1)&lt;/script&gt;建设有限公司"),
        "{html}"
    );
    app.stop().await;
    env.finish().await;
}

#[tokio::test]
async fn pages_are_rate_limited_like_the_api_and_say_so_on_a_page() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.rate_limit.enabled = true;
    settings.rate_limit.per_minute = 1;
    settings.rate_limit.burst = 2;
    let app = TestApp::start(settings).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (s, headers, html) = fetch(&app, "/search").await;
        statuses.push(s);
        if s == 429 {
            assert_eq!(headers["content-type"], "text/html; charset=utf-8");
            assert!(headers.contains_key("retry-after"));
            assert!(html.contains("请求过于频繁"), "{html}");
        }
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
    app.stop().await;
    env.finish().await;
}
