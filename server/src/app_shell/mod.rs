//! The scanner app (扫码应用) as a web page: the files `bash scripts/build-app.sh` writes to
//! `mobile/dist` (setting `app_dir`, env `ZIZHI_APP_DIR`), served at `/app/` so a phone can
//! open it, install it (manifest, service worker) and scan with its camera.
//!
//! - `index.html` gets this server's root public key and its id as `<meta>` tags: the app
//!   pins them to open the trust list and status snapshots it caches for offline use.
//! - Files whose name carries a content hash (`zizhi_app_bg.<16 hex>.wasm`, the JS glue,
//!   `boot.js`, `style.css`, as the build names them) are sent with a year's
//!   `Cache-Control: public, max-age=31536000, immutable`: those bytes never change under that
//!   name, so a return visit on a weak link downloads nothing. Everything else (`index.html`,
//!   which names the hashed files, the service worker, the manifest, icons) is `no-cache`: a
//!   browser revalidates (cheaply, `If-Modified-Since`) to see a new build; offline, the
//!   service worker answers instead.
//! - The build writes gzip and brotli copies beside each file (`x.wasm.gz`, `x.wasm.br`); the
//!   browser gets the smallest its `Accept-Encoding` admits, with `Vary: Accept-Encoding`.
//! - A content security policy that admits the wasm module, the camera stream and an inline
//!   bootstrap script by its hash; `Permissions-Policy: camera=(self)`.
//! - When the app is not built, a Chinese 503 page says how to build it.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! // After `bash scripts/build-app.sh` and `zizhi serve --demo`:
//! let html = reqwest::get("http://127.0.0.1:8080/app/").await?.text().await?;
//! assert!(html.contains("<meta name=\"zizhi-root-key\""));
//! # Ok(()) }
//! ```

pub mod cors;
mod index;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::app::AppState;
use crate::pages::layout;

/// What a person is told to run when the app is missing.
pub const BUILD_COMMAND: &str = "bash scripts/build-app.sh";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(index_page))
        .route("/app/index.html", get(index_page))
        .route("/app/{*path}", get(file))
}

async fn index_page(State(state): State<AppState>) -> Response {
    let dir = &state.settings.app_dir;
    let path = dir.join("index.html");
    let html = match tokio::fs::read_to_string(&path).await {
        Ok(html) => html,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(
                app_dir = %dir.display(),
                "the scanner app is not built: run `{BUILD_COMMAND}` (or set ZIZHI_APP_DIR)"
            );
            return not_built("服务器上还没有扫码应用的文件。");
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read the app's index.html");
            return not_built("服务器无法读取扫码应用的文件。");
        }
    };
    let keys = state.keys.current();
    let root = keys.root();
    let Some(html) = root
        .bytes()
        .ok()
        .and_then(|key| index::inject_root_key(&html, &key, &root.kid.to_string()))
    else {
        tracing::error!(path = %path.display(), "the app's index.html has no </head>");
        return not_built("扫码应用的文件不完整。");
    };
    let csp = index::content_security_policy(Some(&html));
    let mut res = (StatusCode::OK, html).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    app_headers(&mut res, &csp);
    res
}

/// Any other file of the build, read by `ServeDir`: it refuses `..` and never lists a
/// directory (`append_index_html_on_directories(false)` makes a directory a 404).
async fn file(State(state): State<AppState>, req: Request) -> Response {
    let rest = req
        .uri()
        .path()
        .strip_prefix("/app")
        .unwrap_or("/")
        .to_owned();
    if !could_be_a_file(&rest) {
        return crate::error::AppError::not_found("not_found", "没有这个文件").into_response();
    }
    let (mut parts, body) = req.into_parts();
    parts.uri = match Uri::builder().path_and_query(rest.as_str()).build() {
        Ok(u) => u,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let files = ServeDir::new(&state.settings.app_dir)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip();
    let mut res = match files.oneshot(Request::from_parts(parts, body)).await {
        Ok(res) => res.map(Body::new),
        Err(never) => match never {},
    };
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        // mime_guess's answers differ between versions for these two; the browser insists
        // on the first (streaming compilation) and installs only with the second.
        let forced = if rest.ends_with(".wasm") {
            Some("application/wasm")
        } else if rest.ends_with(".webmanifest") {
            Some("application/manifest+json")
        } else {
            None
        };
        if let Some(t) = forced {
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(t));
        }
    }
    app_headers(&mut res, &index::content_security_policy(None));
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        // ServeDir picks a .br or .gz copy by Accept-Encoding but does not say so to caches
        // on the way (a site's proxy would hand brotli to a browser that never asked).
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if res.status().is_success() && content_hashed(&rest) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    res
}

/// Whether `path` (still percent-encoded) could name a file at all: no name longer than file
/// systems allow (255 bytes) and no path longer than `PATH_MAX`. Longer ones are no file of
/// ours, and asking the file system would fail with `ENAMETOOLONG`, which `ServeDir` answers
/// as an internal error.
fn could_be_a_file(path: &str) -> bool {
    const NAME_MAX: usize = 255;
    const PATH_MAX: usize = 4096;
    let decoded_len = |s: &str| percent_encoding::percent_decode_str(s).count();
    decoded_len(path) < PATH_MAX && path.split('/').all(|seg| decoded_len(seg) <= NAME_MAX)
}

/// `NAME.<16 lowercase hex>.EXT`, the names `scripts/build-app.sh` gives the files whose
/// bytes it hashed.
fn content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut parts = name.rsplit('.');
    let (Some(_ext), Some(hash), Some(_stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    hash.len() == 16
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn app_headers(res: &mut Response, csp: &str) {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// 503 page for a server whose app files are missing: what to run, in Chinese.
fn not_built(what: &str) -> Response {
    let body = layout::shell(
        "扫码应用尚未构建",
        maud::html! {
            (layout::msg(layout::Tone::Caution, "扫码应用尚未构建", what))
            p class="note" id="build-hint" {
                "请在代码仓库根目录运行 " code { (BUILD_COMMAND) }
                " 构建扫码应用，然后刷新本页。文件位置由设置项 app_dir（环境变量 ZIZHI_APP_DIR）指定，默认为 mobile/dist。"
            }
            p class="note" { "在此期间，手机相机或微信扫一扫扫描证书二维码仍可打开验证页面。" }
        },
    );
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, body.into_string()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    res
}

#[cfg(test)]
mod tests;
