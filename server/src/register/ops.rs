//! Changes to the register. Each runs in one transaction with its event-log entry, so a failure
//! midway leaves nothing half-written; any change to what a certificate prints issues a new
//! certificate version and marks the previous one superseded.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use zizhi_shared::{
    Category, Certificate, CertificateNumber, CreditCode, Enterprise, Qualification,
};

use super::model::{
    CertificateStanding, CertificateStatus, ChangeKind, QualificationStatus, load_status,
};
use crate::error::{AppError, AppResult};
use crate::store::{Store, StoreError, Tx, append_event, instant, parse_date, parse_field};

/// A qualification change the issuer can make (资质变更).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualificationAction {
    Upgrade,
    Downgrade,
    Suspend,
    Reinstate,
    Revoke,
    Cancel,
}

impl QualificationAction {
    fn change_kind(self) -> ChangeKind {
        match self {
            QualificationAction::Upgrade => ChangeKind::Upgrade,
            QualificationAction::Downgrade => ChangeKind::Downgrade,
            QualificationAction::Suspend => ChangeKind::Suspend,
            QualificationAction::Reinstate => ChangeKind::Reinstate,
            QualificationAction::Revoke => ChangeKind::Revoke,
            QualificationAction::Cancel => ChangeKind::Cancel,
        }
    }
}

/// A new qualification (资质核准 or 增项).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub category: Category,
    pub item: String,
    pub grade: String,
    /// 批准日期; today when absent.
    pub approved_on: Option<NaiveDate>,
    /// 有效期至; required when the grant creates the certificate.
    pub valid_until: Option<NaiveDate>,
    /// Certificate number to use when the grant creates the certificate; assigned otherwise.
    pub certificate_number: Option<CertificateNumber>,
}

/// What a change produced: the certificate and its version now in force (none when no
/// qualification is left).
#[derive(Debug, Clone, Serialize)]
pub struct ChangeOutcome {
    pub certificate_number: CertificateNumber,
    pub standing: CertificateStanding,
    pub current_version: Option<u32>,
    pub qualification_id: Option<i64>,
}

/// 等级 ladders, highest first, so an "upgrade" that lowers a grade is refused.
const GRADE_LADDERS: &[&[&str]] = &[
    &["特级", "一级", "二级", "三级"],
    &["综合", "甲级", "乙级", "丙级"],
    &["甲级", "乙级", "暂定级"],
];

