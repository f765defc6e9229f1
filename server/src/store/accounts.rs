//! Web accounts, their passkeys and one-time links (see `crate::accounts`). Every change to
//! an account is written with its event-log entry; sign-in failures are logged too.

use chrono::{DateTime, Utc};
use serde_json::json;

use zizhi_shared::CreditCode;

use super::credentials::write_credential;
use super::{
    NewCredential, Store, StoreError, Touches, Tx, UniqueViolation, append_event, instant,
    parse_field, parse_instant,
};
use crate::accounts::{Account, Role};

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub role: Role,
    pub enterprise_id: Option<i64>,
    pub login_name: &'a str,
    pub display_name: &'a str,
}

/// A registered passkey of an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredPasskey {
    pub id: i64,
    pub account_id: i64,
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs `Passkey` as JSON.
    pub passkey: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    role: String,
    enterprise_id: Option<i64>,
    login_name: String,
    display_name: String,
    user_handle: String,
    disabled_at: Option<String>,
}

const ACCOUNT_COLUMNS: &str =
    "id, role, enterprise_id, login_name, display_name, user_handle, disabled_at";

/// The account with this id, read on `conn`: the pool, or a transaction that must see it.
async fn account_by_id<'c, E>(conn: E, id: i64) -> Result<Option<Account>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query_as::<_, AccountRow>(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .map(Account::try_from)
    .transpose()
}

/// The account a link names, inside the transaction that uses the link; a disabled account
/// is refused (its links die with it).
async fn enabled_account(tx: &mut Tx, id: i64) -> Result<Account, StoreError> {
    let account = account_by_id(&mut **tx, id)
        .await?
        .ok_or_else(link_invalid)?;
    if account.disabled {
        return Err(account_disabled());
    }
    Ok(account)
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Account, StoreError> {
        Ok(Account {
            id: r.id,
            role: parse_field("role", &r.role)?,
            enterprise_id: r.enterprise_id,
            login_name: r.login_name,
            display_name: r.display_name,
            user_handle: parse_field("user handle", &r.user_handle)?,
            disabled: r.disabled_at.is_some(),
        })
    }
}

/// Why sign-in is refused for a while after repeated failures.
#[derive(Debug, Clone, Copy)]
pub struct LoginLock {
    pub until: DateTime<Utc>,
}

fn account_exists(login: &str) -> StoreError {
    StoreError::conflict("account_exists", format!("登录名 {login} 已被使用"))
}

pub(crate) fn account_not_found() -> StoreError {
    StoreError::not_found("account_not_found", "未找到该账户")
}

impl Store {
    /// Creates an account; `actor` is who created it (an issuer clerk, the command line, the
    /// demo).
    pub async fn create_account(
        &self,
        actor: &str,
        new: &NewAccount<'_>,
        now: DateTime<Utc>,
    ) -> Result<Account, StoreError> {
        let mut tx = self.begin().await?;
        let account = insert_account(&mut tx, actor, new, now).await?;
        tx.commit().await?;
        Ok(account)
    }

