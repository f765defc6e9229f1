//! Issuing and withdrawing copies. The copy row, its signed payload and the event-log entry
//! commit together.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use zizhi_shared::{CertificateNumber, Claims, CopyKind, UsageTerms};

use crate::error::{AppError, AppResult};
use crate::keys::KeyRing;
use crate::register::model::{CertificateStanding, load_status};
use crate::store::{
    Store, StoreError, append_event, instant, parse_date, parse_field, parse_instant,
};

/// One issued copy as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyRecord {
    pub id: u64,
    pub kind: CopyKind,
    pub certificate_number: CertificateNumber,
    pub certificate_version: u32,
    pub usage: Option<UsageTerms>,
    pub issued_at: DateTime<Utc>,
    pub key_id: String,
    pub qr_text: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

const COPY_COLUMNS: &str = "id, kind, certificate_number, certificate_version, purpose, usage_from, usage_to, issued_at, key_id, qr_text, withdrawn_at";

fn copy_from_row(r: &sqlx::any::AnyRow) -> Result<CopyRecord, StoreError> {
    let kind = match r.try_get::<String, _>(1)?.as_str() {
        "approval" => CopyKind::Approval,
        "usage" => CopyKind::Usage,
        other => return Err(StoreError::Corrupt(format!("copy kind {other:?}"))),
    };
    let purpose: Option<String> = r.try_get(4)?;
    let from: Option<String> = r.try_get(5)?;
    let to: Option<String> = r.try_get(6)?;
    let usage = match (purpose, from, to) {
        (Some(purpose), Some(from), Some(to)) => Some(UsageTerms {
            purpose,
            from: parse_date(&from)?,
            to: parse_date(&to)?,
        }),
        _ => None,
    };
    let withdrawn: Option<String> = r.try_get(10)?;
    Ok(CopyRecord {
        id: r.try_get::<i64, _>(0)? as u64,
        kind,
        certificate_number: parse_field("number", &r.try_get::<String, _>(2)?)?,
        certificate_version: r.try_get::<i64, _>(3)? as u32,
        usage,
        issued_at: parse_instant(&r.try_get::<String, _>(7)?)?,
        key_id: r.try_get(8)?,
        qr_text: r.try_get(9)?,
        withdrawn_at: withdrawn.as_deref().map(parse_instant).transpose()?,
    })
}