fn check_grade_direction(action: QualificationAction, from: &str, to: &str) -> AppResult<()> {
    if from == to {
        return Err(AppError::invalid(
            "grade_unchanged",
            format!("新等级与当前等级相同（{to}）"),
        ));
    }
    // Ranked on every ladder holding both grades: 甲级 and 乙级 sit on two of them, and only
    // the last one knows that 暂定级 is below both.
    let rank = |ladder: &[&str], g: &str| ladder.iter().position(|x| *x == g);
    let wrong = GRADE_LADDERS
        .iter()
        .any(|ladder| match (rank(ladder, from), rank(ladder, to)) {
            (Some(r1), Some(r2)) => match action {
                QualificationAction::Upgrade => r2 > r1,
                _ => r2 < r1,
            },
            _ => false,
        });
    if wrong {
        return Err(AppError::invalid(
            "grade_direction",
            format!(
                "{}不能从{from}变为{to}",
                if action == QualificationAction::Upgrade {
                    "升级"
                } else {
                    "降级"
                }
            ),
        ));
    }
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

async fn enterprise_id(tx: &mut Tx, code: &CreditCode) -> AppResult<i64> {
    sqlx::query("SELECT id FROM enterprises WHERE credit_code = $1")
        .bind(code.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::from)?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()
        .map_err(StoreError::from)?
        .ok_or_else(|| {
            AppError::not_found(
                "enterprise_not_found",
                format!("未找到统一社会信用代码为 {code} 的企业"),
            )
        })
}

pub(crate) async fn enterprise_by_id(
    tx: &mut sqlx::AnyConnection,
    id: i64,
) -> Result<Enterprise, StoreError> {
    let r = sqlx::query(
        "SELECT name, credit_code, address, legal_representative, registered_capital_wan, economic_nature
         FROM enterprises WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Enterprise {
        name: r.try_get(0)?,
        credit_code: parse_field("credit code", &r.try_get::<String, _>(1)?)?,
        address: r.try_get(2)?,
        legal_representative: r.try_get(3)?,
        registered_capital_wan: r.try_get(4)?,
        economic_nature: r.try_get(5)?,
    })
}

/// Issues the next version of a certificate from what the register holds now, or, when no
/// qualification is in force any more, records why and issues nothing (nothing can be
/// downloaded then). Returns the new version number.
async fn issue_version(
    tx: &mut Tx,
    number: &CertificateNumber,
    kind: ChangeKind,
    note: &str,
    issuer: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Option<u32>> {
    let row = sqlx::query(
        "SELECT enterprise_id, category, approved_on, valid_until, current_version
         FROM certificates WHERE number = $1",
    )
    .bind(number.as_str())
    .fetch_one(&mut **tx)
    .await
    .map_err(StoreError::from)?;
    let enterprise_id: i64 = row.try_get(0).map_err(StoreError::from)?;
    let category: Category = parse_field(
        "category",
        &row.try_get::<String, _>(1).map_err(StoreError::from)?,
    )?;
    let approved_on = parse_date(&row.try_get::<String, _>(2).map_err(StoreError::from)?)?;
    let valid_until = parse_date(&row.try_get::<String, _>(3).map_err(StoreError::from)?)?;
    let current: i64 = row.try_get(4).map_err(StoreError::from)?;

    let quals = sqlx::query(
        "SELECT id, item, grade FROM qualifications
         WHERE certificate_number = $1 AND status = 'active' ORDER BY id",
    )
    .bind(number.as_str())
    .fetch_all(&mut **tx)
    .await
    .map_err(StoreError::from)?;

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
            .await
            .map_err(StoreError::from)?;
        sqlx::query(
            "UPDATE certificate_versions SET superseded_at = $1
             WHERE certificate_number = $2 AND superseded_at IS NULL",
        )
        .bind(instant(now))
        .bind(number.as_str())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from)?;
        return Ok(None);
    }

    let issuer = match issuer {
        Some(i) => i.to_owned(),
        None => {
            let r = sqlx::query(
                "SELECT record FROM certificate_versions WHERE certificate_number = $1 AND version = $2",
            )
            .bind(number.as_str())
            .bind(current)
            .fetch_one(&mut **tx)
            .await
            .map_err(StoreError::from)?;
            let rec: Certificate =
                serde_json::from_str(&r.try_get::<String, _>(0).map_err(StoreError::from)?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rec.issuer
        }
    };

    let mut ids = Vec::with_capacity(quals.len());
    let mut qualifications = Vec::with_capacity(quals.len());
    for q in &quals {
        ids.push(q.try_get::<i64, _>(0).map_err(StoreError::from)?);
        qualifications.push(Qualification {
            category,
            item: q.try_get(1).map_err(StoreError::from)?,
            grade: q.try_get(2).map_err(StoreError::from)?,
        });
    }
    let version = current as u32 + 1;
    let certificate = Certificate {
        number: number.clone(),
        version,
        category,
        enterprise: enterprise_by_id(tx, enterprise_id).await?,
        approved_on,
        valid_until,
        issuer,
        qualifications,
    };
    let digest = hex::encode(certificate.record_digest());
    sqlx::query(
        "UPDATE certificate_versions SET superseded_at = $1
         WHERE certificate_number = $2 AND superseded_at IS NULL",
    )
    .bind(instant(now))
    .bind(number.as_str())
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from)?;
    sqlx::query(
        "INSERT INTO certificate_versions
           (certificate_number, version, record, qualification_ids, digest, change_kind, change_note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(number.as_str())
    .bind(version as i64)
    .bind(serde_json::to_string(&certificate).map_err(anyhow::Error::from)?)
    .bind(serde_json::to_string(&ids).map_err(anyhow::Error::from)?)
    .bind(&digest)
    .bind(kind.code())
    .bind(note)
    .bind(instant(now))
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from)?;
    sqlx::query("UPDATE certificates SET current_version = $1, state = 'active' WHERE number = $2")
        .bind(version as i64)
        .bind(number.as_str())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from)?;
    Ok(Some(version))
}

