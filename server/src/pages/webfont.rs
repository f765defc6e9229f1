//! The 生僻字 of a page in web fonts cut from the certificate's fonts, so a phone whose
//! system fonts lack Extension A–H characters shows the name as the certificate prints it,
//! not as boxes.
//!
//! Each page is still one request: the fonts of its few rare characters (a glyph is 1–10 KB)
//! go inline as `data:` URLs in `@font-face` rules, one per face used, each limited by
//! `unicode-range` to its characters, under the family `zizhi-rare` that the stylesheet puts
//! first (so every other character keeps the phone's own font). The page CSP allows
//! `font-src data:`. Cut once per set of characters and kept in a bounded cache.
//!
//! The scanner app gets the same fonts from the server it talks to, which may be another
//! origin (public, cacheable, rate-limited, CORS as the app's other reads):
//! - `GET /api/v1/fonts/rare?chars=<the characters>` — the fonts for at most
//!   [`MAX_CHARS_PER_REQUEST`] rare characters ([`zizhi_shared::rare`]), as JSON
//!   ([`RareFonts`]: each face's characters, `unicode-range`, type and base64 bytes). JSON
//!   rather than CSS with `data:` URLs: the app loads each face with the `FontFace` API from
//!   its bytes, which needs no `font-src` in its policy and lets it keep the bytes offline.
//! - `GET /api/v1/fonts/rare/register` — the rare characters of every name in the register
//!   (enterprise names and legal representatives): what the app fetches fonts for when it
//!   syncs its offline snapshot, so an offline verdict of any enterprise shows its name.

use std::sync::{Arc, OnceLock};

use crate::pdf::signing::CertificateFonts;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde::Deserialize;
use zizhi_shared::rare::{MAX_CHARS_PER_REQUEST, RareFace, RareFonts, needs_web_font, rare_chars};

use crate::app::AppState;
use crate::error::{AppError, ErrorBody};
use crate::ratelimit;
use crate::store::StoreError;

/// The certificate's fonts, installed when they are loaded ([`install`]). A process-wide
/// value because every page shell needs it and the shell is a plain function; every server
/// in one process loads the same faces (`Fonts::load` is cached per path too).
static FONTS: OnceLock<CertificateFonts> = OnceLock::new();

/// Makes the certificate's fonts the source of the pages' web fonts; the first call wins.
pub fn install(fonts: CertificateFonts) {
    let _ = FONTS.set(fonts);
}

fn cache() -> &'static moka::sync::Cache<String, Arc<str>> {
    static CACHE: OnceLock<moka::sync::Cache<String, Arc<str>>> = OnceLock::new();
    // Sets of rare characters repeat (a name is shown on every page of its enterprise); a
    // thousand sets of a few KB each bound the memory.
    CACHE.get_or_init(|| moka::sync::Cache::new(1_000))
}

/// `@font-face` rules for the rare characters of `text`; empty when there are none (or no
/// fonts were installed: the phone's own fonts are all there is then).
pub fn font_faces(text: &str) -> Arc<str> {
    let rare: String = rare_chars(text).into_iter().collect();
    let Some(fonts) = FONTS.get().filter(|_| !rare.is_empty()) else {
        return Arc::from("");
    };
    cache().get_with(rare.clone(), || match fonts.get().and_then(|f| f.web_fonts(&rare)) {
        Ok(faces) => Arc::from(
            faces
                .iter()
                .map(|f| {
                    let format = if f.mime == "font/otf" { "opentype" } else { "truetype" };
                    format!(
                        "@font-face{{font-family:\"zizhi-rare\";src:url(data:{};base64,{}) format(\"{format}\");unicode-range:{}}}",
                        f.mime,
                        base64::engine::general_purpose::STANDARD.encode(&f.data),
                        f.unicode_range()
                    )
                })
                .collect::<String>(),
        ),
        Err(e) => {
            // The page still shows, in the phone's fonts; worth a look, never an error page.
            tracing::warn!(error = %e, "no web font for the page's rare characters");
            Arc::from("")
        }
    })
}

/// The app's font routes: rate-limited per client, open to other origins (CORS outside the
/// limiter, so a refusal reaches the app readable).
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/fonts/rare", get(rare_fonts))
        .route("/api/v1/fonts/rare/register", get(register_chars))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .layer(crate::app_shell::cors::layer())
}

#[derive(Deserialize)]
pub(crate) struct FontQuery {
    chars: Option<String>,
}

