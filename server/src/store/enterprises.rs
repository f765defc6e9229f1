//! Enterprises (企业基本信息): creating and editing them; an edit reissues every certificate in
//! force, since each prints the enterprise block.

use chrono::{DateTime, Utc};
use serde_json::json;
use zizhi_shared::legal_text::search_key;
use zizhi_shared::{CertificateNumber, CreditCode, Enterprise};

use super::certificates::issue_version;
use super::events::{NewEvent, append_events, values_placeholders};
use super::{Store, StoreError, Touches, Tx, UniqueViolation, append_event, instant, parse_field};
use crate::register::model::ChangeKind;

#[derive(sqlx::FromRow)]
struct EnterpriseRow {
    name: String,
    credit_code: String,
    address: String,
    legal_representative: String,
    registered_capital_wan: String,
    economic_nature: String,
}

impl TryFrom<EnterpriseRow> for Enterprise {
    type Error = StoreError;
    fn try_from(r: EnterpriseRow) -> Result<Self, StoreError> {
        Ok(Enterprise {
            name: r.name,
            credit_code: parse_field("credit code", &r.credit_code)?,
            address: r.address,
            legal_representative: r.legal_representative,
            registered_capital_wan: r.registered_capital_wan,
            economic_nature: r.economic_nature,
        })
    }
}

pub(super) fn enterprise_not_found(code: &CreditCode) -> StoreError {
    StoreError::not_found(
        "enterprise_not_found",
        format!("未找到统一社会信用代码为 {code} 的企业"),
    )
}

/// Rows per multi-row `INSERT` of enterprises: 9 parameters each.
const ENTERPRISES_PER_INSERT: usize = 500;

fn enterprise_exists(code: &CreditCode) -> StoreError {
    StoreError::conflict(
        "enterprise_exists",
        format!("统一社会信用代码 {code} 已登记"),
    )
}

pub(super) async fn enterprise_id(tx: &mut Tx, code: &CreditCode) -> Result<i64, StoreError> {
    sqlx::query_scalar::<_, i64>("SELECT id FROM enterprises WHERE credit_code = $1")
        .bind(code.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| enterprise_not_found(code))
}