async fn next_certificate_number(tx: &mut Tx, category: Category) -> AppResult<CertificateNumber> {
    let prefix = format!("{}231", category.number_prefix());
    let last: Option<String> = sqlx::query(
        "SELECT number FROM certificates WHERE number LIKE $1 ORDER BY number DESC LIMIT 1",
    )
    .bind(format!("{prefix}%"))
    .fetch_optional(&mut **tx)
    .await
    .map_err(StoreError::from)?
    .map(|r| r.try_get(0))
    .transpose()
    .map_err(StoreError::from)?;
    let next = last
        .and_then(|n| n[4..].parse::<u32>().ok())
        .map_or(1, |n| n + 1);
    if next > 999_999 {
        return Err(AppError::conflict(
            "numbers_exhausted",
            "该类别证书编号已用尽",
        ));
    }
    Ok(format!("{prefix}{next:06}").parse()?)
}

impl Store {
    pub async fn create_enterprise(
        &self,
        actor: &str,
        e: &Enterprise,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        e.validate()?;
        let mut tx = self.begin().await?;
        let res = sqlx::query(
            "INSERT INTO enterprises
               (credit_code, name, address, legal_representative, registered_capital_wan, economic_nature, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(e.credit_code.as_str())
        .bind(e.name.trim())
        .bind(e.address.trim())
        .bind(e.legal_representative.trim())
        .bind(e.registered_capital_wan.trim())
        .bind(e.economic_nature.trim())
        .bind(instant(now))
        .execute(&mut *tx)
        .await;
        match res {
            Err(err) if is_unique_violation(&err) => {
                return Err(AppError::conflict(
                    "enterprise_exists",
                    format!("统一社会信用代码 {} 已登记", e.credit_code),
                ));
            }
            r => r.map_err(StoreError::from)?,
        };
        append_event(
            &mut tx,
            now,
            actor,
            "enterprise.create",
            e.credit_code.as_str(),
            &json!(e),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
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
    ) -> AppResult<Vec<CertificateNumber>> {
        e.validate()?;
        let mut tx = self.begin().await?;
        let id = enterprise_id(&mut tx, code).await?;
        let before = enterprise_by_id(&mut tx, id).await?;
        if before == *e {
            return Ok(Vec::new());
        }
        let res = sqlx::query(
            "UPDATE enterprises SET credit_code = $1, name = $2, address = $3, legal_representative = $4,
               registered_capital_wan = $5, economic_nature = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(e.credit_code.as_str())
        .bind(e.name.trim())
        .bind(e.address.trim())
        .bind(e.legal_representative.trim())
        .bind(e.registered_capital_wan.trim())
        .bind(e.economic_nature.trim())
        .bind(instant(now))
        .bind(id)
        .execute(&mut *tx)
        .await;
        match res {
            Err(err) if is_unique_violation(&err) => {
                return Err(AppError::conflict(
                    "enterprise_exists",
                    format!("统一社会信用代码 {} 已登记", e.credit_code),
                ));
            }
            r => r.map_err(StoreError::from)?,
        };
        let numbers: Vec<CertificateNumber> = sqlx::query(
            "SELECT number FROM certificates WHERE enterprise_id = $1 AND state = 'active' ORDER BY number",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|r| parse_field("number", &r.try_get::<String, _>(0)?))
        .collect::<Result<_, StoreError>>()?;
        for n in &numbers {
            issue_version(
                &mut tx,
                n,
                ChangeKind::ContentChange,
                "企业基本信息变更",
                None,
                now,
            )
            .await?;
        }
        append_event(
            &mut tx,
            now,
            actor,
            "enterprise.update",
            code.as_str(),
            &json!({ "before": before, "after": e, "new_versions": numbers }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(numbers)
    }

    /// 资质核准 / 增项: creates the certificate of that category when the enterprise has none.
    pub async fn grant_qualification(
        &self,
        actor: &str,
        code: &CreditCode,
        g: &Grant,
        issuer: &str,
        now: DateTime<Utc>,
    ) -> AppResult<ChangeOutcome> {
        let q = Qualification {
            category: g.category,
            item: g.item.trim().to_owned(),
            grade: g.grade.trim().to_owned(),
        };
        q.validate()?;
        let today = now.date_naive();
        let approved_on = g.approved_on.unwrap_or(today);
        if let Some(until) = g.valid_until
            && until < approved_on
        {
            return Err(AppError::invalid(
                "validity_ends_before_approval",
                "有效期至早于批准日期",
            ));
        }
        let mut tx = self.begin().await?;
        let eid = enterprise_id(&mut tx, code).await?;
        let existing = sqlx::query(
            "SELECT number, state FROM certificates WHERE enterprise_id = $1 AND category = $2",
        )
        .bind(eid)
        .bind(g.category.code())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;

        let (number, kind, issuer_for_version) = match existing {
            Some(row) => {
                let number: CertificateNumber = parse_field(
                    "number",
                    &row.try_get::<String, _>(0).map_err(StoreError::from)?,
                )?;
                if let Some(requested) = &g.certificate_number
                    && *requested != number
                {
                    return Err(AppError::conflict(
                        "certificate_exists",
                        format!("该企业已有{}证书 {number}", g.category.name_zh()),
                    ));
                }
                if let Some(until) = g.valid_until {
                    sqlx::query("UPDATE certificates SET valid_until = $1 WHERE number = $2")
                        .bind(until.to_string())
                        .bind(number.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                }
                sqlx::query("UPDATE certificates SET approved_on = $1 WHERE number = $2")
                    .bind(approved_on.to_string())
                    .bind(number.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                (number, ChangeKind::Add, None)
            }
            None => {
                let Some(until) = g.valid_until else {
                    return Err(AppError::invalid(
                        "valid_until_required",
                        "首次核准须填写有效期至",
                    ));
                };
                let number = match &g.certificate_number {
                    Some(n) if n.as_str().starts_with(g.category.number_prefix()) => n.clone(),
                    Some(n) => {
                        return Err(AppError::invalid(
                            "certificate_number_category",
                            format!(
                                "{}证书编号应以 {} 开头：{n}",
                                g.category.name_zh(),
                                g.category.number_prefix()
                            ),
                        ));
                    }
                    None => next_certificate_number(&mut tx, g.category).await?,
                };
                let res = sqlx::query(
                    "INSERT INTO certificates (number, enterprise_id, category, approved_on, valid_until, current_version, state)
                     VALUES ($1, $2, $3, $4, $5, 0, 'active')",
                )
                .bind(number.as_str())
                .bind(eid)
                .bind(g.category.code())
                .bind(approved_on.to_string())
                .bind(until.to_string())
                .execute(&mut *tx)
                .await;
                match res {
                    Err(err) if is_unique_violation(&err) => {
                        return Err(AppError::conflict(
                            "certificate_exists",
                            format!("证书编号 {number} 已被使用"),
                        ));
                    }
                    r => r.map_err(StoreError::from)?,
                };
                (number, ChangeKind::Grant, Some(issuer))
            }
        };

        let prior = sqlx::query(
            "SELECT id, status FROM qualifications WHERE certificate_number = $1 AND item = $2",
        )
        .bind(number.as_str())
        .bind(&q.item)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let qid = match prior {
            Some(row) => {
                let id: i64 = row.try_get(0).map_err(StoreError::from)?;
                let status: QualificationStatus =
                    parse_field("status", &row.try_get::<String, _>(1).map_err(StoreError::from)?)?;
                if matches!(status, QualificationStatus::Active | QualificationStatus::Suspended) {
                    return Err(AppError::conflict(
                        "qualification_exists",
                        format!("该企业已具有{}资质，请使用升级或降级", q.item),
                    ));
                }
                sqlx::query(
                    "UPDATE qualifications SET grade = $1, status = 'active', granted_on = $2, changed_at = $3 WHERE id = $4",
                )
                .bind(&q.grade)
                .bind(approved_on.to_string())
                .bind(instant(now))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                id
            }
            None => sqlx::query(
                "INSERT INTO qualifications (certificate_number, item, grade, status, granted_on, changed_at)
                 VALUES ($1, $2, $3, 'active', $4, $5) RETURNING id",
            )
            .bind(number.as_str())
            .bind(&q.item)
            .bind(&q.grade)
            .bind(approved_on.to_string())
            .bind(instant(now))
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get::<i64, _>(0))
            .map_err(StoreError::from)?,
        };
        let note = format!("{}：{}", kind.name_zh(), q.display_zh());
        let version = issue_version(&mut tx, &number, kind, &note, issuer_for_version, now).await?;
        append_event(
            &mut tx,
            now,
            actor,
            &format!("qualification.{}", kind.code()),
            number.as_str(),
            &json!({ "qualification_id": qid, "qualification": q, "approved_on": approved_on, "version": version }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChangeOutcome {
            certificate_number: number,
            standing: CertificateStanding::Active,
            current_version: version,
            qualification_id: Some(qid),
        })
    }

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
    ) -> AppResult<ChangeOutcome> {
        let Some(first) = qualifications.first() else {
            return Err(AppError::invalid(
                "no_qualifications",
                "证书至少须有一项资质",
            ));
        };
        let category = first.category;
        for q in qualifications {
            q.validate()?;
            if q.category != category {
                return Err(AppError::invalid(
                    "mixed_categories",
                    "一本证书的资质须属于同一类别",
                ));
            }
        }
        if !number.as_str().starts_with(category.number_prefix()) {
            return Err(AppError::invalid(
                "certificate_number_category",
                format!(
                    "{}证书编号应以 {} 开头：{number}",
                    category.name_zh(),
                    category.number_prefix()
                ),
            ));
        }
        if valid_until < approved_on {
            return Err(AppError::invalid(
                "validity_ends_before_approval",
                "有效期至早于批准日期",
            ));
        }
        let mut tx = self.begin().await?;
        let eid = enterprise_id(&mut tx, code).await?;
        let res = sqlx::query(
            "INSERT INTO certificates (number, enterprise_id, category, approved_on, valid_until, current_version, state)
             VALUES ($1, $2, $3, $4, $5, 0, 'active')",
        )
        .bind(number.as_str())
        .bind(eid)
        .bind(category.code())
        .bind(approved_on.to_string())
        .bind(valid_until.to_string())
        .execute(&mut *tx)
        .await;
        match res {
            Err(err) if is_unique_violation(&err) => {
                return Err(AppError::conflict(
                    "certificate_exists",
                    format!(
                        "证书编号 {number} 已被使用，或该企业已有{}证书",
                        category.name_zh()
                    ),
                ));
            }
            r => r.map_err(StoreError::from)?,
        };
        for q in qualifications {
            let res = sqlx::query(
                "INSERT INTO qualifications (certificate_number, item, grade, status, granted_on, changed_at)
                 VALUES ($1, $2, $3, 'active', $4, $5)",
            )
            .bind(number.as_str())
            .bind(q.item.trim())
            .bind(q.grade.trim())
            .bind(approved_on.to_string())
            .bind(instant(now))
            .execute(&mut *tx)
            .await;
            match res {
                Err(err) if is_unique_violation(&err) => {
                    return Err(AppError::invalid(
                        "duplicate_qualification",
                        format!("资质 {} 重复", q.item),
                    ));
                }
                r => r.map_err(StoreError::from)?,
            };
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
            &json!({ "credit_code": code, "approved_on": approved_on, "valid_until": valid_until,
                     "qualifications": qualifications, "version": version }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChangeOutcome {
            certificate_number: number.clone(),
            standing: CertificateStanding::Active,
            current_version: version,
            qualification_id: None,
        })
    }

    /// Ids of the qualifications of a certificate, by item name.
    pub async fn qualification_id(
        &self,
        number: &CertificateNumber,
        item: &str,
    ) -> Result<Option<i64>, StoreError> {
        sqlx::query("SELECT id FROM qualifications WHERE certificate_number = $1 AND item = $2")
            .bind(number.as_str())
            .bind(item)
            .fetch_optional(self.pool())
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()
            .map_err(StoreError::from)
    }

    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM enterprises")
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        Ok(n == 0)
    }

    /// 升级、降级、暂扣、恢复、撤销、注销 of one qualification.
    pub async fn change_qualification(
        &self,
        actor: &str,
        qualification_id: i64,
        action: QualificationAction,
        new_grade: Option<&str>,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<ChangeOutcome> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT certificate_number, item, grade, status FROM qualifications WHERE id = $1",
        )
        .bind(qualification_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .ok_or_else(|| {
            AppError::not_found(
                "qualification_not_found",
                format!("未找到资质 {qualification_id}"),
            )
        })?;
        let number: CertificateNumber = parse_field(
            "number",
            &row.try_get::<String, _>(0).map_err(StoreError::from)?,
        )?;
        let item: String = row.try_get(1).map_err(StoreError::from)?;
        let grade: String = row.try_get(2).map_err(StoreError::from)?;
        let status: QualificationStatus = parse_field(
            "status",
            &row.try_get::<String, _>(3).map_err(StoreError::from)?,
        )?;

        use QualificationAction as A;
        use QualificationStatus as S;
        let allowed = match action {
            A::Upgrade | A::Downgrade | A::Suspend => status == S::Active,
            A::Reinstate => status == S::Suspended,
            A::Revoke | A::Cancel => matches!(status, S::Active | S::Suspended),
        };
        if !allowed {
            return Err(AppError::conflict(
                "qualification_state",
                format!(
                    "资质{item}当前状态为{}，不能{}",
                    status.name_zh(),
                    action.change_kind().name_zh()
                ),
            ));
        }
        let (new_status, grade_after) = match action {
            A::Upgrade | A::Downgrade => {
                let g = new_grade
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .ok_or_else(|| AppError::invalid("grade_required", "升级或降级须填写新等级"))?;
                zizhi_shared::bounded_text("grade", g, 10)?;
                check_grade_direction(action, &grade, g)?;
                (S::Active, g.to_owned())
            }
            A::Suspend => (S::Suspended, grade.clone()),
            A::Reinstate => (S::Active, grade.clone()),
            A::Revoke => (S::Revoked, grade.clone()),
            A::Cancel => (S::Cancelled, grade.clone()),
        };
        sqlx::query(
            "UPDATE qualifications SET grade = $1, status = $2, changed_at = $3 WHERE id = $4",
        )
        .bind(&grade_after)
        .bind(new_status.code())
        .bind(instant(now))
        .bind(qualification_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let kind = action.change_kind();
        let mut text = match action {
            A::Upgrade | A::Downgrade => {
                format!("{}：{item}{grade} → {grade_after}", kind.name_zh())
            }
            _ => format!("{}：{item}{grade}", kind.name_zh()),
        };
        if let Some(n) = note.map(str::trim).filter(|n| !n.is_empty()) {
            text.push_str(&format!("（{}）", n.chars().take(100).collect::<String>()));
        }
        let version = issue_version(&mut tx, &number, kind, &text, None, now).await?;
        let standing: CertificateStanding = parse_field(
            "state",
            &sqlx::query("SELECT state FROM certificates WHERE number = $1")
                .bind(number.as_str())
                .fetch_one(&mut *tx)
                .await
                .and_then(|r| r.try_get::<String, _>(0))
                .map_err(StoreError::from)?,
        )?;
        append_event(
            &mut tx,
            now,
            actor,
            &format!("qualification.{}", kind.code()),
            number.as_str(),
            &json!({ "qualification_id": qualification_id, "item": item, "grade_before": grade,
                     "grade_after": grade_after, "note": text, "version": version }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChangeOutcome {
            certificate_number: number,
            standing,
            current_version: version,
            qualification_id: Some(qualification_id),
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
    ) -> AppResult<ChangeOutcome> {
        if valid_until < approved_on {
            return Err(AppError::invalid(
                "validity_ends_before_approval",
                "有效期至早于批准日期",
            ));
        }
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE certificates SET approved_on = $1, valid_until = $2 WHERE number = $3 AND state = 'active'",
        )
        .bind(approved_on.to_string())
        .bind(valid_until.to_string())
        .bind(number.as_str())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .rows_affected();
        if updated == 0 {
            return Err(AppError::not_found(
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
            &json!({ "approved_on": approved_on, "valid_until": valid_until, "version": version }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChangeOutcome {
            certificate_number: number.clone(),
            standing: CertificateStanding::Active,
            current_version: version,
            qualification_id: None,
        })
    }

    /// The full status of one certificate, straight from the database.
    pub async fn certificate_status(
        &self,
        number: &CertificateNumber,
    ) -> Result<Option<CertificateStatus>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        load_status(&mut conn, number).await
    }

    /// The event log, oldest first, after a given id.
    pub async fn events(&self, after: i64, limit: i64) -> Result<Vec<EventRecord>, StoreError> {
        sqlx::query("SELECT id, at, actor, action, subject, detail FROM events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|r| {
                Ok(EventRecord {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    detail: serde_json::from_str(&r.try_get::<String, _>(5)?)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}

/// One entry of the append-only event log (who, when, what).
#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::QualificationAction::{Downgrade, Upgrade};
    use super::*;

    fn refusal(action: QualificationAction, from: &str, to: &str) -> Option<&'static str> {
        check_grade_direction(action, from, to)
            .err()
            .map(|e| e.code())
    }

    #[test]
    fn upgrade_to_a_higher_grade_on_the_same_ladder_is_allowed() {
        for (from, to) in [
            ("二级", "一级"),
            ("三级", "特级"),
            ("乙级", "甲级"),
            ("丙级", "综合"),
            ("暂定级", "乙级"),
        ] {
            assert_eq!(refusal(Upgrade, from, to), None, "{from} → {to}");
        }
    }

    #[test]
    fn upgrade_to_a_lower_grade_is_refused() {
        for (from, to) in [
            ("一级", "二级"),
            ("特级", "三级"),
            ("甲级", "丙级"),
            ("综合", "甲级"),
        ] {
            assert_eq!(
                refusal(Upgrade, from, to),
                Some("grade_direction"),
                "{from} → {to}"
            );
        }
        let e = check_grade_direction(Upgrade, "一级", "二级").unwrap_err();
        assert_eq!(e.to_string(), "升级不能从一级变为二级");
    }

    #[test]
    fn downgrade_to_a_lower_grade_is_allowed() {
        for (from, to) in [
            ("一级", "二级"),
            ("特级", "三级"),
            ("甲级", "乙级"),
            ("乙级", "暂定级"),
        ] {
            assert_eq!(refusal(Downgrade, from, to), None, "{from} → {to}");
        }
    }

    #[test]
    fn downgrade_to_a_higher_grade_is_refused() {
        for (from, to) in [("三级", "二级"), ("乙级", "甲级"), ("丙级", "综合")] {
            assert_eq!(
                refusal(Downgrade, from, to),
                Some("grade_direction"),
                "{from} → {to}"
            );
        }
        let e = check_grade_direction(Downgrade, "三级", "二级").unwrap_err();
        assert_eq!(e.to_string(), "降级不能从三级变为二级");
    }

    #[test]
    fn provisional_grade_ranks_below_grade_b() {
        assert_eq!(refusal(Upgrade, "乙级", "暂定级"), Some("grade_direction"));
        assert_eq!(refusal(Upgrade, "甲级", "暂定级"), Some("grade_direction"));
        assert_eq!(
            refusal(Downgrade, "暂定级", "甲级"),
            Some("grade_direction")
        );
    }

    #[test]
    fn the_same_grade_is_refused_as_unchanged() {
        assert_eq!(refusal(Upgrade, "二级", "二级"), Some("grade_unchanged"));
        assert_eq!(
            refusal(Downgrade, "不分等级", "不分等级"),
            Some("grade_unchanged")
        );
    }

    #[test]
    fn grades_on_no_common_ladder_are_not_ranked() {
        // Unknown grades, and grades of different ladders, are the issuer's call.
        assert_eq!(refusal(Upgrade, "不分等级", "二级"), None);
        assert_eq!(refusal(Downgrade, "二级", "不分等级"), None);
        assert_eq!(refusal(Upgrade, "一级", "甲级"), None);
        assert_eq!(refusal(Downgrade, "甲级", "一级"), None);
    }
}