/// The characters asked for, checked: present, at most [`MAX_CHARS_PER_REQUEST`], each one
/// rare. Returned each once, in code point order (the cache key).
fn asked_chars(chars: Option<&str>) -> Result<String, AppError> {
    let chars = chars.unwrap_or_default();
    if chars.is_empty() {
        return Err(AppError::invalid(
            "no_chars",
            "请在 chars 参数中给出需要字体的生僻字",
        ));
    }
    // Bytes first, so a huge parameter is refused before it is walked.
    if chars.len() > 4 * MAX_CHARS_PER_REQUEST || chars.chars().count() > MAX_CHARS_PER_REQUEST {
        return Err(AppError::invalid(
            "too_many_chars",
            format!("一次最多请求 {MAX_CHARS_PER_REQUEST} 个字的字体"),
        ));
    }
    if let Some(c) = chars.chars().find(|&c| !needs_web_font(c)) {
        return Err(AppError::invalid(
            "not_rare_char",
            format!(
                "“{}”（U+{:04X}）不是生僻字：只提供手机字体可能缺少的汉字（CJK 扩展区、兼容汉字）的字体",
                if c.is_control() { '\u{FFFD}' } else { c },
                u32::from(c)
            ),
        ));
    }
    Ok(rare_chars(chars).into_iter().collect())
}

fn json_cache() -> &'static moka::sync::Cache<String, Arc<str>> {
    static CACHE: OnceLock<moka::sync::Cache<String, Arc<str>>> = OnceLock::new();
    CACHE.get_or_init(|| moka::sync::Cache::new(1_000))
}

/// `RareFonts` as JSON for a checked set of rare characters, cut once per set.
fn fonts_json(rare: &str) -> Result<Arc<str>, AppError> {
    let fonts = FONTS
        .get()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no certificate fonts installed")))?;
    json_cache()
        .try_get_with(rare.to_owned(), || {
            let faces = fonts
                .get()
                .and_then(|f| f.web_fonts(rare))
                .map_err(|e| anyhow::anyhow!("cutting rare fonts: {e}"))?;
            let served: String = faces.iter().flat_map(|f| f.chars.iter()).collect();
            let out = RareFonts {
                faces: faces
                    .iter()
                    .map(|f| RareFace {
                        chars: f.chars.iter().collect(),
                        unicode_range: f.unicode_range(),
                        mime: f.mime.to_owned(),
                        data: base64::engine::general_purpose::STANDARD.encode(&f.data),
                    })
                    .collect(),
                missing: rare.chars().filter(|c| !served.contains(*c)).collect(),
            };
            Ok::<_, anyhow::Error>(Arc::from(serde_json::to_string(&out)?))
        })
        .map_err(|e: Arc<anyhow::Error>| AppError::Internal(anyhow::anyhow!("{e:#}")))
}

fn json(body: Arc<str>, max_age: u32) -> Response {
    let mut res = body.to_string().into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    res
}

