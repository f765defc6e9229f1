//! The demo's web accounts, so a newcomer without a security key sees the whole flow: an
//! administrator of the demo enterprise of the first case (the portal), and an issuer clerk
//! and an approver (the console). Each start of `zizhi serve --demo` prints a one-time login
//! link for each, valid 24 hours; the links work only in demo mode.

use chrono::Utc;

use super::seed::DemoSummary;
use crate::accounts::links::{self, LinkKind};
use crate::accounts::{Account, Role};
use crate::app::AppState;
use crate::store::NewAccount;

const ACTOR: &str = "demo";

/// A printed login link: who it signs in, and its path.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub who: String,
    pub path: String,
}

async fn account(state: &AppState, new: NewAccount<'_>) -> anyhow::Result<Account> {
    if let Some(a) = state.store.account_by_login(new.login_name).await? {
        return Ok(a);
    }
    Ok(state.store.create_account(ACTOR, &new, Utc::now()).await?)
}

/// Makes the demo's accounts (once) and a fresh login link for each.
pub async fn logins(state: &AppState, summary: &DemoSummary) -> anyhow::Result<Vec<DemoLogin>> {
    let mut out = Vec::new();
    if let Some(case) = summary.cases.first() {
        let status = state
            .store
            .certificate_status(&case.certificate_number)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the first demo case's certificate is missing"))?;
        let enterprise = state
            .store
            .enterprise_to_enrol(&status.credit_code)
            .await?
            .id;
        let login = status.credit_code.to_string();
        let admin = account(
            state,
            NewAccount {
                role: Role::EnterpriseAdmin,
                enterprise_id: Some(enterprise),
                login_name: &login,
                display_name: "演示企业管理员",
            },
        )
        .await?;
        let (path, _) =
            links::create(&state.store, ACTOR, &admin, LinkKind::DemoLogin, Utc::now()).await?;
        out.push(DemoLogin {
            who: format!(
                "企业门户（{}，数字证书密码 {}）",
                status.credit_code,
                crate::pdf::demo::DEMO_PASSWORD
            ),
            path,
        });
    }
    for (login, name, role) in [
        ("demo.clerk", "演示经办人", Role::Clerk),
        ("demo.approver", "演示审批人", Role::Approver),
    ] {
        let a = account(
            state,
            NewAccount {
                role,
                enterprise_id: None,
                login_name: login,
                display_name: name,
            },
        )
        .await?;
        let (path, _) =
            links::create(&state.store, ACTOR, &a, LinkKind::DemoLogin, Utc::now()).await?;
        out.push(DemoLogin {
            who: format!("发证机关管理台（{}）", role.label()),
            path,
        });
    }
    Ok(out)
}
