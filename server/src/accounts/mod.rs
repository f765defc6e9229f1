//! 网上办事账户: the people who sign in to the web — an enterprise's administrator to the
//! portal (`/portal/`), issuer staff to the console (`/console/`) — with passkeys (WebAuthn,
//! user verification required: the modern form of the guide's 法人一证通 certificate and PIN).
//!
//! - [`passkeys`]: the WebAuthn relying party (webauthn-rs) and its ceremonies, whose state is
//!   kept server-side and taken once.
//! - [`session`]: the session cookie, idle and absolute expiry, CSRF tokens, and the layers
//!   that admit one audience to its nest.
//! - [`sign_in`]: the login page and its ceremony, one-time links (invitations, demo links),
//!   logout.
//! - [`frame`]: the frame every portal and console page shares, and errors as pages.
//! - [`invitations`]: the issuer's invitation of an enterprise's administrator.
//! - [`links`]: making the one-time links (the issuer's invitation, the demo's login links).
//!
//! Accounts are created by the issuer (an invitation) or the command line (staff); nobody
//! signs themselves up.

pub mod frame;
pub mod invitations;
pub mod keys;
pub mod links;
pub mod passkeys;
pub mod session;
pub mod sign_in;

use serde::{Deserialize, Serialize};

/// Which nest an account signs in to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::AsRefStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Audience {
    /// 企业 (the portal)
    Enterprise,
    /// 发证机关 (the console)
    Issuer,
}

impl Audience {
    /// Where the audience's pages start.
    pub fn home(self) -> &'static str {
        match self {
            Audience::Enterprise => "/portal/",
            Audience::Issuer => "/console/",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Audience::Enterprise => "企业资质电子证书管理",
            Audience::Issuer => "发证机关管理台",
        }
    }
}

/// What an account may do within its audience.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::AsRefStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// 企业管理员: claims copies, makes usage copies, manages the enterprise's keys.
    EnterpriseAdmin,
    /// 经办人 (issuer): records enterprises and certificates, invites enterprises.
    Clerk,
    /// 审批人 (issuer): approves changes to qualifications, manages signing keys.
    Approver,
}

impl Role {
    pub fn audience(self) -> Audience {
        match self {
            Role::EnterpriseAdmin => Audience::Enterprise,
            Role::Clerk | Role::Approver => Audience::Issuer,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::EnterpriseAdmin => "企业管理员",
            Role::Clerk => "经办人",
            Role::Approver => "审批人",
        }
    }
}

/// An account (账户) of the portal or the console.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub role: Role,
    /// The enterprise an enterprise account acts for.
    pub enterprise_id: Option<i64>,
    pub login_name: String,
    pub display_name: String,
    /// WebAuthn user handle: random, so a key's stored user id says nothing about the person.
    pub user_handle: uuid::Uuid,
    pub disabled: bool,
}

impl Account {
    pub fn audience(&self) -> Audience {
        self.role.audience()
    }

    /// How the event log names this account: never something a client could set.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.audience(), self.login_name)
    }
}

/// Login names: what a person types at the login page.
pub fn check_login_name(name: &str) -> Result<(), crate::error::AppError> {
    let ok = (3..=40).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(crate::error::AppError::invalid(
            "login_name_invalid",
            "登录名须为 3 至 40 个字母、数字或 . _ - @",
        ))
    }
}

/// A display name or a key's name: visible text only, bounded.
pub fn check_label(what: &str, text: &str, max: usize) -> Result<String, crate::error::AppError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(crate::error::AppError::invalid(
            "label_invalid",
            format!("{what}须为 1 至 {max} 个字符，且不含控制字符"),
        ));
    }
    // The register's one rule for stored text (no private use, bidirectional controls or
    // unassigned code points; one normal form).
    Ok(zizhi_shared::bounded_text("label", t, max)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_belong_to_their_audience_and_round_trip_as_text() {
        assert_eq!(Role::EnterpriseAdmin.audience(), Audience::Enterprise);
        assert_eq!(Role::Approver.audience(), Audience::Issuer);
        for r in [Role::EnterpriseAdmin, Role::Clerk, Role::Approver] {
            assert_eq!(r.to_string().parse::<Role>().unwrap(), r);
        }
        assert_eq!(Role::EnterpriseAdmin.to_string(), "enterprise_admin");
    }

    #[test]
    fn login_names_are_plain_ascii_and_labels_have_no_control_characters() {
        assert!(check_login_name("91310112632714976P").is_ok());
        assert!(check_login_name("li.ming@jw").is_ok());
        assert!(check_login_name("ab").is_err());
        assert!(check_login_name("李明").is_err());
        assert_eq!(check_label("名称", " 我的钥匙 ", 20).unwrap(), "我的钥匙");
        assert!(check_label("名称", "a\u{7}b", 20).is_err());
        assert!(check_label("名称", "   ", 20).is_err());
    }
}