/// `GET /api/v1/fonts/rare?chars=…`: a set's fonts never change while the server's fonts do
/// not, so caches may keep them a week.
#[utoipa::path(
    get,
    path = "/api/v1/fonts/rare",
    tag = "public",
    params(("chars" = String, Query, description = "需要字体的生僻字（CJK 扩展区、兼容汉字），至多 64 个")),
    responses(
        (status = 200, description = "这些字的网络字体：每个字体的字符、unicode-range、类型和 base64 字节（RareFonts）", content_type = "application/json", body = Object),
        (status = 400, description = "没有字、字数过多、不是生僻字或参数无法读取（no_chars、too_many_chars、not_rare_char、invalid_query）", body = ErrorBody),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
pub(crate) async fn rare_fonts(
    query: Result<Query<FontQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Ok(Query(q)) = query else {
        return Err(AppError::invalid("invalid_query", "查询参数无法读取"));
    };
    let rare = asked_chars(q.chars.as_deref())?;
    let body = tokio::task::spawn_blocking(move || fonts_json(&rare))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(json(body, 7 * 24 * 3600))
}

/// `GET /api/v1/fonts/rare/register`: `{"chars": "…"}`, the rare characters of the register's
/// names, as of now (a scan of the names: cheap next to a sync, which is what asks; caches
/// may keep it a minute).
#[utoipa::path(
    get,
    path = "/api/v1/fonts/rare/register",
    tag = "public",
    responses(
        (status = 200, description = "登记簿中企业名称和法定代表人的全部生僻字：`{\"chars\": \"…\"}`", content_type = "application/json", body = Object),
        (status = 429, description = "请求过于频繁（rate_limited）", body = ErrorBody),
    )
)]
pub(crate) async fn register_chars(State(state): State<AppState>) -> Result<Response, AppError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, legal_representative FROM enterprises")
            .fetch_all(state.store.pool())
            .await
            .map_err(StoreError::from)?;
    let all: String = rows.into_iter().flat_map(|(n, l)| [n, l]).collect();
    let chars: String = rare_chars(&all).into_iter().collect();
    Ok(json(
        Arc::from(serde_json::json!({ "chars": chars }).to_string()),
        60,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_without_rare_characters_gets_no_font_and_one_with_them_gets_their_faces() {
        install(CertificateFonts::shipped());
        assert_eq!(&*font_faces("上海申衡建设工程有限公司 王建国"), "");
        let css = font_faces("上海喆堃\u{20000}\u{2C317}建设工程有限公司 沈\u{4DAE}");
        assert_eq!(css.matches("@font-face").count(), 2, "{css}");
        assert!(css.contains("unicode-range:U+4DAE,U+2C317}"), "{css}");
        assert!(css.contains("unicode-range:U+20000}"), "{css}");
        assert!(css.contains("src:url(data:font/ttf;base64,"), "{css}");
        assert!(css.len() < 30_000, "{} bytes", css.len());
        // Cached: the same set gives the same rules without cutting again.
        let again = font_faces("沈\u{4DAE} 上海喆堃\u{20000}\u{2C317}");
        assert!(Arc::ptr_eq(&css, &again));
    }
}

#[cfg(test)]
mod route_tests {
    use axum::http::StatusCode;
    use serde_json::json;

    use crate::testing::TestApp;

    fn path(chars: &str) -> String {
        let q: String = chars.bytes().map(|b| format!("%{b:02X}")).collect();
        format!("/api/v1/fonts/rare?chars={q}")
    }

    #[tokio::test]
    async fn the_app_gets_fonts_for_the_rare_characters_it_asks_for() {
        let app = TestApp::new().await;
        let r = app.get(&path("\u{20000}\u{4DAE}\u{20000}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("cache-control"), Some("public, max-age=604800"));
        let fonts: zizhi_shared::rare::RareFonts = serde_json::from_value(r.json()).unwrap();
        let served: String = fonts.faces.iter().map(|f| f.chars.as_str()).collect();
        let mut served: Vec<char> = served.chars().collect();
        served.sort_unstable();
        assert_eq!(served, ['\u{4DAE}', '\u{20000}']);
        assert_eq!(fonts.missing, "");
        for f in &fonts.faces {
            assert!(f.mime == "font/otf" || f.mime == "font/ttf", "{}", f.mime);
            assert!(f.unicode_range.starts_with("U+"), "{}", f.unicode_range);
            assert!(f.data.len() > 100, "{} bytes", f.data.len());
        }
    }

    #[tokio::test]
    async fn font_requests_that_are_empty_too_long_not_rare_or_malformed_are_refused() {
        let app = TestApp::new().await;
        let too_many: String = ('\u{3400}'..='\u{3440}').collect();
        assert_eq!(too_many.chars().count(), 65);
        for (p, code) in [
            ("/api/v1/fonts/rare".to_owned(), "no_chars"),
            (path(""), "no_chars"),
            (path(&too_many), "too_many_chars"),
            (path("\u{20000}王"), "not_rare_char"),
            (path("A"), "not_rare_char"),
            // Bytes that are not UTF-8 arrive as U+FFFD, which is not a rare character.
            (
                "/api/v1/fonts/rare?chars=%FF%FE".to_owned(),
                "not_rare_char",
            ),
            // Twice the parameter: not a query this route reads.
            (
                format!("{}&chars=%E4%B6%AE", path("\u{20000}")),
                "invalid_query",
            ),
        ] {
            let r = app.get(&p).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{p}");
            let v = r.json();
            assert_eq!(v["error"], code, "{p}: {v}");
            let message = v["message"].as_str().unwrap_or_default();
            assert!(
                message
                    .chars()
                    .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
                "{v}"
            );
        }
        let v = app.get(&path("王")).await.json();
        assert!(v["message"].as_str().unwrap().contains("U+738B"), "{v}");
        // At the limit, asked for.
        let at_limit: String = ('\u{3400}'..'\u{3440}').collect();
        let r = app.get(&path(&at_limit)).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
    }

    #[tokio::test]
    async fn the_registers_rare_characters_are_listed_for_the_apps_sync() {
        let app = TestApp::new().await;
        let r = app.get("/api/v1/fonts/rare/register").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json(), json!({ "chars": "" }));
        let body = json!({
            "name": "上海喆堃\u{20000}\u{2C317}建设工程有限公司",
            "credit_code": "91310112MA1GXK8Q39",
            "address": "上海市闵行区莘庄镇莘建东路58弄2号801室",
            "legal_representative": "沈\u{4DAE}",
            "registered_capital_wan": "3000",
            "economic_nature": "有限责任公司（自然人投资或控股）"
        });
        let made = app
            .issuer(
                axum::http::Method::POST,
                "/api/v1/issuer/enterprises",
                Some(body),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.json());
        let r = app.get("/api/v1/fonts/rare/register").await;
        assert_eq!(r.json(), json!({ "chars": "\u{4DAE}\u{20000}\u{2C317}" }));
    }
}
