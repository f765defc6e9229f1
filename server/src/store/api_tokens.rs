//! 接口令牌: tokens an enterprise's administrator makes on 账户 for the enterprise's own
//! systems, beside the token handed out at enrolment. Only the SHA-256 of a token is kept;
//! a revoked token stays listed (who made it, when it was revoked) but authenticates nothing.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Store, StoreError, Touches, append_event, instant};
use crate::accounts::Account;

/// Most tokens an enterprise may have in force at once: enough for each of its systems, few
/// enough that a forgotten one is noticed.
pub const MAX_ACTIVE_API_TOKENS: i64 = 10;

/// An API token as listed on 账户 (never the token itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub name: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

fn token_not_found() -> StoreError {
    StoreError::not_found("api_token_not_found", "未找到该接口令牌")
}

impl Store {
    /// The enterprise's tokens, newest first, revoked ones included.
    pub async fn api_tokens(&self, enterprise_id: i64) -> Result<Vec<ApiTokenRecord>, StoreError> {
        Ok(sqlx::query_as::<_, ApiTokenRecord>(
            "SELECT t.id, t.name, a.display_name AS created_by, t.created_at, t.revoked_at
             FROM api_tokens t JOIN accounts a ON a.id = t.created_by
             WHERE t.enterprise_id = $1 ORDER BY t.id DESC",
        )
        .bind(enterprise_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Stores a new token's digest for the account's enterprise; refused beyond
    /// [`MAX_ACTIVE_API_TOKENS`] in force. The count and the insert are one transaction, so
    /// two at once cannot both slip under the limit.
    pub async fn create_api_token(
        &self,
        account: &Account,
        name: &str,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let enterprise_id = account
            .enterprise_id
            .ok_or_else(|| StoreError::refused("wrong_audience", "只有企业账户可以创建接口令牌"))?;
        let mut tx = self.begin().await?;
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_tokens WHERE enterprise_id = $1 AND revoked_at IS NULL",
        )
        .bind(enterprise_id)
        .fetch_one(&mut *tx)
        .await?;
        if active >= MAX_ACTIVE_API_TOKENS {
            return Err(StoreError::refused(
                "too_many_api_tokens",
                format!("最多同时使用 {MAX_ACTIVE_API_TOKENS} 个接口令牌：请先吊销不再使用的令牌"),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (enterprise_id, name, token_sha256, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(enterprise_id)
        .bind(name)
        .bind(token_sha256)
        .bind(account.id)
        .bind(instant(now))
        .fetch_one(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            now,
            &account.actor(),
            "api_token.create",
            &format!("enterprise:{enterprise_id}"),
            Touches::Nothing,
            &json!({ "api_token_id": id, "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes one of the account's enterprise's tokens; it stops authenticating when this
    /// commits. Revoking a revoked token is refused, so the log has one revocation each.
    pub async fn revoke_api_token(
        &self,
        account: &Account,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let enterprise_id = account.enterprise_id.ok_or_else(token_not_found)?;
        let mut tx = self.begin().await?;
        let revoked: Option<Option<String>> = sqlx::query_scalar(
            "SELECT revoked_at FROM api_tokens WHERE id = $1 AND enterprise_id = $2",
        )
        .bind(id)
        .bind(enterprise_id)
        .fetch_optional(&mut *tx)
        .await?;
        match revoked {
            None => return Err(token_not_found()),
            Some(Some(_)) => {
                return Err(StoreError::conflict(
                    "api_token_revoked",
                    "该接口令牌已经吊销",
                ));
            }
            Some(None) => {}
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(instant(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            now,
            &account.actor(),
            "api_token.revoke",
            &format!("enterprise:{enterprise_id}"),
            Touches::Nothing,
            &json!({ "api_token_id": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
