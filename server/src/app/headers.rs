//! Headers every response carries, and the request id every request gets.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use super::AppState;

/// Longest `x-request-id` taken from a client; longer, or with anything but visible ASCII,
/// and the request gets a fresh id instead, so a client cannot flood or forge log lines.
pub const MAX_REQUEST_ID_CHARS: usize = 64;

/// A year: a browser that once saw the site over HTTPS never tries plain HTTP for it.
const HSTS: &str = "max-age=31536000";

/// Drops a client's `x-request-id` that is too long or not visible ASCII; the request-id
/// layer inside then sets a fresh one. A plain request map (`MapRequestLayer`), not a
/// middleware function: it neither clones the stack below nor boxes a future per request.
pub fn bound_request_id(mut req: Request) -> Request {
    let acceptable = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty() && b.len() <= MAX_REQUEST_ID_CHARS && b.iter().all(|c| c.is_ascii_graphic())
    };
    if req
        .headers()
        .get_all("x-request-id")
        .iter()
        .any(|v| !acceptable(v))
        || req.headers().get_all("x-request-id").iter().count() > 1
    {
        req.headers_mut().remove("x-request-id");
    }
    req
}

/// `nosniff` on every response (a browser must not run an answer as a script it is not).
pub fn nosniff() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    )
}

/// HSTS, when the public address is HTTPS (and a handler has not set its own).
pub fn hsts(state: &AppState) -> Option<SetResponseHeaderLayer<HeaderValue>> {
    let https = state
        .settings
        .public_base_url
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"));
    https.then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use axum::body::Body;
    use axum::http::Request;
    use secrecy::SecretString;

    use super::super::AppState;
    use crate::testing::{TestApp, settings};

    async fn request_id_for(app: &TestApp, sent: &str) -> String {
        let req = Request::get("/healthz")
            .header("x-request-id", sent)
            .body(Body::empty())
            .unwrap();
        app.send(req)
            .await
            .header("x-request-id")
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn a_client_request_id_is_kept_only_when_short_and_visible_ascii() {
        let app = TestApp::new().await;
        assert_eq!(request_id_for(&app, "scan-42").await, "scan-42");
        let longest = "a".repeat(64);
        assert_eq!(request_id_for(&app, &longest).await, longest);
        for bad in ["a".repeat(65), "x".repeat(4000), "two words".into()] {
            let got = request_id_for(&app, &bad).await;
            assert_ne!(got, bad);
            assert!(got.len() <= 64 && !got.is_empty(), "{got}");
        }
    }

    #[tokio::test]
    async fn every_response_says_nosniff_and_hsts_is_sent_when_the_public_address_is_https() {
        let app = TestApp::new().await;
        for path in ["/healthz", "/api/v1/nothing-here", "/api/v1/issuer/events"] {
            let r = app.get(path).await;
            assert_eq!(
                r.header("x-content-type-options"),
                Some("nosniff"),
                "{path}"
            );
            assert_eq!(r.header("strict-transport-security"), None, "{path}");
        }
        let app =
            TestApp::with(|s| s.public_base_url = Some("https://zizhi.example.cn".into())).await;
        let r = app.get("/api/v1/nothing-here").await;
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=31536000")
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }

    #[tokio::test]
    async fn a_configured_issuer_token_shorter_than_32_characters_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(&dir);
        s.issuer_token = Some(SecretString::from("short-but-not-32-chars-long"));
        let err = AppState::build(s).await.err().expect("refused").to_string();
        assert!(err.contains("至少需要"), "{err}");
        assert!(err.contains("at least"), "{err}");
        assert!(
            !err.contains("short-but-not"),
            "the token is not repeated: {err}"
        );
    }

    #[tokio::test]
    async fn a_data_directory_database_or_token_file_others_can_read_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(&dir);
        s.issuer_token = None;
        s.database_url = format!("sqlite://{}/data/z.db", dir.path().display());
        let state = AppState::build(s.clone()).await.expect("first start");
        state.store.close().await;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let data = dir.path().join("data");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("z.db")), 0o600);
        assert_eq!(mode(&data.join("issuer-token")), 0o600);
        for (path, want) in [
            (data.join("issuer-token"), "chmod 600"),
            (data.join("z.db"), "chmod 600"),
            (data.clone(), "chmod 700"),
        ] {
            let before = mode(&path);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(before | 0o044))
                .unwrap();
            let err = format!(
                "{:#}",
                AppState::build(s.clone()).await.err().expect("refused")
            );
            assert!(err.contains(want), "{err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(before)).unwrap();
        }
    }
}
