//! The WebAuthn relying party (webauthn-rs) and its three ceremonies: registering a key,
//! signing in, and stepping up to approve one usage copy.
//!
//! A ceremony's state stays on the server (the `ceremonies` table, so any instance can finish
//! what another began); the browser holds only a random ceremony id. Finishing takes the state
//! out of the table, so an assertion works once: a replay finds nothing. What a ceremony
//! authorises is stored beside its state (`binding`): the step-up for a usage copy is bound
//! to that copy's certificate, purpose and period, and an assertion made for one request
//! cannot approve another. Every key must verify its user (PIN or biometrics): webauthn-rs's
//! passkey ceremonies require the UV flag, and refuse an assertion without it.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Webauthn,
    WebauthnBuilder,
};

use super::Account;
use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::store::{Store, StoredPasskey};

/// How long a ceremony may take, from the options to the finished assertion.
pub const CEREMONY_TTL: TimeDelta = TimeDelta::minutes(5);

/// The relying party: our RP id and the origins it accepts.
#[derive(Clone)]
pub struct RelyingParty {
    webauthn: Arc<Webauthn>,
    rp_id: String,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("rp_id", &self.rp_id)
            .finish()
    }
}

/// What a ceremony is for, and what finishing it authorises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Binding {
    /// Sign in as this account.
    SignIn,
    /// Register a further key for a signed-in account.
    AddKey { name: String },
    /// Register the first key through an invitation (its token's digest).
    Invitation { link_sha256: String, name: String },
    /// Approve exactly this usage copy.
    UsageCopy {
        certificate: String,
        purpose: String,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    },
}

