use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tempfile::TempDir;

use crate::testing::{Reply, TestApp};

const INDEX: &str = "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
    <title>资质扫码</title><script type=\"module\">import init from './zizhi_app.js'; init();</script>\
    </head><body><div id=\"main\"></div></body></html>";

/// A fake build: the files `scripts/build-app.sh` writes, under `<tmp>/dist`, and a file next
/// to it that must never be reachable.
fn fake_dist() -> TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(dist.join("icons")).unwrap();
    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    std::fs::write(
        dist.join("zizhi_app.js"),
        "export default function init() {}",
    )
    .unwrap();
    std::fs::write(dist.join("zizhi_app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        dist.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    std::fs::write(dist.join("manifest.webmanifest"), "{\"name\":\"资质扫码\"}").unwrap();
    std::fs::write(dist.join("style.css"), "body{margin:0}").unwrap();
    std::fs::write(dist.join("icons/icon-192.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "issuer key").unwrap();
    tmp
}

async fn app_on(tmp: &TempDir) -> TestApp {
    let dist = tmp.path().join("dist");
    TestApp::with(move |s| s.app_dir = dist).await
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test]
async fn index_html_carries_the_root_key_and_the_app_policy() {
    let tmp = fake_dist();
    let app = app_on(&tmp).await;
    let key = hex::encode(app.state.keys.current().root().bytes().unwrap());
    for path in ["/app/", "/app/index.html"] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let html = text(&r);
        let meta = format!(
            "<meta name=\"zizhi-root-key\" content=\"{key}\"><meta name=\"zizhi-root-kid\" content=\"RT01\"></head>"
        );
        assert!(html.contains(&meta), "{path}: {html}");
        assert_eq!(html.matches("zizhi-root-key").count(), 1);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert!(
            r.header("permissions-policy")
                .is_some_and(|p| p.contains("camera=(self)")),
            "{:?}",
            r.headers
        );
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
        assert!(
            csp.contains("'sha256-"),
            "the inline bootstrap is allowed: {csp}"
        );
        assert!(csp.contains("media-src 'self' blob: mediastream:"), "{csp}");
        assert!(csp.contains("connect-src 'self' https:"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
    }
}

#[tokio::test]
async fn app_without_a_slash_redirects_to_the_app() {
    let tmp = fake_dist();
    let app = app_on(&tmp).await;
    let r = app.get("/app").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.header("location"), Some("/app/"));
}

#[tokio::test]
async fn files_are_served_with_the_types_browsers_insist_on() {
    let tmp = fake_dist();
    let app = app_on(&tmp).await;
    for (path, mime) in [
        ("/app/zizhi_app_bg.wasm", "application/wasm"),
        ("/app/manifest.webmanifest", "application/manifest+json"),
        ("/app/zizhi_app.js", "text/javascript"),
        ("/app/sw.js", "text/javascript"),
        ("/app/style.css", "text/css"),
        ("/app/icons/icon-192.png", "image/png"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with(mime)),
            "{path}: {:?}",
            r.header("content-type")
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    let r = app.get("/app/zizhi_app_bg.wasm").await;
    assert_eq!(&r.body[..4], b"\0asm");
    let r = app.get("/app/nothing.js").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

const HASHED_WASM: &str = "zizhi_app_bg.0123456789abcdef.wasm";

#[tokio::test]
async fn hashed_files_are_cached_for_a_year_and_sent_precompressed() {
    let tmp = fake_dist();
    let dist = tmp.path().join("dist");
    let wasm = b"\0asm\x01\0\0\0 the real module";
    std::fs::write(dist.join(HASHED_WASM), wasm).unwrap();
    std::fs::write(dist.join(format!("{HASHED_WASM}.gz")), b"gzip bytes").unwrap();
    std::fs::write(dist.join(format!("{HASHED_WASM}.br")), b"brotli bytes").unwrap();
    std::fs::write(dist.join("sw.js.br"), b"brotli sw").unwrap();
    let app = app_on(&tmp).await;
    let path = format!("/app/{HASHED_WASM}");
    let get = |encoding: Option<&'static str>| {
        let mut req = Request::builder().uri(path.as_str());
        if let Some(e) = encoding {
            req = req.header(header::ACCEPT_ENCODING, e);
        }
        req.body(Body::empty()).unwrap()
    };

    let r = app.send(get(Some("gzip, deflate, br"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(&r.body[..], b"brotli bytes");
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        r.header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "{:?}",
        r.headers
    );

    let r = app.send(get(Some("gzip"))).await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.body[..], b"gzip bytes");

    let r = app.send(get(None)).await;
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(&r.body[..], wasm);

    // Not hashed: revalidated on every load, compressed all the same.
    let mut req = Request::builder().uri("/app/sw.js");
    req = req.header(header::ACCEPT_ENCODING, "br");
    let r = app.send(req.body(Body::empty()).unwrap()).await;
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    // A name that merely looks hashed (not 16 hex) is not immutable.
    std::fs::write(dist.join("boot.0123456789abcdeg.js"), "x").unwrap();
    let r = app.get("/app/boot.0123456789abcdeg.js").await;
    assert_eq!(r.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn paths_outside_the_app_and_directory_listings_are_refused() {
    let tmp = fake_dist();
    let app = app_on(&tmp).await;
    for path in [
        "/app/../secret.txt",
        "/app/..%2Fsecret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/icons/../../secret.txt",
        "/app/icons/",
        "/app/icons",
        "/app//etc/passwd",
        "/app/%2Fetc%2Fpasswd",
    ] {
        let r = app.get(path).await;
        assert!(
            r.status.is_client_error(),
            "{path} answered {}: {}",
            r.status,
            text(&r)
        );
        assert!(!text(&r).contains("issuer key"), "{path}");
        assert!(!text(&r).contains("icon-192"), "{path} lists a directory");
    }
}

#[tokio::test]
async fn a_missing_build_answers_503_in_chinese_with_the_build_command() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("not-built");
    let app = TestApp::with(move |s| s.app_dir = missing).await;
    for path in ["/app/", "/app/index.html"] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let html = text(&r);
        assert!(html.contains("扫码应用尚未构建"), "{html}");
        assert!(html.contains("bash scripts/build-app.sh"), "{html}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    }
    assert_eq!(
        app.get("/app/zizhi_app.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn index_without_a_head_end_tag_is_refused_not_served_without_the_key() {
    let tmp = fake_dist();
    std::fs::write(
        tmp.path().join("dist/index.html"),
        "<html><body>x</body></html>",
    )
    .unwrap();
    let app = app_on(&tmp).await;
    let r = app.get("/app/").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(text(&r).contains("不完整"), "{}", text(&r));
}

fn with_origin(method: Method, path: &str) -> Request<Body> {
    let mut req = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::ORIGIN, "https://other.example.cn");
    if method == Method::OPTIONS {
        req = req
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type");
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn public_read_endpoints_allow_other_origins_without_credentials() {
    let app = TestApp::new().await;
    let pre = app
        .send(with_origin(Method::OPTIONS, "/api/v1/verify"))
        .await;
    assert!(pre.status.is_success(), "{}", pre.status);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    let methods = pre.header("access-control-allow-methods").unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    assert!(
        pre.header("access-control-allow-headers")
            .is_some_and(|h| h.contains("content-type")),
        "{:?}",
        pre.headers
    );
    assert_eq!(pre.header("access-control-allow-credentials"), None);

    let r = app
        .send(with_origin(Method::GET, "/.well-known/zizhi/trust-list"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.json()["root_kid"], "RT01");

    let r = app
        .send(with_origin(Method::GET, "/api/v1/status/snapshot"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));

    let mut verify = with_origin(Method::POST, "/api/v1/verify");
    *verify.body_mut() = Body::from("not a code");
    let r = app.send(verify).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn issuer_and_register_endpoints_stay_same_origin() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::OPTIONS, "/api/v1/issuer/enterprises"),
        (Method::GET, "/api/v1/issuer/events"),
        (Method::GET, "/api/v1/certificates/D231000001"),
    ] {
        let r = app.send(with_origin(method.clone(), path)).await;
        assert_eq!(
            r.header("access-control-allow-origin"),
            None,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_file_name_longer_than_any_file_system_allows_is_not_found_not_an_internal_error() {
    let tmp = fake_dist();
    let app = app_on(&tmp).await;
    for path in [
        format!("/app/{}", "a".repeat(300)),
        format!("/app/icons/{}.png", "b".repeat(256)),
        format!("/app/{}", "%41".repeat(300)),
        format!("/app/{}", "c/".repeat(2100)),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", &path[..40]);
        assert_eq!(r.json()["error"], "not_found");
    }
    // A name of 255 bytes is still looked up (and is simply not there).
    let r = app.get(&format!("/app/{}", "d".repeat(255))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