    pub async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        account_by_id(self.pool(), id).await
    }

    pub async fn account_by_login(&self, login: &str) -> Result<Option<Account>, StoreError> {
        sqlx::query_as::<_, AccountRow>(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE login_name = $1"
        ))
        .bind(login)
        .fetch_optional(self.pool())
        .await?
        .map(Account::try_from)
        .transpose()
    }

    /// Every account of one enterprise, or every issuer account (`None`).
    pub async fn accounts_of(
        &self,
        enterprise_id: Option<i64>,
    ) -> Result<Vec<Account>, StoreError> {
        let rows =
            match enterprise_id {
                Some(id) => sqlx::query_as::<_, AccountRow>(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE enterprise_id = $1 ORDER BY id"
                ))
                .bind(id)
                .fetch_all(self.pool())
                .await?,
                None => sqlx::query_as::<_, AccountRow>(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE enterprise_id IS NULL ORDER BY id"
                ))
                .fetch_all(self.pool())
                .await?,
            };
        rows.into_iter().map(Account::try_from).collect()
    }

    /// Disables (or enables again) an account; disabling ends its sessions at once.
    pub async fn set_account_disabled(
        &self,
        actor: &str,
        id: i64,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE accounts SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then(|| instant(now)))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(account_not_found());
        }
        if disabled {
            sqlx::query("DELETE FROM web_sessions WHERE account_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        append_event(
            &mut tx,
            now,
            actor,
            if disabled {
                "account.disable"
            } else {
                "account.enable"
            },
            &format!("account:{id}"),
            Touches::Nothing,
            &json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether sign-in for this account is locked after repeated failures, and until when.
    pub async fn login_lock(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<LoginLock>, StoreError> {
        let until = sqlx::query_scalar::<_, Option<String>>(
            "SELECT locked_until FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .flatten();
        match until {
            Some(t) => {
                let until = parse_instant(&t)?;
                Ok((until > now).then_some(LoginLock { until }))
            }
            None => Ok(None),
        }
    }

    /// Counts a failed sign-in or step-up (logged with `reason`); after `free` failures in a
    /// row each further one locks the account for `lock`, doubling.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_login_failure(
        &self,
        account_id: Option<i64>,
        subject: &str,
        reason: &str,
        client: &str,
        free: i64,
        lock: chrono::TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if let Some(id) = account_id {
            let failures = sqlx::query_scalar::<_, i64>(
                "UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = $1
                 RETURNING failed_logins",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
            if failures > free {
                let doublings = (failures - free - 1).min(6) as u32;
                let until = now + lock * 2i32.pow(doublings);
                sqlx::query("UPDATE accounts SET locked_until = $1 WHERE id = $2")
                    .bind(instant(until))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        append_event(
            &mut tx,
            now,
            "anonymous",
            "account.sign_in_failed",
            subject,
            Touches::Nothing,
            &json!({ "reason": reason, "client": client }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_login_failures(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn passkeys_of(&self, account_id: i64) -> Result<Vec<StoredPasskey>, StoreError> {
        Ok(sqlx::query_as::<_, StoredPasskey>(
            "SELECT id, account_id, credential_id, name, passkey, created_at, last_used_at
             FROM passkeys WHERE account_id = $1 ORDER BY id",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Adds a registered key to an account; a key already registered (to any account) is a
    /// conflict.
    pub async fn add_passkey(
        &self,
        account: &Account,
        credential_id: &str,
        name: &str,
        passkey_json: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_passkey(&mut tx, account, credential_id, name, passkey_json, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores the key's state after a use (its signature counter) and when it was used.
    pub async fn passkey_used(
        &self,
        id: i64,
        passkey_json: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3")
            .bind(passkey_json)
            .bind(instant(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn rename_passkey(
        &self,
        account: &Account,
        id: i64,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND account_id = $3")
            .bind(name)
            .bind(id)
            .bind(account.id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(passkey_not_found());
        }
        append_event(
            &mut tx,
            now,
            &account.actor(),
            "passkey.rename",
            &format!("account:{}", account.id),
            Touches::Nothing,
            &json!({ "passkey_id": id, "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a key; the account's last key cannot be removed (it could not sign in again).
    pub async fn remove_passkey(
        &self,
        account: &Account,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let keys =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM passkeys WHERE account_id = $1")
                .bind(account.id)
                .fetch_one(&mut *tx)
                .await?;
        let exists = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM passkeys WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(account.id)
        .fetch_one(&mut *tx)
        .await?;
        if exists == 0 {
            return Err(passkey_not_found());
        }
        if keys <= 1 {
            return Err(StoreError::refused(
                "last_passkey",
                "这是账户唯一的通行密钥，不能删除：请先添加另一把",
            ));
        }
        sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account.id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            now,
            &account.actor(),
            "passkey.remove",
            &format!("account:{}", account.id),
            Touches::Nothing,
            &json!({ "passkey_id": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a one-time link (its token's digest) for an account.
    pub async fn create_link(
        &self,
        actor: &str,
        account: &Account,
        kind: &str,
        token_sha256: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO account_links (token_sha256, account_id, kind, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_sha256)
        .bind(account.id)
        .bind(kind)
        .bind(actor)
        .bind(instant(now))
        .bind(instant(expires_at))
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            now,
            actor,
            &format!("account.{kind}"),
            &format!("account:{}", account.id),
            Touches::Nothing,
            &json!({ "login_name": account.login_name, "expires_at": instant(expires_at) }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account an unused, unexpired link of `kind` stands for, without using it.
    pub async fn link_account(
        &self,
        token_sha256: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Account>, StoreError> {
        let id = sqlx::query_scalar::<_, i64>(
            "SELECT account_id FROM account_links
             WHERE token_sha256 = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_sha256)
        .bind(kind)
        .bind(instant(now))
        .fetch_optional(self.pool())
        .await?;
        match id {
            Some(id) => self.account(id).await,
            None => Ok(None),
        }
    }

    /// Uses a link inside `tx`: true when it was unused and unexpired (and is now used), so
    /// two requests racing with one link cannot both pass.
    pub(crate) async fn use_link(
        tx: &mut Tx,
        token_sha256: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(
            "UPDATE account_links SET used_at = $1
             WHERE token_sha256 = $2 AND kind = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING account_id",
        )
        .bind(instant(now))
        .bind(token_sha256)
        .bind(kind)
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// Redeems an invitation in one transaction: the link is used, the first key registered
    /// and the enterprise's signing credential (made under the password the administrator
    /// chose) stored — all or nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn redeem_invitation(
        &self,
        token_sha256: &str,
        credential_id: &str,
        key_name: &str,
        passkey_json: &str,
        signing: Option<(&NewCredential, &CreditCode, &str)>,
        now: DateTime<Utc>,
    ) -> Result<Account, StoreError> {
        let mut tx = self.begin().await?;
        let id = Store::use_link(&mut tx, token_sha256, "invitation", now)
            .await?
            .ok_or_else(link_invalid)?;
        let account = enabled_account(&mut tx, id).await?;
        insert_passkey(
            &mut tx,
            &account,
            credential_id,
            key_name,
            passkey_json,
            now,
        )
        .await?;
        if let Some((credential, code, subject)) = signing {
            if account.enterprise_id != Some(credential.enterprise_id) {
                return Err(link_invalid());
            }
            write_credential(&mut tx, &account.actor(), code, credential, subject, now).await?;
        }
        tx.commit().await?;
        Ok(account)
    }
}

impl Store {
    /// Uses a demo login link: its account, once.
    pub async fn use_demo_link(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Account, StoreError> {
        let mut tx = self.begin().await?;
        let id = Store::use_link(&mut tx, token_sha256, "demo_login", now)
            .await?
            .ok_or_else(link_invalid)?;
        let account = enabled_account(&mut tx, id).await?;
        tx.commit().await?;
        Ok(account)
    }
}

pub fn link_invalid() -> StoreError {
    StoreError::refused(
        "link_invalid",
        "该链接已使用、已过期或不存在，请向发证机关重新申请",
    )
}

pub(crate) fn account_disabled() -> StoreError {
    StoreError::refused("account_disabled", "该账户已停用，请联系发证机关")
}

fn passkey_not_found() -> StoreError {
    StoreError::not_found("passkey_not_found", "未找到该通行密钥")
}

async fn insert_account(
    tx: &mut Tx,
    actor: &str,
    new: &NewAccount<'_>,
    now: DateTime<Utc>,
) -> Result<Account, StoreError> {
    let handle = uuid::Uuid::new_v4();
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO accounts (role, enterprise_id, login_name, display_name, user_handle, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.role.as_ref())
    .bind(new.enterprise_id)
    .bind(new.login_name)
    .bind(new.display_name)
    .bind(handle.to_string())
    .bind(instant(now))
    .fetch_one(&mut **tx)
    .await
    .on_unique_violation(|| account_exists(new.login_name))?;
    append_event(
        tx,
        now,
        actor,
        "account.create",
        &format!("account:{id}"),
        Touches::Nothing,
        &json!({ "login_name": new.login_name, "role": new.role.as_ref(), "enterprise_id": new.enterprise_id }),
    )
    .await?;
    Ok(Account {
        id,
        role: new.role,
        enterprise_id: new.enterprise_id,
        login_name: new.login_name.to_owned(),
        display_name: new.display_name.to_owned(),
        user_handle: handle,
        disabled: false,
    })
}

async fn insert_passkey(
    tx: &mut Tx,
    account: &Account,
    credential_id: &str,
    name: &str,
    passkey_json: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO passkeys (account_id, credential_id, name, passkey, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account.id)
    .bind(credential_id)
    .bind(name)
    .bind(passkey_json)
    .bind(instant(now))
    .fetch_one(&mut **tx)
    .await
    .on_unique_violation(|| {
        StoreError::conflict("passkey_registered", "该通行密钥已登记在某个账户上")
    })?;
    append_event(
        tx,
        now,
        &account.actor(),
        "passkey.add",
        &format!("account:{}", account.id),
        Touches::Nothing,
        &json!({ "passkey_id": id, "name": name }),
    )
    .await?;
    Ok(())
}
