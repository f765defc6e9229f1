//! Web sessions and WebAuthn ceremonies in progress (see `crate::accounts::session` and
//! `crate::accounts::passkeys`). Both are keyed by the SHA-256 of a random id the browser
//! holds, so a database read does not hand out live sessions.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Store, StoreError, Touches, append_event, instant, parse_instant};
use crate::accounts::Account;

/// A session as stored, with its account.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub account: Account,
    pub csrf_token: String,
    pub signed_in_with: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    account_id: i64,
    csrf_token: String,
    signed_in_with: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
}

/// A ceremony taken for finishing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredCeremony {
    pub account_id: Option<i64>,
    pub kind: String,
    /// What finishing it authorises (JSON).
    pub binding: String,
    /// webauthn-rs state (JSON).
    pub state: String,
    pub expires_at: String,
}

impl Store {
    /// Starts a session for `account` and logs the sign-in.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_session(
        &self,
        id_sha256: &str,
        account: &Account,
        csrf_token: &str,
        signed_in_with: &str,
        client: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO web_sessions
               (id_sha256, account_id, csrf_token, signed_in_with, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(id_sha256)
        .bind(account.id)
        .bind(csrf_token)
        .bind(signed_in_with)
        .bind(instant(now))
        .bind(instant(expires_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(account.id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            now,
            &account.actor(),
            "account.sign_in",
            &format!("account:{}", account.id),
            Touches::Nothing,
            &json!({ "with": signed_in_with, "client": client }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with this id's digest, if it exists (expiry is the caller's to judge).
    pub async fn session(&self, id_sha256: &str) -> Result<Option<StoredSession>, StoreError> {
        let Some(row) = sqlx::query_as::<_, SessionRow>(
            "SELECT account_id, csrf_token, signed_in_with, created_at, last_seen_at, expires_at
             FROM web_sessions WHERE id_sha256 = $1",
        )
        .bind(id_sha256)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let Some(account) = self.account(row.account_id).await? else {
            return Ok(None);
        };
        Ok(Some(StoredSession {
            account,
            csrf_token: row.csrf_token,
            signed_in_with: row.signed_in_with,
            created_at: parse_instant(&row.created_at)?,
            last_seen_at: parse_instant(&row.last_seen_at)?,
            expires_at: parse_instant(&row.expires_at)?,
        }))
    }

    pub async fn touch_session(
        &self,
        id_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
            .bind(instant(now))
            .bind(id_sha256)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a session (logout, or found expired).
    pub async fn delete_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE id_sha256 = $1")
            .bind(id_sha256)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Keeps a ceremony's state until it is finished or expires; old ones are swept here.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_ceremony(
        &self,
        id_sha256: &str,
        account_id: Option<i64>,
        kind: &str,
        binding: &str,
        state: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1")
            .bind(instant(now))
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO ceremonies (id_sha256, account_id, kind, binding, state, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_sha256)
        .bind(account_id)
        .bind(kind)
        .bind(binding)
        .bind(state)
        .bind(instant(now))
        .bind(instant(expires_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes (deletes and returns) a ceremony: whoever finishes it, finishes it once.
    pub async fn take_ceremony(
        &self,
        id_sha256: &str,
    ) -> Result<Option<StoredCeremony>, StoreError> {
        Ok(sqlx::query_as::<_, StoredCeremony>(
            "DELETE FROM ceremonies WHERE id_sha256 = $1
             RETURNING account_id, kind, binding, state, expires_at",
        )
        .bind(id_sha256)
        .fetch_optional(self.pool())
        .await?)
    }
}
