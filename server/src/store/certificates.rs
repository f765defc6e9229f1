//! Certificates and their versions: whole-certificate 资质核准, 延续, and issuing the next
//! version whenever what a certificate prints changes (the previous one is marked superseded).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use zizhi_shared::{Category, Certificate, CertificateNumber, CreditCode, Qualification};

use super::enterprises::{enterprise_by_id, enterprise_id};
use super::status::parse_record;
use super::{
    Store, StoreError, Touches, Tx, UniqueViolation, append_event, encode_error, instant,
    parse_date, parse_field,
};
use crate::register::model::{CertificateStanding, ChangeKind};
use crate::register::ops::ChangeOutcome;

#[derive(sqlx::FromRow)]
struct CertificateRow {
    enterprise_id: i64,
    category: String,
    approved_on: String,
    valid_until: String,
    current_version: i64,
}

#[derive(sqlx::FromRow)]
struct ActiveQualification {
    id: i64,
    item: String,
    grade: String,
}

pub(super) fn validity_ends_before_approval() -> StoreError {
    StoreError::invalid("validity_ends_before_approval", "有效期至早于批准日期")
}

pub(super) fn number_of_other_category(category: Category, n: &CertificateNumber) -> StoreError {
    StoreError::invalid(
        "certificate_number_category",
        format!(
            "{}证书编号应以 {} 开头：{n}",
            category.name_zh(),
            category.number_prefix()
        ),
    )
}

/// Inserts a certificate row without a version; the caller adds its qualifications and then
/// issues version 1 in the same transaction.
pub(super) async fn insert_certificate(
    tx: &mut Tx,
    number: &CertificateNumber,
    enterprise_id: i64,
    category: Category,
    approved_on: NaiveDate,
    valid_until: NaiveDate,
    taken: impl FnOnce() -> StoreError,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO certificates (number, enterprise_id, category, approved_on, valid_until, current_version, state)
         VALUES ($1, $2, $3, $4, $5, 0, 'active')",
    )
    .bind(number.as_str())
    .bind(enterprise_id)
    .bind(category.code())
    .bind(approved_on.to_string())
    .bind(valid_until.to_string())
    .execute(&mut **tx)
    .await
    .on_unique_violation(taken)?;
    Ok(())
}

