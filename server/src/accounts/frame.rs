//! The frame every portal and console page shares: header with the signed-in person and
//! logout, the audience's navigation, notices, and the headers such a page is sent with
//! (styles and the one script from this site only, nothing cached, no referrer).

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use super::Audience;
use super::session::SignedIn;
use crate::app::AppState;
use crate::error::AppError;
use crate::store::StoreError;

const CSS: &str = include_str!("../../../assets/portal/portal.css");
const SCRIPT: &str = include_str!("../../../assets/portal/passkey.js");

/// The stylesheet and the passkey script.
pub fn static_routes() -> Router<AppState> {
    Router::new()
        .route("/static/portal.css", get(css))
        .route("/static/passkey.js", get(script))
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Short: these files change with a release and carry no content hash in their name.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// A navigation entry: address, label.
pub type NavItem = (&'static str, &'static str);

/// The portal's and the console's sections.
pub fn nav(audience: Audience) -> &'static [NavItem] {
    match audience {
        Audience::Enterprise => &[("/portal/", "证书列表"), ("/portal/account", "账户与安全")],
        Audience::Issuer => &[
            ("/console/", "企业与证书"),
            ("/console/enterprises/new", "登记企业"),
            ("/console/changes", "变更审批"),
            ("/console/events", "操作日志"),
            ("/console/keys", "签名密钥"),
            ("/console/account", "我的账户"),
        ],
    }
}

/// A whole page. `current` is the navigation entry to mark; `passkey` loads the script.
pub fn page(
    title: &str,
    who: Option<&SignedIn>,
    audience: Audience,
    current: &str,
    passkey: bool,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " — " (audience.label()) }
                link rel="stylesheet" href="/static/portal.css";
                @if passkey { script src="/static/passkey.js" defer {} }
            }
            body {
                header.top {
                    div.top-in {
                        div.brand {
                            b { (audience.label()) }
                            small { "电子资质证书 · 网上办事" }
                        }
                        @if let Some(w) = who {
                            div.who {
                                span data-testid="who" { (w.account.display_name) "（" (w.account.role.label()) "）" }
                                form method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(w.csrf);
                                    button.linkbtn type="submit" { "退出登录" }
                                }
                            }
                        }
                    }
                }
                @if who.is_some() {
                    nav.nav {
                        div.nav-in {
                            @for (href, label) in nav(audience) {
                                a href=(href) class=[(*href == current).then_some("on")] { (label) }
                            }
                        }
                    }
                }
                main { (body) }
                footer { "本系统仅供办理电子资质证书业务使用。所有操作均记录在案。" }
            }
        }
    }
}

/// A notice box.
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { p class={"notice " (kind)} role="status" { (text) } }
}

/// The hidden CSRF field every form carries.
pub fn csrf(who: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.csrf); }
}

/// An HTML answer with the headers every portal and console page carries.
pub fn respond(status: StatusCode, body: Markup) -> Response {
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
            "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
             img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// An error shown as a page: the same status, code and message every surface shows.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError(e.into())
    }
}

impl From<zizhi_shared::DomainError> for PageError {
    fn from(e: zizhi_shared::DomainError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(&self.0)
    }
}

/// Any error as a page, with a way back.
pub fn error_page(e: &AppError) -> Response {
    let shown = e.shown();
    let body = html! {
        div.panel.login {
            h1 { "未能完成" }
            p class="notice bad" data-error=(shown.code) { (shown.message) }
            p.muted { "错误代码：" (shown.code) }
            p { a href="/login" { "返回登录页" } }
        }
    };
    let mut res = respond(
        shown.status,
        page("未能完成", None, Audience::Enterprise, "", false, body),
    );
    if shown.code == crate::pdf::credentials::WRONG_PASSWORD {
        // Counted per client address by `password_guesses::limit`, as the API's are.
        res.extensions_mut()
            .insert(crate::password_guesses::WrongPasswordAnswered);
    }
    if let AppError::RateLimited { retry_after_secs }
    | AppError::PasswordLocked { retry_after_secs }
    | AppError::AccountLocked { retry_after_secs } = e
    {
        res.headers_mut()
            .insert("retry-after", (*retry_after_secs).max(1).into());
    }
    res
}

/// A `303 See Other` after a form (so a reload does not post it again).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}
