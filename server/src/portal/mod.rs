//! 企业资质电子证书管理: the enterprise portal (`/portal/`), the guide's web pages for an
//! enterprise — 证书列表, 领证, 生成使用件, 使用记录 and 账户 — server-rendered, in Chinese,
//! usable on a desktop browser and a phone. Only the passkey ceremonies use JavaScript.
//!
//! Every page is behind [`crate::accounts::session::require_session`] for the enterprise
//! audience (a clerk's session is refused here, and the reverse in the console), carries the
//! session's CSRF token in every form, and acts through the same services as the enterprise
//! API ([`crate::pdf::enterprise_copies`]).
//!
//! - [`certificates`]: 证书列表 and 领证.
//! - [`usage`]: 生成使用件, approved by a fresh passkey assertion bound to its terms and the
//!   password of the enterprise's signing key.
//! - [`records`]: 使用记录, downloads, 作废.
//! - [`account`]: keys, the signing-key password and API tokens ([`tokens`]).

pub mod account;
pub mod certificates;
pub mod records;
pub mod tokens;
pub mod usage;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use chrono::NaiveDate;
use zizhi_shared::CertificateNumber;

use crate::accounts::Audience;
use crate::accounts::frame::{PageError, see_other};
use crate::accounts::session::{SignedIn, require_session};
use crate::app::AppState;
use crate::error::AppError;
use crate::pdf::credentials::EnterpriseAccount;
use crate::ratelimit;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/portal", get(|| async { see_other("/portal/") }))
        .route("/portal/", get(certificates::list))
        .route(
            "/portal/certificates/{number}/claim",
            get(certificates::claim_page).post(certificates::claim),
        )
        .route(
            "/portal/certificates/{number}/usage",
            get(usage::form).post(usage::with_password_only),
        )
        .route(
            "/portal/certificates/{number}/usage/begin",
            post(usage::begin),
        )
        .route(
            "/portal/certificates/{number}/usage/finish",
            post(usage::finish),
        )
        .route("/portal/certificates/{number}/copies", get(records::list))
        .route("/portal/copies/{file}", get(records::download))
        .route("/portal/copies/{id}/qr/{format}", get(records::qr))
        .route(
            "/portal/copies/{id}/withdraw",
            get(records::withdraw_page).post(records::withdraw),
        )
        .route("/portal/account", get(account::show))
        .merge(crate::accounts::keys::routes(Audience::Enterprise))
        .route("/portal/account/password", post(account::change_password))
        .route("/portal/account/tokens", post(tokens::create))
        .route(
            "/portal/account/tokens/{id}/revoke",
            get(tokens::revoke_page).post(tokens::revoke),
        )
        // Unknown paths answer under the same layers: without a session, every one sends
        // the browser to sign in, so nothing tells a stranger which pages exist.
        .route("/portal/{*rest}", axum::routing::any(not_found))
        // Inside the session layer: only a signed-in enterprise reaches a password check.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::password_guesses::limit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), Audience::Enterprise),
            require_session,
        ))
        // A refused step-up is a 401, counted per address like a failed sign-in.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_failed_authentication,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_enterprise,
        ))
}

async fn not_found() -> PageError {
    AppError::not_found("not_found", "没有这个页面").into()
}

/// The signed-in enterprise: the person, and the enterprise they act for.
#[derive(Debug, Clone)]
pub struct PortalUser {
    pub who: SignedIn,
    pub enterprise: EnterpriseAccount,
}

impl PortalUser {
    /// How the event log names this person acting for the enterprise.
    pub fn actor(&self) -> String {
        crate::pdf::enterprise_copies::actor(&self.enterprise, Some(&self.who.account.login_name))
    }
}

impl FromRequestParts<AppState> for PortalUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        let id = who
            .account
            .enterprise_id
            .filter(|_| who.account.audience() == Audience::Enterprise)
            .ok_or_else(|| AppError::forbidden("wrong_audience", "此页面仅供企业用户使用"))?;
        let enterprise = state.store.enterprise_account(id).await?;
        Ok(PortalUser { who, enterprise })
    }
}

/// A certificate number from the path, or a page saying it is malformed.
pub fn number(s: &str) -> Result<CertificateNumber, PageError> {
    Ok(crate::register::api::parse_number(s)?)
}

/// Today in China Standard Time: what "今天" means on these pages.
pub fn today() -> NaiveDate {
    zizhi_shared::time::beijing_date(chrono::Utc::now())
}
