//! 发证机关管理台: the issuer console (`/console/`) for staff signed in with their own
//! passkeys. A clerk (经办人) records: registers enterprises and their certificates, invites
//! an enterprise's administrator, records changes to qualifications with their legal basis.
//! An approver (审批人), never the clerk who recorded it, approves or rejects each change;
//! approving reissues the certificate as a new version at once. Every action is in the event
//! log under the person's own account, never under a name the client sends.
//!
//! - [`enterprises`]: 企业与证书 (search, an enterprise's page, registering one, inviting its
//!   administrator, disabling an account).
//! - [`changes`]: 变更申请 (record, approve, reject).
//! - [`events`]: 操作日志 with filters.
//! - [`keys`]: the signing keys and the published trust list.
//! - [`account`]: 我的账户, the staff member's own passkeys.

pub mod account;
pub mod changes;
pub mod enterprises;
pub mod events;
pub mod keys;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};

use crate::accounts::frame::{PageError, see_other};
use crate::accounts::session::{SignedIn, require_session};
use crate::accounts::{Audience, Role};
use crate::app::AppState;
use crate::error::AppError;
use crate::ratelimit;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { see_other("/console/") }))
        .route("/console/", get(enterprises::list))
        .route(
            "/console/enterprises/new",
            get(enterprises::new_form).post(enterprises::create),
        )
        .route("/console/enterprises/{code}", get(enterprises::show))
        .route(
            "/console/enterprises/{code}/invite",
            post(enterprises::invite),
        )
        .route(
            "/console/accounts/{id}/disable",
            post(enterprises::disable_account),
        )
        .route(
            "/console/accounts/{id}/enable",
            post(enterprises::enable_account),
        )
        .route("/console/changes", get(changes::list))
        .route(
            "/console/qualifications/{id}/change",
            get(changes::form).post(changes::record),
        )
        .route("/console/changes/{id}/approve", post(changes::approve))
        .route("/console/changes/{id}/reject", post(changes::reject))
        .merge(changes::routes())
        .route("/console/events", get(events::list))
        .route("/console/keys", get(keys::show))
        .route("/console/account", get(account::show))
        .merge(crate::accounts::keys::routes(Audience::Issuer))
        // Unknown paths answer under the same layers: without a session, every one sends
        // the browser to sign in, so nothing tells a stranger which pages exist.
        .route("/console/{*rest}", axum::routing::any(not_found))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), Audience::Issuer),
            require_session,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_issuer,
        ))
}

async fn not_found() -> PageError {
    AppError::not_found("not_found", "没有这个页面").into()
}

/// Issuer staff signed in to the console.
#[derive(Debug, Clone)]
pub struct ConsoleStaff {
    pub who: SignedIn,
}

impl ConsoleStaff {
    /// Refused unless this person holds `role`.
    pub fn must_be(&self, role: Role) -> Result<(), PageError> {
        if self.who.account.role == role {
            Ok(())
        } else {
            Err(
                AppError::forbidden("role_required", format!("此操作须由{}办理", role.label()))
                    .into(),
            )
        }
    }

    pub fn actor(&self) -> String {
        self.who.account.actor()
    }
}

impl FromRequestParts<AppState> for ConsoleStaff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        if who.account.audience() != Audience::Issuer {
            return Err(
                AppError::forbidden("wrong_audience", "此页面仅供发证机关工作人员使用").into(),
            );
        }
        Ok(ConsoleStaff { who })
    }
}