impl Binding {
    fn kind(&self) -> &'static str {
        match self {
            Binding::SignIn => "sign_in",
            Binding::AddKey { .. } => "add_key",
            Binding::Invitation { .. } => "invitation",
            Binding::UsageCopy { .. } => "usage_copy",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum CeremonyState {
    Registration(PasskeyRegistration),
    Authentication(PasskeyAuthentication),
}

/// What the browser gets to run a ceremony: its id, and the options for
/// `navigator.credentials.create` or `.get`.
#[derive(Serialize)]
pub struct CeremonyStart<T: Serialize> {
    pub ceremony: String,
    pub options: T,
}

/// A finished authentication: which of the account's keys answered, and its assertion (kept
/// as the record of who approved what).
#[derive(Debug, Clone)]
pub struct Asserted {
    pub account: Account,
    pub passkey_id: i64,
    pub credential_id: String,
    pub assertion_json: String,
    pub binding: Binding,
}

/// A finished registration.
#[derive(Debug, Clone)]
pub struct Registered {
    pub account_id: Option<i64>,
    pub credential_id: String,
    pub passkey_json: String,
    pub binding: Binding,
}

fn digest(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// 32 random bytes, base64url: ceremony ids, session ids, link tokens, CSRF tokens.
pub fn random_token() -> AppResult<String> {
    use base64::Engine;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

fn ceremony_failed() -> AppError {
    AppError::invalid(
        "passkey_failed",
        "通行密钥验证未通过（已使用、已过期或与本次操作不符），请重试",
    )
}

impl RelyingParty {
    /// From the settings: the RP id is `[portal] rp_id`, else the host of `public_base_url`,
    /// else `localhost`. On `localhost` any port is accepted (tests bind port 0; the demo
    /// prints `http://localhost:8080/…`).
    pub fn new(settings: &Settings) -> anyhow::Result<RelyingParty> {
        let base = settings
            .public_base_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok());
        let from_base = base
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_owned))
            .filter(|h| h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('['));
        let rp_id = settings
            .portal
            .rp_id
            .clone()
            .or(from_base)
            .unwrap_or_else(|| "localhost".into());
        let origin = match (&base, rp_id.as_str()) {
            (Some(u), _) if u.host_str() == Some(rp_id.as_str()) => u.clone(),
            (_, "localhost") => Url::parse("http://localhost")?,
            _ => Url::parse(&format!("https://{rp_id}"))?,
        };
        let local = rp_id == "localhost";
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)?
            .rp_name(&settings.issuer_name)
            .allow_any_port(local)
            .timeout(CEREMONY_TTL.to_std()?)
            .build()?;
        Ok(RelyingParty {
            webauthn: Arc::new(webauthn),
            rp_id,
        })
    }

    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }

    /// Begins registering a key for `account`; its existing keys are excluded, so one
    /// authenticator is not registered twice.
    pub async fn begin_registration(
        &self,
        store: &Store,
        account: &Account,
        binding: Binding,
        now: DateTime<Utc>,
    ) -> AppResult<CeremonyStart<CreationChallengeResponse>> {
        let existing = store.passkeys_of(account.id).await?;
        let exclude = existing
            .iter()
            .filter_map(|k| serde_json::from_str::<Passkey>(&k.passkey).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let (options, state) = self
            .webauthn
            .start_passkey_registration(
                account.user_handle,
                &account.login_name,
                &account.display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(|e| anyhow::anyhow!("webauthn registration options: {e}"))?;
        let ceremony = self
            .keep(
                store,
                Some(account.id),
                &binding,
                &CeremonyState::Registration(state),
                now,
            )
            .await?;
        Ok(CeremonyStart { ceremony, options })
    }

    /// Finishes a registration begun with [`RelyingParty::begin_registration`].
    pub async fn finish_registration(
        &self,
        store: &Store,
        ceremony: &str,
        credential: &RegisterPublicKeyCredential,
        now: DateTime<Utc>,
    ) -> AppResult<Registered> {
        let (account_id, binding, state) = self.take(store, ceremony, now).await?;
        let CeremonyState::Registration(state) = state else {
            return Err(ceremony_failed());
        };
        let passkey = self
            .webauthn
            .finish_passkey_registration(credential, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                ceremony_failed()
            })?;
        Ok(Registered {
            account_id,
            credential_id: credential.id.clone(),
            passkey_json: serde_json::to_string(&passkey).map_err(anyhow::Error::from)?,
            binding,
        })
    }

    /// Begins an authentication of `account` with its registered keys, for `binding`.
    pub async fn begin_authentication(
        &self,
        store: &Store,
        account: &Account,
        binding: Binding,
        now: DateTime<Utc>,
    ) -> AppResult<CeremonyStart<RequestChallengeResponse>> {
        let stored = store.passkeys_of(account.id).await?;
        let keys = passkeys(&stored);
        if keys.is_empty() {
            return Err(AppError::refused(
                "no_passkey",
                "该账户尚未登记通行密钥，请使用发证机关发给的邀请链接登记",
            ));
        }
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(&keys.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>())
            .map_err(|e| anyhow::anyhow!("webauthn authentication options: {e}"))?;
        let ceremony = self
            .keep(
                store,
                Some(account.id),
                &binding,
                &CeremonyState::Authentication(state),
                now,
            )
            .await?;
        Ok(CeremonyStart { ceremony, options })
    }

    /// Finishes an authentication: the assertion must come from one of the account's keys,
    /// answer this ceremony's challenge, carry user verification, and not go backwards in
    /// its signature counter. The key's new counter is stored.
    pub async fn finish_authentication(
        &self,
        store: &Store,
        ceremony: &str,
        credential: &PublicKeyCredential,
        now: DateTime<Utc>,
    ) -> AppResult<Asserted> {
        let (account_id, binding, state) = self.take(store, ceremony, now).await?;
        let CeremonyState::Authentication(state) = state else {
            return Err(ceremony_failed());
        };
        let account_id = account_id.ok_or_else(ceremony_failed)?;
        let account = store
            .account(account_id)
            .await?
            .ok_or_else(ceremony_failed)?;
        if account.disabled {
            return Err(crate::store::StoreError::refused(
                "account_disabled",
                "该账户已停用，请联系发证机关",
            )
            .into());
        }
        let result = self
            .webauthn
            .finish_passkey_authentication(credential, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey assertion refused");
                ceremony_failed()
            })?;
        if !result.user_verified() {
            return Err(ceremony_failed());
        }
        let stored = store.passkeys_of(account.id).await?;
        let (row, mut passkey) = passkeys(&stored)
            .into_iter()
            .find(|(_, p)| p.cred_id() == result.cred_id())
            .ok_or_else(ceremony_failed)?;
        passkey.update_credential(&result);
        store
            .passkey_used(
                row.id,
                &serde_json::to_string(&passkey).map_err(anyhow::Error::from)?,
                now,
            )
            .await?;
        Ok(Asserted {
            account,
            passkey_id: row.id,
            credential_id: row.credential_id.clone(),
            assertion_json: serde_json::to_string(credential).map_err(anyhow::Error::from)?,
            binding,
        })
    }

    async fn keep(
        &self,
        store: &Store,
        account_id: Option<i64>,
        binding: &Binding,
        state: &CeremonyState,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let id = random_token()?;
        store
            .put_ceremony(
                &digest(&id),
                account_id,
                binding.kind(),
                &serde_json::to_string(binding).map_err(anyhow::Error::from)?,
                &serde_json::to_string(state).map_err(anyhow::Error::from)?,
                now,
                now + CEREMONY_TTL,
            )
            .await?;
        Ok(id)
    }

    async fn take(
        &self,
        store: &Store,
        ceremony: &str,
        now: DateTime<Utc>,
    ) -> AppResult<(Option<i64>, Binding, CeremonyState)> {
        let taken = store
            .take_ceremony(&digest(ceremony))
            .await?
            .ok_or_else(ceremony_failed)?;
        let expires = crate::store::parse_instant(&taken.expires_at)?;
        if expires <= now {
            return Err(ceremony_failed());
        }
        let binding: Binding = serde_json::from_str(&taken.binding)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("ceremony binding: {e}")))?;
        let state: CeremonyState = serde_json::from_str(&taken.state)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("ceremony state: {e}")))?;
        Ok((taken.account_id, binding, state))
    }
}