pub(super) async fn enterprise_by_id(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> Result<Enterprise, StoreError> {
    sqlx::query_as::<_, EnterpriseRow>(
        "SELECT name, credit_code, address, legal_representative, registered_capital_wan, economic_nature
         FROM enterprises WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?
    .try_into()
}

impl Store {
    /// Fills in the search key of names stored before migration 0008; idempotent, so
    /// instances starting together may all run it.
    pub(super) async fn fill_name_keys(pool: &sqlx::AnyPool) -> Result<(), StoreError> {
        let rows = sqlx::query_as::<_, (i64, String)>(
            "SELECT id, name FROM enterprises WHERE name_key IS NULL",
        )
        .fetch_all(pool)
        .await?;
        for (id, name) in rows {
            sqlx::query("UPDATE enterprises SET name_key = $1 WHERE id = $2")
                .bind(search_key(&name))
                .bind(id)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    pub async fn create_enterprise(
        &self,
        actor: &str,
        e: &Enterprise,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.create_enterprises(actor, std::slice::from_ref(e), now)
            .await
    }

    /// [`Store::create_enterprise`] for many enterprises in one transaction (bulk work such as
    /// the load benchmark's register): each is checked as a single one is, rows and their
    /// event-log entries go in with multi-row inserts, and a refused one (invalid, or a credit
    /// code already registered or given twice) refuses them all.
    pub async fn create_enterprises(
        &self,
        actor: &str,
        enterprises: &[Enterprise],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for e in enterprises {
            e.validate()?;
        }
        let mut tx = self.begin().await?;
        let at = instant(now);
        for chunk in enterprises.chunks(ENTERPRISES_PER_INSERT) {
            let sql = format!(
                "INSERT INTO enterprises
                   (credit_code, name, address, legal_representative, registered_capital_wan, economic_nature, created_at, updated_at, name_key)
                 VALUES {}",
                values_placeholders(chunk.len(), 9)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.credit_code.as_str())
                    .bind(e.name.trim())
                    .bind(e.address.trim())
                    .bind(e.legal_representative.trim())
                    .bind(e.registered_capital_wan.trim())
                    .bind(e.economic_nature.trim())
                    .bind(&at)
                    .bind(&at)
                    .bind(search_key(e.name.trim()));
            }
            q.execute(&mut *tx)
                .await
                .on_unique_violation(|| match enterprises {
                    [one] => enterprise_exists(&one.credit_code),
                    _ => StoreError::conflict(
                        "enterprise_exists",
                        "其中有统一社会信用代码已登记或重复",
                    ),
                })?;
        }
        let events: Vec<NewEvent<'_>> = enterprises
            .iter()
            .map(|e| NewEvent {
                action: "enterprise.create".into(),
                subject: e.credit_code.as_str(),
                touches: Touches::Nothing,
                detail: json!(e),
            })
            .collect();
        append_events(&mut tx, now, actor, &events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Edits the enterprise block; every certificate in force gets a new version
    /// (证书内容变更). Returns the certificates that changed.
    pub async fn update_enterprise(
        &self,
        actor: &str,
        code: &CreditCode,
        e: &Enterprise,
        now: DateTime<Utc>,
    ) -> Result<Vec<CertificateNumber>, StoreError> {
        let mut tx = self.begin().await?;
        let numbers = update_enterprise_in(&mut tx, actor, code, e, None, now).await?;
        tx.commit().await?;
        Ok(numbers)
    }

    /// The enterprise block as the register holds it now.
    pub async fn enterprise(&self, code: &CreditCode) -> Result<Enterprise, StoreError> {
        let mut tx = self.begin_read().await?;
        let id = enterprise_id(&mut tx, code).await?;
        enterprise_by_id(&mut tx, id).await
    }

    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM enterprises")
            .fetch_one(self.pool())
            .await?;
        Ok(n == 0)
    }
}

/// [`Store::update_enterprise`] inside `tx` (also used when an approver approves a clerk's
/// 信息变更, in the same transaction that marks the request approved). `extra_note` (the legal
/// basis and effective date) is added to each new version's note.
pub(super) async fn update_enterprise_in(
    tx: &mut Tx,
    actor: &str,
    code: &CreditCode,
    e: &Enterprise,
    extra_note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<CertificateNumber>, StoreError> {
    e.validate()?;
    let id = enterprise_id(tx, code).await?;
    let before = enterprise_by_id(tx, id).await?;
    if before == *e {
        return Ok(Vec::new());
    }
    sqlx::query(
        "UPDATE enterprises SET credit_code = $1, name = $2, address = $3, legal_representative = $4,
           registered_capital_wan = $5, economic_nature = $6, updated_at = $7, name_key = $9
         WHERE id = $8",
    )
    .bind(e.credit_code.as_str())
    .bind(e.name.trim())
    .bind(e.address.trim())
    .bind(e.legal_representative.trim())
    .bind(e.registered_capital_wan.trim())
    .bind(e.economic_nature.trim())
    .bind(instant(now))
    .bind(id)
    .bind(search_key(e.name.trim()))
    .execute(&mut **tx)
    .await
    .on_unique_violation(|| enterprise_exists(&e.credit_code))?;
    let note = match extra_note {
        Some(n) => format!("企业基本信息变更（{n}）"),
        None => "企业基本信息变更".to_owned(),
    };
    let numbers = sqlx::query_scalar::<_, String>(
        "SELECT number FROM certificates WHERE enterprise_id = $1 AND state = 'active' ORDER BY number",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|n| parse_field("number", n))
    .collect::<Result<Vec<CertificateNumber>, _>>()?;
    for n in &numbers {
        issue_version(tx, n, ChangeKind::ContentChange, &note, None, now).await?;
    }
    append_event(
        tx,
        now,
        actor,
        "enterprise.update",
        code.as_str(),
        Touches::Everything,
        &json!({ "before": before, "after": e, "new_versions": numbers }),
    )
    .await?;
    Ok(numbers)
}