async fn supersede_current(
    tx: &mut Tx,
    number: &CertificateNumber,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE certificate_versions SET superseded_at = $1
         WHERE certificate_number = $2 AND superseded_at IS NULL",
    )
    .bind(instant(now))
    .bind(number.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Issues the next version of a certificate from what the register holds now, or, when no
/// qualification is in force any more, records why and issues nothing (nothing can be
/// downloaded then). Returns the new version number.
/// Serialises changes to one certificate: on PostgreSQL a second transaction waits here for
/// the first to commit and then reads what it wrote, so concurrent changes apply one after the
/// other (or are refused by the register's rules) instead of colliding on a version number.
/// SQLite's write transactions (`BEGIN IMMEDIATE`) are exclusive already.
pub(super) async fn lock_certificate(
    tx: &mut Tx,
    number: &CertificateNumber,
) -> Result<(), StoreError> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT number FROM certificates WHERE number = $1 FOR UPDATE")
            .bind(number.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn issue_version(
    tx: &mut Tx,
    number: &CertificateNumber,
    kind: ChangeKind,
    note: &str,
    issuer: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<u32>, StoreError> {
    lock_certificate(tx, number).await?;
    let row = sqlx::query_as::<_, CertificateRow>(
        "SELECT enterprise_id, category, approved_on, valid_until, current_version
         FROM certificates WHERE number = $1",
    )
    .bind(number.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let category: Category = parse_field("category", &row.category)?;
    let approved_on = parse_date(&row.approved_on)?;
    let valid_until = parse_date(&row.valid_until)?;

    let quals = sqlx::query_as::<_, ActiveQualification>(
        "SELECT id, item, grade FROM qualifications
         WHERE certificate_number = $1 AND status = 'active' ORDER BY id",
    )
    .bind(number.as_str())
    .fetch_all(&mut **tx)
    .await?;

    if quals.is_empty() {
        let standing = match kind {
            ChangeKind::Cancel => CertificateStanding::Cancelled,
            ChangeKind::Suspend => CertificateStanding::Suspended,
            _ => CertificateStanding::Revoked,
        };
        sqlx::query("UPDATE certificates SET state = $1 WHERE number = $2")
            .bind(standing.code())
            .bind(number.as_str())
            .execute(&mut **tx)
            .await?;
        supersede_current(tx, number, now).await?;
        return Ok(None);
    }

    let issuer = match issuer {
        Some(i) => i.to_owned(),
        None => {
            let record = sqlx::query_scalar::<_, String>(
                "SELECT record FROM certificate_versions WHERE certificate_number = $1 AND version = $2",
            )
            .bind(number.as_str())
            .bind(row.current_version)
            .fetch_one(&mut **tx)
            .await?;
            parse_record(&record)?.issuer
        }
    };

    let ids: Vec<i64> = quals.iter().map(|q| q.id).collect();
    let qualifications = quals
        .into_iter()
        .map(|q| Qualification {
            category,
            item: q.item,
            grade: q.grade,
        })
        .collect();
    let version = row.current_version as u32 + 1;
    let certificate = Certificate {
        number: number.clone(),
        version,
        category,
        enterprise: enterprise_by_id(tx, row.enterprise_id).await?,
        approved_on,
        valid_until,
        issuer,
        qualifications,
    };
    let digest = hex::encode(certificate.record_digest());
    supersede_current(tx, number, now).await?;
    sqlx::query(
        "INSERT INTO certificate_versions
           (certificate_number, version, record, qualification_ids, digest, change_kind, change_note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(number.as_str())
    .bind(version as i64)
    .bind(serde_json::to_string(&certificate).map_err(encode_error)?)
    .bind(serde_json::to_string(&ids).map_err(encode_error)?)
    .bind(&digest)
    .bind(kind.code())
    .bind(note)
    .bind(instant(now))
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE certificates SET current_version = $1, state = 'active' WHERE number = $2")
        .bind(version as i64)
        .bind(number.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(Some(version))
}

/// The next free number of a category (类别字母 + 231 + six digits).
pub(super) async fn next_certificate_number(
    tx: &mut Tx,
    category: Category,
) -> Result<CertificateNumber, StoreError> {
    let prefix = format!("{}231", category.number_prefix());
    let last = sqlx::query_scalar::<_, String>(
        "SELECT number FROM certificates WHERE number LIKE $1 ORDER BY number DESC LIMIT 1",
    )
    .bind(format!("{prefix}%"))
    .fetch_optional(&mut **tx)
    .await?;
    let next = last
        .and_then(|n| n[4..].parse::<u32>().ok())
        .map_or(1, |n| n + 1);
    if next > 999_999 {
        return Err(StoreError::conflict(
            "numbers_exhausted",
            "该类别证书编号已用尽",
        ));
    }
    Ok(format!("{prefix}{next:06}").parse()?)
}

impl Store {
    /// 资质核准 of a whole certificate at once: the certificate, all its qualifications and
    /// version 1 in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_certificate(
        &self,
        actor: &str,
        code: &CreditCode,
        number: &CertificateNumber,
        approved_on: NaiveDate,
        valid_until: NaiveDate,
        qualifications: &[Qualification],
        issuer: &str,
        now: DateTime<Utc>,
    ) -> Result<ChangeOutcome, StoreError> {
        let Some(first) = qualifications.first() else {
            return Err(StoreError::invalid(
                "no_qualifications",
                "证书至少须有一项资质",
            ));
        };
        let category = first.category;
        for q in qualifications {
            q.validate()?;
            if q.category != category {
                return Err(StoreError::invalid(
                    "mixed_categories",
                    "一本证书的资质须属于同一类别",
                ));
            }
        }
        if !number.as_str().starts_with(category.number_prefix()) {
            return Err(number_of_other_category(category, number));
        }
        if valid_until < approved_on {
            return Err(validity_ends_before_approval());
        }
        let mut tx = self.begin().await?;
        let eid = enterprise_id(&mut tx, code).await?;
        insert_certificate(
            &mut tx,
            number,
            eid,
            category,
            approved_on,
            valid_until,
            || {
                StoreError::conflict(
                    "certificate_exists",
                    format!(
                        "证书编号 {number} 已被使用，或该企业已有{}证书",
                        category.name_zh()
                    ),
                )
            },
        )
        .await?;
        for q in qualifications {
            sqlx::query(
                "INSERT INTO qualifications (certificate_number, item, grade, status, granted_on, changed_at)
                 VALUES ($1, $2, $3, 'active', $4, $5)",
            )
            .bind(number.as_str())
            .bind(q.item.trim())
            .bind(q.grade.trim())
            .bind(approved_on.to_string())
            .bind(instant(now))
            .execute(&mut *tx)
            .await
            .on_unique_violation(|| {
                StoreError::invalid("duplicate_qualification", format!("资质 {} 重复", q.item))
            })?;
        }
        let version = issue_version(
            &mut tx,
            number,
            ChangeKind::Grant,
            "首次核准",
            Some(issuer),
            now,
        )
        .await?;
        append_event(
            &mut tx,
            now,
            actor,
            "certificate.create",
            number.as_str(),
            Touches::Certificate(number),
            &json!({ "credit_code": code, "approved_on": approved_on, "valid_until": valid_until,
                     "qualifications": qualifications, "version": version }),
        )
        .await?;
        tx.commit().await?;
        Ok(ChangeOutcome {
            certificate_number: number.clone(),
            standing: CertificateStanding::Active,
            current_version: version,
            qualification_id: None,
        })
    }

    /// 延续: a new validity period, and with it a new version.
    pub async fn renew_certificate(
        &self,
        actor: &str,
        number: &CertificateNumber,
        approved_on: NaiveDate,
        valid_until: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<ChangeOutcome, StoreError> {
        if valid_until < approved_on {
            return Err(validity_ends_before_approval());
        }
        let mut tx = self.begin().await?;
        lock_certificate(&mut tx, number).await?;
        let updated = sqlx::query(
            "UPDATE certificates SET approved_on = $1, valid_until = $2 WHERE number = $3 AND state = 'active'",
        )
        .bind(approved_on.to_string())
        .bind(valid_until.to_string())
        .bind(number.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::not_found(
                "certificate_not_active",
                format!("证书 {number} 不存在或已无有效资质"),
            ));
        }
        let note = format!("延续：有效期至 {valid_until}");
        let version = issue_version(&mut tx, number, ChangeKind::Renew, &note, None, now).await?;
        append_event(
            &mut tx,
            now,
            actor,
            "certificate.renew",
            number.as_str(),
            Touches::Certificate(number),
            &json!({ "approved_on": approved_on, "valid_until": valid_until, "version": version }),
        )
        .await?;
        tx.commit().await?;
        Ok(ChangeOutcome {
            certificate_number: number.clone(),
            standing: CertificateStanding::Active,
            current_version: version,
            qualification_id: None,
        })
    }
}
