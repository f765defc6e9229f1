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
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use zizhi_documents::DocumentError;
use zizhi_documents::pki::{Role, SCRYPT_LOG_N, Signer, Subject};
use zizhi_shared::CreditCode;

use crate::error::{AppError, AppResult};
use crate::store::{Store, StoreError, append_event, instant, parse_field};

/// Prefix of enterprise API tokens, so the two kinds of bearer token cannot be confused.
pub const TOKEN_PREFIX: &str = "zzent_";
/// Shortest password accepted for an enterprise key.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// What enrolment hands the issuer to pass on to the enterprise.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolment {
    pub credit_code: CreditCode,
    pub enterprise_name: String,
    /// Shown once; only its digest is kept.
    pub token: String,
    pub certificate_pem: String,
    pub valid_until: DateTime<Utc>,
}

/// An enterprise authenticated by its API token.
#[derive(Debug, Clone)]
pub struct EnterpriseAccount {
    pub enterprise_id: i64,
    pub credit_code: CreditCode,
    pub name: String,
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

fn check_password(password: &str) -> AppResult<()> {
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
        DocumentError::WrongPassword => AppError::invalid("wrong_password", "数字证书密码错误"),
        other => AppError::Internal(other.into()),
    }
}

impl Store {
    /// Enrols (or re-enrols) an enterprise: new key, certificate and token.
    pub async fn enrol_enterprise(
        &self,
        actor: &str,
        code: &CreditCode,
        password: &str,
        ca: &Signer,
        now: DateTime<Utc>,
    ) -> AppResult<Enrolment> {
        Ok(self
            .enrol_enterprise_with_signer(actor, code, password, SCRYPT_LOG_N, ca, now)
            .await?
            .0)
    }

    /// [`Store::enrol_enterprise`] with scrypt cost 2^`scrypt_log_n`, also returning the
    /// unlocked signer (for the demo, which signs right away and whose password is public).
    pub async fn enrol_enterprise_with_signer(
        &self,
        actor: &str,
        code: &CreditCode,
        password: &str,
        scrypt_log_n: u8,
        ca: &Signer,
        now: DateTime<Utc>,
    ) -> AppResult<(Enrolment, Signer)> {
        check_password(password)?;
        let row = sqlx::query("SELECT id, name FROM enterprises WHERE credit_code = $1")
            .bind(code.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| {
                AppError::not_found(
                    "enterprise_not_found",
                    format!("未找到统一社会信用代码为 {code} 的企业"),
                )
            })?;
        let id: i64 = row.try_get(0).map_err(StoreError::from)?;
        let name: String = row.try_get(1).map_err(StoreError::from)?;

        // Key generation and scrypt take tens of milliseconds: off the async threads.
        let (ca, name2, code2, password) =
            (ca.clone(), name.clone(), code.clone(), password.to_owned());
        let (signer, encrypted) = tokio::task::spawn_blocking(move || {
            let signer = ca.issue(
                &Subject {
                    common_name: &name2,
                    organization: &name2,
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

        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(raw));
        let chain = signer.chain_pem().map_err(pki_error)?;

        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM enterprise_credentials WHERE enterprise_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        sqlx::query(
            "INSERT INTO enterprise_credentials
               (enterprise_id, token_sha256, certificate_pem, encrypted_key_pem, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id)
        .bind(token_digest(&token))
        .bind(&chain)
        .bind(&encrypted)
        .bind(instant(now))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        append_event(
            &mut tx,
            now,
            actor,
            "credential.enrol",
            code.as_str(),
            &json!({ "subject": signer.common_name() }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let enrolment = Enrolment {
            credit_code: code.clone(),
            enterprise_name: name,
            token,
            certificate_pem: signer.certificate_pem().map_err(pki_error)?,
            valid_until: now + Duration::days(3 * 365),
        };
        Ok((enrolment, signer))
    }

    /// The enterprise a token belongs to, if any.
    pub async fn enterprise_by_token(
        &self,
        token: &str,
    ) -> Result<Option<EnterpriseAccount>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT e.id, e.credit_code, e.name FROM enterprise_credentials c
             JOIN enterprises e ON e.id = c.enterprise_id WHERE c.token_sha256 = $1",
        )
        .bind(token_digest(token))
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(EnterpriseAccount {
            enterprise_id: r.try_get(0)?,
            credit_code: parse_field("credit code", &r.try_get::<String, _>(1)?)?,
            name: r.try_get(2)?,
        }))
    }

    /// The enterprise's signer, unlocked with its password. A wrong password is
    /// `wrong_password`, after the full scrypt cost.
    pub async fn enterprise_signer(&self, enterprise_id: i64, password: &str) -> AppResult<Signer> {
        let r = sqlx::query(
            "SELECT certificate_pem, encrypted_key_pem FROM enterprise_credentials WHERE enterprise_id = $1",
        )
        .bind(enterprise_id)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from)?
        .ok_or_else(|| {
            AppError::refused("no_credential", "企业尚未办理数字证书，请联系发证机关")
        })?;
        let chain: String = r.try_get(0).map_err(StoreError::from)?;
        let key: String = r.try_get(1).map_err(StoreError::from)?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || Signer::from_encrypted_pem(&chain, &key, &password))
            .await
            .map_err(anyhow::Error::from)?
            .map_err(pki_error)
    }

    /// 修改数字证书密码: re-encrypts the key under a new password.
    pub async fn change_enterprise_password(
        &self,
        account: &EnterpriseAccount,
        old: &str,
        new: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        check_password(new)?;
        let signer = self.enterprise_signer(account.enterprise_id, old).await?;
        let new = new.to_owned();
        let encrypted = tokio::task::spawn_blocking(move || signer.encrypted_key_pem(&new))
            .await
            .map_err(anyhow::Error::from)?
            .map_err(pki_error)?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE enterprise_credentials SET encrypted_key_pem = $1, updated_at = $2 WHERE enterprise_id = $3",
        )
        .bind(&encrypted)
        .bind(instant(now))
        .bind(account.enterprise_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        append_event(
            &mut tx,
            now,
            &format!("enterprise:{}", account.credit_code),
            "credential.password",
            account.credit_code.as_str(),
            &json!({}),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}