/// The stored keys that parse, with their rows.
fn passkeys(stored: &[StoredPasskey]) -> Vec<(&StoredPasskey, Passkey)> {
    stored
        .iter()
        .filter_map(|k| match serde_json::from_str::<Passkey>(&k.passkey) {
            Ok(p) => Some((k, p)),
            Err(e) => {
                tracing::error!(passkey = k.id, error = %e, "stored passkey unreadable");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(base: Option<&str>, rp: Option<&str>) -> RelyingParty {
        let mut s = Settings {
            public_base_url: base.map(str::to_owned),
            ..Settings::default()
        };
        s.portal.rp_id = rp.map(str::to_owned);
        RelyingParty::new(&s).unwrap()
    }

    #[test]
    fn the_rp_id_is_the_public_host_never_an_ip_address() {
        assert_eq!(with(None, None).rp_id(), "localhost");
        assert_eq!(
            with(Some("http://127.0.0.1:8080"), None).rp_id(),
            "localhost"
        );
        assert_eq!(
            with(Some("https://zizhi.example.cn"), None).rp_id(),
            "zizhi.example.cn"
        );
        assert_eq!(
            with(Some("https://zizhi.example.cn"), Some("example.cn")).rp_id(),
            "example.cn"
        );
    }

    #[test]
    fn bindings_round_trip_and_differ_by_what_they_authorise() {
        let a = Binding::UsageCopy {
            certificate: "D231098583".into(),
            purpose: "投标".into(),
            from: "2026-01-01".parse().unwrap(),
            to: "2026-02-01".parse().unwrap(),
        };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Binding>(&json).unwrap(), a);
        let b = Binding::UsageCopy {
            certificate: "D231098583".into(),
            purpose: "投标（改）".into(),
            from: "2026-01-01".parse().unwrap(),
            to: "2026-02-01".parse().unwrap(),
        };
        assert_ne!(a, b);
        assert_eq!(a.kind(), "usage_copy");
    }
}
