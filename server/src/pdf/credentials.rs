//! Enterprise credentials: what the guide's 法人一证通 (certificate + password) does here.
//!
//! The issuer enrols an enterprise once (`POST /api/v1/issuer/enterprises/{code}/credential`
//! with the password the enterprise chose at the counter). The server then
//! - makes a P-256 key and a signing certificate for it under the enterprise CA,
//! - keeps the key only encrypted with that password (scrypt; a wrong password cannot
//!   decrypt it, so the server cannot sign as the enterprise without it),
//! - returns, once, an API token (`zzent_…`, 32 random bytes) that authenticates the
//!   enterprise's downloads and requests; only its SHA-256 is stored.
//!
//! Enrolling again replaces key, certificate and token (lost token or password). Every usage
//! copy asks for the password again, as the guide requires.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use zizhi_documents::DocumentError;

use zizhi_documents::pki::{Role, SCRYPT_LOG_N, Signer, Subject, encrypted_key_log_n};
use zizhi_shared::CreditCode;

use crate::error::{AppError, AppResult};
use crate::store::{NewCredential, Store};

/// Prefix of enterprise API tokens, so the two kinds of bearer token cannot be confused.
pub const TOKEN_PREFIX: &str = "zzent_";
/// The error code of a wrong certificate password.
pub const WRONG_PASSWORD: &str = "wrong_password";
/// Shortest password accepted for an enterprise key.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// What enrolment hands the issuer to pass on to the enterprise. `Debug` leaves the token
/// out.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub credit_code: CreditCode,
    pub enterprise_name: String,
    /// Shown once; only its digest is kept.
    pub token: String,
    pub certificate_pem: String,
    pub valid_until: DateTime<Utc>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("credit_code", &self.credit_code)
            .field("enterprise_name", &self.enterprise_name)
            .field("token", &"[REDACTED]")
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

/// An enterprise authenticated by its API token.
#[derive(Debug, Clone)]
pub struct EnterpriseAccount {
    pub enterprise_id: i64,
    pub credit_code: CreditCode,
    pub name: String,
}

/// What is stored of a token: its SHA-256, so a database leak does not leak tokens.
/// A new enterprise API token: the prefix and 32 random bytes in hex.
pub(crate) fn new_api_token() -> AppResult<String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(raw)))
}

pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

pub(crate) fn check_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.chars().count() > 128 {
        return Err(AppError::invalid(
            "weak_password",
            format!("数字证书密码须为 {MIN_PASSWORD_CHARS} 至 128 个字符"),
        ));
    }
    Ok(())
}

fn pki_error(e: DocumentError) -> AppError {
    match e {
        DocumentError::WrongPassword => AppError::invalid(WRONG_PASSWORD, "数字证书密码错误"),
        other => AppError::Internal(other.into()),
    }
}

/// Enrols (or re-enrols) an enterprise: new key, certificate and token.
pub async fn enrol_enterprise(
    store: &Store,
    actor: &str,
    code: &CreditCode,
    password: &str,
    ca: &Signer,
    now: DateTime<Utc>,
) -> AppResult<Enrolment> {
    Ok(
        enrol_enterprise_with_signer(store, actor, code, password, SCRYPT_LOG_N, ca, now)
            .await?
            .0,
    )
}

/// [`enrol_enterprise`] with scrypt cost 2^`scrypt_log_n`, also returning the unlocked signer
/// (for the demo, which signs right away and whose password is public).
pub async fn enrol_enterprise_with_signer(
    store: &Store,
    actor: &str,
    code: &CreditCode,
    password: &str,
    scrypt_log_n: u8,
    ca: &Signer,
    now: DateTime<Utc>,
) -> AppResult<(Enrolment, Signer)> {
    let prepared = prepare_enrolment(store, code, password, scrypt_log_n, ca, now).await?;
    store
        .replace_credential(
            actor,
            code,
            &prepared.credential,
            &prepared.signer.common_name(),
            now,
        )
        .await?;
    Ok((prepared.enrolment, prepared.signer))
}

/// A new key, certificate and token for an enterprise, made but not yet stored: the caller
/// stores `credential` (with [`Store::replace_credential`], or inside a larger transaction
/// such as redeeming an invitation).
pub struct PreparedEnrolment {
    pub credential: NewCredential,
    pub enrolment: Enrolment,
    pub signer: Signer,
}

