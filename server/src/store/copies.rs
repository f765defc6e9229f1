//! Copies (批准件 and 使用件): issuing and withdrawing them. The copy row, its signed payload
//! and the event-log entry commit together.

use chrono::{DateTime, Timelike, Utc};
use serde_json::json;
use zizhi_shared::{CertificateNumber, Claims, CopyKind, UsageTerms};

use super::status::load_status;
use super::{
    Store, StoreError, Touches, append_event, instant, parse_date, parse_field, parse_instant,
};
use crate::copies::model::CopyRecord;
use crate::key_ring::KeyRing;
use crate::register::model::CertificateStanding;

const COPY_COLUMNS: &str = "id, kind, certificate_number, certificate_version, purpose, usage_from, usage_to, issued_at, key_id, qr_text, withdrawn_at";

#[derive(sqlx::FromRow)]
struct CopyRow {
    id: i64,
    kind: String,
    certificate_number: String,
    certificate_version: i64,
    purpose: Option<String>,
    usage_from: Option<String>,
    usage_to: Option<String>,
    issued_at: String,
    key_id: String,
    qr_text: String,
    withdrawn_at: Option<String>,
}

impl TryFrom<CopyRow> for CopyRecord {
    type Error = StoreError;
    fn try_from(r: CopyRow) -> Result<Self, StoreError> {
        let kind = match r.kind.as_str() {
            "approval" => CopyKind::Approval,
            "usage" => CopyKind::Usage,
            other => return Err(StoreError::Corrupt(format!("copy kind {other:?}"))),
        };
        let usage = match (r.purpose, r.usage_from, r.usage_to) {
            (Some(purpose), Some(from), Some(to)) => Some(UsageTerms {
                purpose,
                from: parse_date(&from)?,
                to: parse_date(&to)?,
            }),
            _ => None,
        };
        Ok(CopyRecord {
            id: r.id as u64,
            kind,
            certificate_number: parse_field("number", &r.certificate_number)?,
            certificate_version: r.certificate_version as u32,
            usage,
            issued_at: parse_instant(&r.issued_at)?,
            key_id: r.key_id,
            qr_text: r.qr_text,
            withdrawn_at: r.withdrawn_at.as_deref().map(parse_instant).transpose()?,
        })
    }
}

fn copy_not_found(id: u64) -> StoreError {
    StoreError::not_found("copy_not_found", format!("未找到编号为 {id} 的证书件"))
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
    ) -> Result<CopyRecord, StoreError> {
        // The payload carries minutes; the register keeps exactly what was signed.
        let now = now
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(now);
        let today = now.date_naive();
        let mut tx = self.begin().await?;
        let status = load_status(&mut tx, number).await?.ok_or_else(|| {
            StoreError::not_found("certificate_not_found", format!("未找到证书 {number}"))
        })?;
        if status.standing != CertificateStanding::Active {
            return Err(StoreError::refused(
                "no_qualification_left",
                format!("证书 {number} 已无有效资质，不能生成批准件或使用件"),
            ));
        }
        let current = status.current();
        let cert = &current.certificate;
        if cert.valid_until < today {
            return Err(StoreError::refused(
                "certificate_expired",
                format!("证书 {number} 已于 {} 过期", cert.valid_until),
            ));
        }
        if let Some(t) = &usage {
            let t = UsageTerms::new(&t.purpose, t.from, t.to)?;
            if t.to < today {
                return Err(StoreError::invalid(
                    "usage_period_in_past",
                    "使用期限已经结束",
                ));
            }
            if t.from < cert.approved_on || t.to > cert.valid_until {
                return Err(StoreError::invalid(
                    "usage_period_outside_validity",
                    format!(
                        "使用期限须在证书有效期内（{} 至 {}）",
                        cert.approved_on, cert.valid_until
                    ),
                ));
            }
        } else if let Some(existing) = sqlx::query_as::<_, CopyRow>(&format!(
            "SELECT {COPY_COLUMNS} FROM copies
             WHERE certificate_number = $1 AND certificate_version = $2 AND kind = 'approval' AND withdrawn_at IS NULL
             ORDER BY id LIMIT 1"
        ))
        .bind(number.as_str())
        .bind(i64::from(current.version))
        .fetch_optional(&mut *tx)
        .await?
        {
            return existing.try_into();
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
        let id = sqlx::query_scalar::<_, i64>(
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
        .await?;
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
            .await?;
        append_event(
            &mut tx,
            now,
            actor,
            &format!("copy.issue_{}", kind.code()),
            number.as_str(),
            Touches::Certificate(number),
            &json!({ "copy_id": id, "version": current.version, "usage": usage, "key_id": key.kid().to_string() }),
        )
        .await?;
        tx.commit().await?;
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
    ) -> Result<CopyRecord, StoreError> {
        let mut tx = self.begin().await?;
        let mut copy: CopyRecord = sqlx::query_as::<_, CopyRow>(&format!(
            "SELECT {COPY_COLUMNS} FROM copies WHERE id = $1"
        ))
        .bind(id as i64)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| copy_not_found(id))?
        .try_into()?;
        if copy.withdrawn_at.is_some() {
            return Err(StoreError::conflict(
                "copy_already_withdrawn",
                "该证书件已撤回",
            ));
        }
        sqlx::query("UPDATE copies SET withdrawn_at = $1 WHERE id = $2")
            .bind(instant(now))
            .bind(id as i64)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            now,
            actor,
            "copy.withdraw",
            copy.certificate_number.as_str(),
            Touches::Certificate(&copy.certificate_number),
            &json!({ "copy_id": id }),
        )
        .await?;
        tx.commit().await?;
        copy.withdrawn_at = Some(now);
        Ok(copy)
    }

    pub async fn copy(&self, id: u64) -> Result<Option<CopyRecord>, StoreError> {
        sqlx::query_as::<_, CopyRow>(&format!("SELECT {COPY_COLUMNS} FROM copies WHERE id = $1"))
            .bind(id as i64)
            .fetch_optional(self.pool())
            .await?
            .map(CopyRecord::try_from)
            .transpose()
    }

    /// Every copy of a certificate, newest first.
    pub async fn copies_of(
        &self,
        number: &CertificateNumber,
    ) -> Result<Vec<CopyRecord>, StoreError> {
        sqlx::query_as::<_, CopyRow>(&format!(
            "SELECT {COPY_COLUMNS} FROM copies WHERE certificate_number = $1 ORDER BY id DESC"
        ))
        .bind(number.as_str())
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(CopyRecord::try_from)
        .collect()
    }
}
