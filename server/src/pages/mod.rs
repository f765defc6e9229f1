//! Mobile H5 pages (手机验证页面), server-rendered: what a phone opens when its camera or the
//! chat scanner reads a certificate's QR URL (`/V/<BASE32>`), a certificate's 资质详情
//! (`/c/<number>`), and the public lookup (`/search?q=`). Beside them, the web fonts of the
//! 生僻字 for the scanner app (`/api/v1/fonts/rare`, [`webfont`]).
//!
//! The verdict is readable without JavaScript (none is sent; a content security policy forbids
//! it) and 详情 expands with `<details>`. Each page is one request: the stylesheet and icons
//! are inlined, and a page stays well under 50 KB.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! // `zizhi serve --demo` prints one sample page per demo case, e.g.
//! let html = reqwest::get("http://127.0.0.1:8080/search?q=建设").await?.text().await?;
//! assert!(html.contains("资质查询"));
//! # Ok(()) }
//! ```

pub mod certificate;
pub mod layout;
pub mod search;
pub mod verdict;
pub mod webfont;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use maud::Markup;
use serde::Deserialize;
use zizhi_shared::CertificateNumber;

use crate::app::AppState;
use crate::error::AppError;
use crate::ratelimit;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(html(state))
        .merge(webfont::routes(state))
}

/// The pages themselves, whose rate-limit refusal is a page too.
fn html(state: &AppState) -> Router<AppState> {
    Router::new()
        // The QR text is upper case (`HTTPS://HOST/V/…`), a typed link often lower case.
        .route("/v/{code}", get(verdict_page))
        .route("/V/{code}", get(verdict_page))
        .route("/v/{code}/", get(verdict_page))
        .route("/V/{code}/", get(verdict_page))
        .route("/c/{number}", get(certificate_page))
        .route("/C/{number}", get(certificate_page))
        .route("/search", get(search_page))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        // Outside the limiter, so its JSON refusal reaches a phone as a page.
        .layer(axum::middleware::map_response(rate_limited_as_page))
}

/// An HTML response with the headers every page carries. No script may run (CSP), the live
/// verdict must not be cached, and the URL (which holds the payload) is not sent on as a
/// referrer.
fn page(status: StatusCode, body: Markup) -> Response {
    let mut res = (status, body.into_string()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             font-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// A friendly red page for anything that went wrong; 5xx details stay in the log.
fn error_page(state: &AppState, err: &AppError, title: &str) -> Response {
    let shown = err.shown();
    let body = layout::shell(
        title,
        maud::html! {
            (layout::msg(layout::Tone::Invalid, title, &shown.message))
            p class="note" { "如需帮助，请在“资质查询”中按企业名称、统一社会信用代码或证书编号查询，或联系发证机关。" }
            (layout::footer(&state.settings.issuer_name))
        },
    );
    page(shown.status, body)
}

async fn rate_limited_as_page(res: Response) -> Response {
    if res.status() != StatusCode::TOO_MANY_REQUESTS {
        return res;
    }
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let body = layout::shell(
        "请求过于频繁",
        layout::msg(
            layout::Tone::Caution,
            "请求过于频繁",
            "您的网络发出的查询过多，请稍后再试。",
        ),
    );
    let mut out = page(StatusCode::TOO_MANY_REQUESTS, body);
    if let Some(r) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}

async fn verdict_page(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(code)) = code else {
        return error_page(
            &state,
            &AppError::invalid("bad_path", "链接中的验证码无法读取"),
            "无法识别的证书验证码",
        );
    };
    match crate::verify::verify(&state, &code).await {
        Ok(v) => page(
            StatusCode::OK,
            verdict::render(&v, &state.settings.issuer_name),
        ),
        Err(e) => error_page(&state, &e, "无法识别的证书验证码"),
    }
}

async fn certificate_page(
    State(state): State<AppState>,
    number: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(number)) = number else {
        return error_page(
            &state,
            &AppError::invalid("bad_path", "链接中的证书编号无法读取"),
            "证书编号格式不正确",
        );
    };
    let number = match number.parse::<CertificateNumber>() {
        Ok(n) => n,
        Err(e) => return error_page(&state, &AppError::Domain(e), "证书编号格式不正确"),
    };
    let status = match state.cache.current_status(&state.store, &number).await {
        Ok(s) => s,
        Err(e) => {
            return error_page(&state, &AppError::from(e), "查询失败");
        }
    };
    match status.as_ref() {
        Some(s) => page(
            StatusCode::OK,
            certificate::render(
                s,
                zizhi_shared::time::beijing_date(Utc::now()),
                &state.settings.issuer_name,
            ),
        ),
        None => error_page(
            &state,
            &AppError::not_found("certificate_not_found", format!("未找到证书 {number}")),
            "未找到该证书",
        ),
    }
}

#[derive(Deserialize)]
struct SearchParams {
    q: Option<String>,
    page: Option<String>,
}

async fn search_page(
    State(state): State<AppState>,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return error_page(
            &state,
            &AppError::invalid("invalid_query", "查询参数无法读取"),
            "查询条件有误",
        );
    };
    let q = params.q.as_deref().map(str::trim).unwrap_or_default();
    let page_no = match params.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return error_page(
                    &state,
                    &AppError::invalid("invalid_page", "页码应为 1 至 10000 的整数"),
                    "查询条件有误",
                );
            }
        },
    };
    if q.is_empty() {
        return page(
            StatusCode::OK,
            search::render(&state.settings.issuer_name, "", None),
        );
    }
    if q.chars().count() > crate::register::lookup::MAX_QUERY_CHARS {
        return page(
            StatusCode::BAD_REQUEST,
            search::render_refused(
                &state.settings.issuer_name,
                q,
                "查询内容过长：请输入 60 个字符以内的企业名称、统一社会信用代码或证书编号",
            ),
        );
    }
    match state
        .store
        .search_enterprises(q, page_no, search::PER_PAGE)
        .await
    {
        Ok(found) => page(
            StatusCode::OK,
            search::render(&state.settings.issuer_name, q, Some(&found)),
        ),
        Err(e) => error_page(&state, &AppError::Store(e), "查询失败"),
    }
}
