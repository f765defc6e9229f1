//! Enterprise credentials: the enterprise's certificate, its key encrypted under the
//! enterprise's password, and the SHA-256 of its API token. Making keys and checking passwords
//! is `pdf::credentials`; this file only keeps what that produces.

use chrono::{DateTime, Utc};
use serde_json::json;
use zizhi_shared::CreditCode;

use super::enterprises::enterprise_not_found;
use super::{Store, StoreError, Touches, append_event, instant, parse_field, parse_instant};
use crate::pdf::credentials::{EnterpriseAccount, token_digest};

/// What enrolment keeps for one enterprise.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredCredential {
    pub certificate_pem: String,
    pub encrypted_key_pem: String,
}

/// A credential about to replace the enterprise's current one; `token_sha256` is the digest
/// of the new API token.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub enterprise_id: i64,
    pub token_sha256: String,
    pub certificate_pem: String,
    pub encrypted_key_pem: String,
}

/// An enterprise about to be enrolled.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrolledEnterprise {
    pub id: i64,
    pub name: String,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    credit_code: String,
    name: String,
}

impl Store {
    /// The enterprise with this credit code, or `enterprise_not_found`.
    pub async fn enterprise_to_enrol(
        &self,
        code: &CreditCode,
    ) -> Result<EnrolledEnterprise, StoreError> {
        sqlx::query_as::<_, EnrolledEnterprise>(
            "SELECT id, name FROM enterprises WHERE credit_code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| enterprise_not_found(code))
    }

    /// Replaces the enterprise's credential (first enrolment, or a lost token or password):
    /// the old token stops working when this commits. `subject` names the new certificate in
    /// the event log.
    pub async fn replace_credential(
        &self,
        actor: &str,
        code: &CreditCode,
        credential: &NewCredential,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        write_credential(&mut tx, actor, code, credential, subject, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The enterprise with this id, as the portal acts for it.
    pub async fn enterprise_account(&self, id: i64) -> Result<EnterpriseAccount, StoreError> {
        let r = sqlx::query_as::<_, AccountRow>(
            "SELECT id, credit_code, name FROM enterprises WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::not_found("enterprise_not_found", "未找到该企业"))?;
        Ok(EnterpriseAccount {
            enterprise_id: r.id,
            credit_code: parse_field("credit code", &r.credit_code)?,
            name: r.name,
        })
    }

    /// The enterprise a token belongs to, if any: the enrolment token, or an API token made
    /// on 账户 that is not revoked and whose maker's account is not disabled (a person who
    /// leaves takes the tokens they made with them).
    pub async fn enterprise_by_token(
        &self,
        token: &str,
    ) -> Result<Option<EnterpriseAccount>, StoreError> {
        let Some(r) = sqlx::query_as::<_, AccountRow>(
            "SELECT e.id, e.credit_code, e.name FROM enterprise_credentials c
             JOIN enterprises e ON e.id = c.enterprise_id WHERE c.token_sha256 = $1
             UNION ALL
             SELECT e.id, e.credit_code, e.name FROM api_tokens t
             JOIN enterprises e ON e.id = t.enterprise_id
             JOIN accounts a ON a.id = t.created_by
             WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND a.disabled_at IS NULL",
        )
        .bind(token_digest(token))
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(EnterpriseAccount {
            enterprise_id: r.id,
            credit_code: parse_field("credit code", &r.credit_code)?,
            name: r.name,
        }))
    }

    /// The enterprise's stored credential, if it has been enrolled.
    pub async fn credential(
        &self,
        enterprise_id: i64,
    ) -> Result<Option<StoredCredential>, StoreError> {
        Ok(sqlx::query_as::<_, StoredCredential>(
            "SELECT certificate_pem, encrypted_key_pem FROM enterprise_credentials WHERE enterprise_id = $1",
        )
        .bind(enterprise_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Until when the enterprise's password may not be tried, if it is locked now.
    pub async fn password_locked_until(
        &self,
        enterprise_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let until: Option<Option<String>> = sqlx::query_scalar(
            "SELECT locked_until FROM enterprise_credentials WHERE enterprise_id = $1",
        )
        .bind(enterprise_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(until
            .flatten()
            .as_deref()
            .map(parse_instant)
            .transpose()?
            .filter(|t| *t > now))
    }

    /// Counts a wrong password (in the event log too); from the `lock_after`-th in a row the
    /// password is locked for `lock_for(failures in a row)`. Returns the failures in a row and
    /// the lock, if any.
    pub async fn record_password_failure(
        &self,
        account: &EnterpriseAccount,
        lock_after: i64,
        lock_for: impl Fn(i64) -> chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let mut tx = self.begin().await?;
        let failures: i64 = sqlx::query_scalar(
            "UPDATE enterprise_credentials SET failed_attempts = failed_attempts + 1
             WHERE enterprise_id = $1 RETURNING failed_attempts",
        )
        .bind(account.enterprise_id)
        .fetch_one(&mut *tx)
        .await?;
        let locked_until = (failures >= lock_after).then(|| now + lock_for(failures));
        if let Some(until) = locked_until {
            sqlx::query(
                "UPDATE enterprise_credentials SET locked_until = $1 WHERE enterprise_id = $2",
            )
            .bind(instant(until))
            .bind(account.enterprise_id)
            .execute(&mut *tx)
            .await?;
        }
        append_event(
            &mut tx,
            now,
            &format!("enterprise:{}", account.credit_code),
            "credential.password_failed",
            account.credit_code.as_str(),
            Touches::Nothing,
            &json!({ "failures_in_a_row": failures, "locked_until": locked_until }),
        )
        .await?;
        tx.commit().await?;
        Ok((failures, locked_until))
    }

    /// A right password: the count starts again.
    pub async fn clear_password_failures(&self, enterprise_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE enterprise_credentials SET failed_attempts = 0, locked_until = NULL
             WHERE enterprise_id = $1 AND failed_attempts <> 0",
        )
        .bind(enterprise_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Keeps the enterprise's key re-encrypted: under a new password (修改数字证书密码,
    /// `credential.password`) or at a new cost (`credential.rehashed`), `action` in the event
    /// log.
    pub async fn replace_credential_key(
        &self,
        account: &EnterpriseAccount,
        encrypted_key_pem: &str,
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE enterprise_credentials SET encrypted_key_pem = $1, updated_at = $2 WHERE enterprise_id = $3",
        )
        .bind(encrypted_key_pem)
        .bind(instant(now))
        .bind(account.enterprise_id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            now,
            &format!("enterprise:{}", account.credit_code),
            action,
            account.credit_code.as_str(),
            Touches::Nothing,
            &json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Replaces an enterprise's credential inside `tx` (see [`Store::replace_credential`]).
pub(crate) async fn write_credential(
    tx: &mut super::Tx,
    actor: &str,
    code: &CreditCode,
    credential: &NewCredential,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM enterprise_credentials WHERE enterprise_id = $1")
        .bind(credential.enterprise_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
            "INSERT INTO enterprise_credentials
               (enterprise_id, token_sha256, certificate_pem, encrypted_key_pem, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(credential.enterprise_id)
        .bind(&credential.token_sha256)
        .bind(&credential.certificate_pem)
        .bind(&credential.encrypted_key_pem)
        .bind(instant(now))
        .execute(&mut **tx)
        .await?;
    append_event(
        tx,
        now,
        actor,
        "credential.enrol",
        code.as_str(),
        Touches::Nothing,
        &json!({ "subject": subject }),
    )
    .await?;
    Ok(())
}
