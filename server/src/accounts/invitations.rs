//! 邀请: the issuer invites an enterprise's administrator to the portal. The account is made
//! on the first invitation (its login name is the enterprise's credit code); each invitation
//! is a new one-time link, valid 72 hours. The console uses the same function.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::CreditCode;

use super::links::{self, LinkKind};
use super::{Account, Role, check_label};
use crate::app::AppState;
use crate::auth::IssuerStaff;
use crate::error::{AppResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::store::NewAccount;

/// Under the issuer nest (`/api/v1/issuer`).
pub fn issuer_routes() -> Router<AppState> {
    Router::new().route("/enterprises/{credit_code}/invitation", post(invite_api))
}

/// An invitation as the issuer hands it on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    /// 登录名（统一社会信用代码）
    pub login_name: String,
    /// 邀请链接的路径，接在本站地址之后
    pub path: String,
    /// 完整链接（配置了 public_base_url 时）
    pub url: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Invites the administrator of the enterprise `code`: makes its account when there is none,
/// and a new one-time link.
pub async fn invite(
    state: &AppState,
    actor: &str,
    code: &CreditCode,
    display_name: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Invitation> {
    let enterprise = state.store.enterprise_to_enrol(code).await?;
    let login = code.to_string();
    let account: Account = match state.store.account_by_login(&login).await? {
        Some(a) => a,
        None => {
            let name = match display_name {
                Some(n) => check_label("姓名", n, 30)?,
                None => format!("{}管理员", enterprise.name),
            };
            state
                .store
                .create_account(
                    actor,
                    &NewAccount {
                        role: Role::EnterpriseAdmin,
                        enterprise_id: Some(enterprise.id),
                        login_name: &login,
                        display_name: &name,
                    },
                    now,
                )
                .await?
        }
    };
    let (path, expires_at) =
        links::create(&state.store, actor, &account, LinkKind::Invitation, now).await?;
    let url = state
        .settings
        .public_base_url
        .as_deref()
        .and_then(|b| webauthn_rs::prelude::Url::parse(b).ok())
        .map(|mut base| {
            // A passkey works only on the RP id's host: a base URL on an IP address (a test,
            // a demo) is answered on localhost instead.
            if state.passkeys.rp_id() == "localhost" && base.host_str() != Some("localhost") {
                let _ = base.set_host(Some("localhost"));
            }
            format!("{}{path}", base.as_str().trim_end_matches('/'))
        });
    Ok(Invitation {
        login_name: login,
        path,
        url,
        expires_at,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct InvitationBody {
    /// 企业管理员姓名（首次邀请时用）
    #[schema(max_length = 30)]
    display_name: Option<String>,
}

/// 邀请企业开通网上办事账户: a one-time link (72 h) for the enterprise's administrator to
/// register a passkey and set the password of the enterprise's signing key.
#[utoipa::path(
    post,
    path = "/api/v1/issuer/enterprises/{credit_code}/invitation",
    tag = "issuer",
    params(("credit_code" = String, Path, description = "统一社会信用代码", example = "91310112632714976P")),
    request_body = InvitationBody,
    responses(
        (status = 201, description = "邀请链接（只显示这一次）", body = Invitation),
        (status = 400, description = "信用代码或姓名不符合要求", body = ErrorBody),
        (status = 404, description = "未登记该企业", body = ErrorBody),
    )
)]
async fn invite_api(
    State(state): State<AppState>,
    issuer: IssuerStaff,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<InvitationBody>,
) -> AppResult<(StatusCode, Json<Invitation>)> {
    let code = code.parse::<CreditCode>()?;
    let inv = invite(
        &state,
        &issuer.actor,
        &code,
        body.display_name.as_deref(),
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(inv)))
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use chrono::Utc;
    use serde_json::json;

    use crate::accounts::links::{LinkKind, token_digest};
    use crate::testing::TestApp;

    async fn enterprise(app: &TestApp) -> String {
        let code: zizhi_shared::CreditCode = format!(
            "91310000MA1FL0001{}",
            zizhi_shared::CreditCode::check_char("91310000MA1FL0001").unwrap()
        )
        .parse()
        .unwrap();
        let r = app
            .issuer(
                Method::POST,
                "/api/v1/issuer/enterprises",
                Some(json!({
                    "name": "上海测试建设有限公司", "credit_code": code.to_string(),
                    "address": "上海市黄浦区中山南路100号", "legal_representative": "王建国",
                    "registered_capital_wan": "5000", "economic_nature": "有限责任公司"
                })),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        code.to_string()
    }

    #[tokio::test]
    async fn an_invitation_makes_the_account_once_and_a_new_one_time_link_each_time() {
        let app = TestApp::new().await;
        let code = enterprise(&app).await;
        let path = format!("/api/v1/issuer/enterprises/{code}/invitation");
        let first = app.issuer(Method::POST, &path, Some(json!({}))).await;
        assert_eq!(
            first.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&first.body)
        );
        let second = app.issuer(Method::POST, &path, Some(json!({}))).await;
        assert_eq!(second.status, StatusCode::CREATED);
        let (a, b) = (first.json(), second.json());
        assert_eq!(a["login_name"], code);
        assert_ne!(a["path"], b["path"], "each invitation is a new link");
        let store = &app.state.store;
        let accounts = store
            .accounts_of(Some(
                store
                    .enterprise_to_enrol(&code.parse().unwrap())
                    .await
                    .unwrap()
                    .id,
            ))
            .await
            .unwrap();
        assert_eq!(accounts.len(), 1, "one account, invited twice");
        // Only the digest is stored, and the link opens the invitation page.
        let token = a["path"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let found = store
            .link_account(
                &token_digest(&token),
                LinkKind::Invitation.as_ref(),
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(found.unwrap().login_name, code);
        let page = app.get(a["path"].as_str().unwrap()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&page.body).contains("登记通行密钥并开通"));
        // Without the issuer token: refused like every issuer route.
        let anon = app
            .send(
                axum::http::Request::post(&path)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from("{}"))
                    .unwrap(),
            )
            .await;
        assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    }
}
