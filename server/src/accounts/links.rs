//! One-time links into an account: the issuer's invitation (72 hours; registers the first
//! passkey and, for an enterprise, sets the password of its signing key) and the demo's
//! login links (24 hours, demo mode only). The token is 32 random bytes in the URL; only its
//! SHA-256 is stored, and the link works once.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::Account;
use super::passkeys::random_token;
use crate::error::AppResult;
use crate::store::Store;

/// What a link does when followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::AsRefStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum LinkKind {
    /// 邀请: register the first key.
    Invitation,
    /// 演示登录: sign in once without a key (demo mode).
    DemoLogin,
}

impl LinkKind {
    pub fn lifetime(self) -> TimeDelta {
        match self {
            LinkKind::Invitation => TimeDelta::hours(72),
            LinkKind::DemoLogin => TimeDelta::hours(24),
        }
    }

    /// The path the link opens, before its token.
    pub fn path(self) -> &'static str {
        match self {
            LinkKind::Invitation => "/invite/",
            LinkKind::DemoLogin => "/login/link/",
        }
    }
}

/// The stored form of a link token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new link for `account`: its path (to put after the public base URL) and when it expires.
pub async fn create(
    store: &Store,
    actor: &str,
    account: &Account,
    kind: LinkKind,
    now: DateTime<Utc>,
) -> AppResult<(String, DateTime<Utc>)> {
    let token = random_token()?;
    let expires = now + kind.lifetime();
    store
        .create_link(
            actor,
            account,
            kind.as_ref(),
            &token_digest(&token),
            now,
            expires,
        )
        .await?;
    Ok((format!("{}{token}", kind.path()), expires))
}