/// Makes what [`enrol_enterprise`] stores: the password is checked for length, the key is
/// made and encrypted under it (off the async threads: tens of milliseconds).
pub async fn prepare_enrolment(
    store: &Store,
    code: &CreditCode,
    password: &str,
    scrypt_log_n: u8,
    ca: &Signer,
    now: DateTime<Utc>,
) -> AppResult<PreparedEnrolment> {
    check_password(password)?;
    let enterprise = store.enterprise_to_enrol(code).await?;
    let (ca, name, code2, password) = (
        ca.clone(),
        enterprise.name.clone(),
        code.clone(),
        password.to_owned(),
    );
    let (signer, encrypted) = tokio::task::spawn_blocking(move || {
        let signer = ca.issue(
            &Subject {
                common_name: &name,
                organization: &name,
                credit_code: Some(code2.as_str()),
            },
            Role::DocumentSigner,
            now - Duration::days(3650),
            now + Duration::days(3 * 365),
        )?;
        let encrypted = signer.encrypted_key_pem_with_cost(&password, scrypt_log_n)?;
        Ok::<_, DocumentError>((signer, encrypted))
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(pki_error)?;

    let token = new_api_token()?;
    let credential = NewCredential {
        enterprise_id: enterprise.id,
        token_sha256: token_digest(&token),
        certificate_pem: signer.chain_pem().map_err(pki_error)?,
        encrypted_key_pem: encrypted,
    };
    let enrolment = Enrolment {
        credit_code: code.clone(),
        enterprise_name: enterprise.name,
        token,
        certificate_pem: signer.certificate_pem().map_err(pki_error)?,
        valid_until: now + Duration::days(3 * 365),
    };
    Ok(PreparedEnrolment {
        credential,
        enrolment,
        signer,
    })
}

/// The enterprise's signer, unlocked with its password. A wrong password is
/// `wrong_password`, after the full scrypt cost; a key encrypted at an older, lower cost is
/// re-encrypted at [`SCRYPT_LOG_N`] once the right password opens it.
pub async fn enterprise_signer(
    store: &Store,
    account: &EnterpriseAccount,
    password: &str,
) -> AppResult<Signer> {
    refuse_while_locked(store, account).await?;
    let credential = store
        .credential(account.enterprise_id)
        .await?
        .ok_or_else(|| {
            AppError::refused("no_credential", "企业尚未办理数字证书，请联系发证机关")
        })?;
    // One check at a time per key, the others waiting their turn: the lock then sees every
    // failure before the next check starts, so guesses sent at once cost one scrypt each
    // only until the fifth, and the rest are refused without one. A turn that does not come
    // within the wait is refused (429, try again shortly).
    let _turn = tokio::time::timeout(
        KDF_WAIT,
        OneCheck::enter(Sha256::digest(&credential.encrypted_key_pem).into()),
    )
    .await
    .map_err(|_| AppError::PasswordBusy)?;
    refuse_while_locked(store, account).await?;
    // Each try runs scrypt with 128 MiB: only a few at a time, whoever sends them.
    let permit = tokio::time::timeout(KDF_WAIT, KDF_SLOTS.acquire())
        .await
        .map_err(|_| AppError::Overloaded)?
        .map_err(anyhow::Error::from)?;
    let password = password.to_owned();
    let unlocked = tokio::task::spawn_blocking(move || {
        // Held by the check itself, which runs on even if the request is dropped meanwhile.
        // Fields drop in order: the count ends before the slot is given to the next check.
        // (The key's turn is held by the request until its failure is recorded.)
        let _held = (KdfRun::start(), permit);
        let signer = Signer::from_encrypted_pem(
            &credential.certificate_pem,
            &credential.encrypted_key_pem,
            &password,
        )?;
        let outdated = encrypted_key_log_n(&credential.encrypted_key_pem)
            .is_some_and(|log_n| log_n < SCRYPT_LOG_N);
        let upgraded = if outdated {
            Some(signer.encrypted_key_pem(&password)?)
        } else {
            None
        };
        Ok::<_, DocumentError>((signer, upgraded))
    })
    .await
    .map_err(anyhow::Error::from)?;
    match unlocked {
        Ok((signer, upgraded)) => {
            store.clear_password_failures(account.enterprise_id).await?;
            if let Some(pem) = upgraded {
                store
                    .replace_credential_key(account, &pem, "credential.rehashed", Utc::now())
                    .await?;
                tracing::info!(enterprise = %account.credit_code, "certificate key re-encrypted at the current scrypt cost");
            }
            Ok(signer)
        }
        Err(DocumentError::WrongPassword) => {
            let (failures, locked_until) = store
                .record_password_failure(account, LOCK_AFTER_FAILURES, lock_for, Utc::now())
                .await?;
            tracing::warn!(
                enterprise = %account.credit_code,
                failures,
                locked = locked_until.is_some(),
                "wrong certificate password"
            );
            Err(pki_error(DocumentError::WrongPassword))
        }
        Err(e) => Err(pki_error(e)),
    }
}

async fn refuse_while_locked(store: &Store, account: &EnterpriseAccount) -> AppResult<()> {
    let now = Utc::now();
    match store
        .password_locked_until(account.enterprise_id, now)
        .await?
    {
        Some(until) => Err(AppError::PasswordLocked {
            retry_after_secs: (until - now).num_seconds().max(1) as u64,
        }),
        None => Ok(()),
    }
}

/// Wrong passwords in a row before the password is locked.
const LOCK_AFTER_FAILURES: i64 = 5;

/// How long the `failures`-th wrong password in a row locks the password: 15 minutes at the
/// fifth, doubling with each further one (a lock that ended does not reset the count, only
/// a right password does), at most a day.
pub fn lock_for(failures: i64) -> chrono::Duration {
    let doublings = (failures - LOCK_AFTER_FAILURES).clamp(0, 7) as u32;
    (chrono::Duration::minutes(15) * 2i32.pow(doublings)).min(chrono::Duration::days(1))
}

/// scrypt runs at once (each holds 128 MiB); the rest wait this long, then get 503.
static KDF_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(KDF_AT_ONCE);
pub const KDF_AT_ONCE: usize = 2;
const KDF_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

static KDF_RUNNING: AtomicUsize = AtomicUsize::new(0);
static KDF_MOST: AtomicUsize = AtomicUsize::new(0);

/// The most password checks that ever ran at once in this process: what bounds their memory.
pub fn kdf_most_at_once() -> usize {
    KDF_MOST.load(Ordering::Relaxed)
}

/// Keys (by the digest of their encrypted PEM, unique to each enrolment) whose password is
/// being checked in this process, each with the turn its checks wait for.
static CHECKING: std::sync::LazyLock<std::sync::Mutex<HashMap<[u8; 32], Turn>>> =
    std::sync::LazyLock::new(Default::default);

/// Held by the check whose turn it is.
type Turn = Arc<tokio::sync::Mutex<()>>;

/// A key's turn to be checked; the next check's turn comes when it is dropped.
struct OneCheck {
    key: [u8; 32],
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl OneCheck {
    async fn enter(key: [u8; 32]) -> OneCheck {
        let turn = {
            let mut checking = CHECKING.lock().unwrap_or_else(|e| e.into_inner());
            checking.entry(key).or_default().clone()
        };
        // A request that gives up while waiting drops its clone; should it be the last, the
        // entry stays (one per key at most) until the key's next check ends.
        let turn = turn.lock_owned().await;
        OneCheck {
            key,
            turn: Some(turn),
        }
    }
}

impl Drop for OneCheck {
    fn drop(&mut self) {
        self.turn.take();
        let mut checking = CHECKING.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map holds it: nobody waits for this key any more.
        if checking
            .get(&self.key)
            .is_some_and(|t| Arc::strong_count(t) == 1)
        {
            checking.remove(&self.key);
        }
    }
}

/// One password check running, counted while it lives.
struct KdfRun;

impl KdfRun {
    fn start() -> KdfRun {
        let now = KDF_RUNNING.fetch_add(1, Ordering::Relaxed) + 1;
        KDF_MOST.fetch_max(now, Ordering::Relaxed);
        KdfRun
    }
}

impl Drop for KdfRun {
    fn drop(&mut self) {
        KDF_RUNNING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// 修改数字证书密码: re-encrypts the key under a new password.
pub async fn change_enterprise_password(
    store: &Store,
    account: &EnterpriseAccount,
    old: &str,
    new: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    check_password(new)?;
    let signer = enterprise_signer(store, account, old).await?;
    let new = new.to_owned();
    let encrypted = tokio::task::spawn_blocking(move || signer.encrypted_key_pem(&new))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(pki_error)?;
    store
        .replace_credential_key(account, &encrypted, "credential.password", now)
        .await?;
    Ok(())
}