impl Store {
    /// Issues a copy of the certificate's current version: an approval copy when `usage` is
    /// `None` (the existing one for this version is returned again), a usage copy otherwise.
    pub async fn issue_copy(
        &self,
        actor: &str,
        number: &CertificateNumber,
        usage: Option<UsageTerms>,
        keys: &KeyRing,
        host: &str,
        now: DateTime<Utc>,
    ) -> AppResult<CopyRecord> {
        // The payload carries minutes; the register keeps exactly what was signed.
        let now = now
            .duration_trunc(TimeDelta::minutes(1))
            .map_err(anyhow::Error::from)?;
        let today = now.date_naive();
        let mut tx = self.begin().await?;
        let status = load_status(&mut tx, number).await?.ok_or_else(|| {
            AppError::not_found("certificate_not_found", format!("未找到证书 {number}"))
        })?;
        if status.standing != CertificateStanding::Active {
            return Err(AppError::refused(
                "no_qualification_left",
                format!("证书 {number} 已无有效资质，不能生成批准件或使用件"),
            ));
        }
        let current = status.current();
        let cert = &current.certificate;
        if cert.valid_until < today {
            return Err(AppError::refused(
                "certificate_expired",
                format!("证书 {number} 已于 {} 过期", cert.valid_until),
            ));
        }
        if let Some(t) = &usage {
            let t = UsageTerms::new(&t.purpose, t.from, t.to)?;
            if t.to < today {
                return Err(AppError::invalid("usage_period_in_past", "使用期限已经结束"));
            }
            if t.from < cert.approved_on || t.to > cert.valid_until {
                return Err(AppError::invalid(
                    "usage_period_outside_validity",
                    format!(
                        "使用期限须在证书有效期内（{} 至 {}）",
                        cert.approved_on, cert.valid_until
                    ),
                ));
            }
        } else if let Some(existing) = sqlx::query(&format!(
            "SELECT {COPY_COLUMNS} FROM copies
             WHERE certificate_number = $1 AND certificate_version = $2 AND kind = 'approval' AND withdrawn_at IS NULL
             ORDER BY id LIMIT 1"
        ))
        .bind(number.as_str())
        .bind(i64::from(current.version))
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?
        {
            return Ok(copy_from_row(&existing)?);
        }
        let usage = usage
            .map(|t| UsageTerms::new(&t.purpose, t.from, t.to))
            .transpose()?;
        let kind = if usage.is_some() {
            CopyKind::Usage
        } else {
            CopyKind::Approval
        };
        let key = keys.signing_key();
        let id: i64 = sqlx::query(
            "INSERT INTO copies (kind, certificate_number, certificate_version, purpose, usage_from, usage_to, issued_at, key_id, qr_text)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '') RETURNING id",
        )
        .bind(kind.code())
        .bind(number.as_str())
        .bind(i64::from(current.version))
        .bind(usage.as_ref().map(|u| u.purpose.clone()))
        .bind(usage.as_ref().map(|u| u.from.to_string()))
        .bind(usage.as_ref().map(|u| u.to.to_string()))
        .bind(instant(now))
        .bind(key.kid().to_string())
        .fetch_one(&mut *tx)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(StoreError::from)?;
        let claims = Claims {
            copy_id: id as u64,
            certificate_number: number.clone(),
            certificate_version: current.version,
            kind,
            enterprise_name: cert.enterprise.name.clone(),
            credit_code: cert.enterprise.credit_code.clone(),
            usage: usage.clone(),
            issued_at: now,
            record_digest: cert.record_digest(),
        };
        claims.validate()?;
        let qr_text = keys.qr_text(&claims, host);
        sqlx::query("UPDATE copies SET qr_text = $1 WHERE id = $2")
            .bind(&qr_text)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        append_event(
            &mut tx,
            now,
            actor,
            &format!("copy.issue_{}", kind.code()),
            number.as_str(),
            &json!({ "copy_id": id, "version": current.version, "usage": usage, "key_id": key.kid().to_string() }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(CopyRecord {
            id: id as u64,
            kind,
            certificate_number: number.clone(),
            certificate_version: current.version,
            usage,
            issued_at: now,
            key_id: key.kid().to_string(),
            qr_text,
            withdrawn_at: None,
        })
    }

    /// 撤回使用件: the copy stays verifiable but is reported as withdrawn.
    pub async fn withdraw_copy(
        &self,
        actor: &str,
        id: u64,
        now: DateTime<Utc>,
    ) -> AppResult<CopyRecord> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {COPY_COLUMNS} FROM copies WHERE id = $1"))
            .bind(id as i64)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| {
                AppError::not_found("copy_not_found", format!("未找到编号为 {id} 的证书件"))
            })?;
        let mut copy = copy_from_row(&row)?;
        if copy.withdrawn_at.is_some() {
            return Err(AppError::conflict(
                "copy_already_withdrawn",
                "该证书件已撤回",
            ));
        }
        sqlx::query("UPDATE copies SET withdrawn_at = $1 WHERE id = $2")
            .bind(instant(now))
            .bind(id as i64)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        append_event(
            &mut tx,
            now,
            actor,
            "copy.withdraw",
            copy.certificate_number.as_str(),
            &json!({ "copy_id": id }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        copy.withdrawn_at = Some(now);
        Ok(copy)
    }

    pub async fn copy(&self, id: u64) -> Result<Option<CopyRecord>, StoreError> {
        sqlx::query(&format!("SELECT {COPY_COLUMNS} FROM copies WHERE id = $1"))
            .bind(id as i64)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(copy_from_row)
            .transpose()
    }

    /// Every copy of a certificate, newest first.
    pub async fn copies_of(
        &self,
        number: &CertificateNumber,
    ) -> Result<Vec<CopyRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COPY_COLUMNS} FROM copies WHERE certificate_number = $1 ORDER BY id DESC"
        ))
        .bind(number.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(copy_from_row)
        .collect()
    }
}
