//! What the register holds about one certificate, as the verifier and the APIs read it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use zizhi_shared::{Category, Certificate, CertificateNumber, CreditCode};

use crate::store::{StoreError, parse_date, parse_field, parse_instant};

pub use zizhi_shared::verdict::{CertificateStanding, ChangeKind, QualificationStatus};

/// One qualification as the register holds it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationRecord {
    pub id: i64,
    pub category: Category,
    pub item: String,
    pub grade: String,
    pub status: QualificationStatus,
    pub granted_on: NaiveDate,
    pub changed_at: DateTime<Utc>,
}

/// One version of a certificate: its printed content and why it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: u32,
    pub certificate: Certificate,
    pub qualification_ids: Vec<i64>,
    pub digest: String,
    pub change_kind: ChangeKind,
    pub change_note: String,
    pub created_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
}

/// Everything the verifier needs about one certificate; cached as one entry and dropped from
/// the cache on every change to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateStatus {
    pub number: CertificateNumber,
    pub category: Category,
    pub credit_code: CreditCode,
    pub standing: CertificateStanding,
    pub current_version: u32,
    /// Oldest first.
    pub versions: Vec<VersionRecord>,
    pub qualifications: Vec<QualificationRecord>,
    pub withdrawn_copies: Vec<u64>,
}

impl CertificateStatus {
    pub fn version(&self, v: u32) -> Option<&VersionRecord> {
        self.versions.iter().find(|r| r.version == v)
    }

    pub fn current(&self) -> &VersionRecord {
        self.version(self.current_version)
            .or(self.versions.last())
            .expect("a certificate always has a first version")
    }

    pub fn qualification(&self, id: i64) -> Option<&QualificationRecord> {
        self.qualifications.iter().find(|q| q.id == id)
    }

    /// The qualifications in force today, in printing order.
    pub fn active_qualifications(&self) -> impl Iterator<Item = &QualificationRecord> {
        self.qualifications
            .iter()
            .filter(|q| q.status == QualificationStatus::Active)
    }
}

/// Reads a certificate's full status on one connection (a pooled one or a transaction's).
pub async fn load_status(
    conn: &mut sqlx::AnyConnection,
    number: &CertificateNumber,
) -> Result<Option<CertificateStatus>, StoreError> {
    let Some(cert) = sqlx::query(
        "SELECT c.category, c.current_version, c.state, e.credit_code
         FROM certificates c JOIN enterprises e ON e.id = c.enterprise_id
         WHERE c.number = $1",
    )
    .bind(number.as_str())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let category: Category = parse_field("category", &cert.try_get::<String, _>(0)?)?;
    let current_version = cert.try_get::<i64, _>(1)? as u32;
    let standing: CertificateStanding = parse_field("state", &cert.try_get::<String, _>(2)?)?;
    let credit_code: CreditCode = parse_field("credit code", &cert.try_get::<String, _>(3)?)?;

    let versions = sqlx::query(
        "SELECT version, record, qualification_ids, digest, change_kind, change_note,
                created_at, superseded_at
         FROM certificate_versions WHERE certificate_number = $1 ORDER BY version",
    )
    .bind(number.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        let record: String = r.try_get(1)?;
        let ids: String = r.try_get(2)?;
        let superseded: Option<String> = r.try_get(7)?;
        Ok(VersionRecord {
            version: r.try_get::<i64, _>(0)? as u32,
            certificate: serde_json::from_str(&record)
                .map_err(|e| StoreError::Corrupt(format!("version record: {e}")))?,
            qualification_ids: serde_json::from_str(&ids)
                .map_err(|e| StoreError::Corrupt(format!("qualification ids: {e}")))?,
            digest: r.try_get(3)?,
            change_kind: parse_field("change kind", &r.try_get::<String, _>(4)?)?,
            change_note: r.try_get(5)?,
            created_at: parse_instant(&r.try_get::<String, _>(6)?)?,
            superseded_at: superseded.as_deref().map(parse_instant).transpose()?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    if versions.is_empty() {
        return Err(StoreError::Corrupt(format!("{number} has no version")));
    }

    let qualifications = sqlx::query(
        "SELECT id, item, grade, status, granted_on, changed_at
         FROM qualifications WHERE certificate_number = $1 ORDER BY id",
    )
    .bind(number.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(QualificationRecord {
            id: r.try_get(0)?,
            category,
            item: r.try_get(1)?,
            grade: r.try_get(2)?,
            status: parse_field("status", &r.try_get::<String, _>(3)?)?,
            granted_on: parse_date(&r.try_get::<String, _>(4)?)?,
            changed_at: parse_instant(&r.try_get::<String, _>(5)?)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;

    let withdrawn_copies = sqlx::query(
        "SELECT id FROM copies WHERE certificate_number = $1 AND withdrawn_at IS NOT NULL ORDER BY id",
    )
    .bind(number.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| Ok(r.try_get::<i64, _>(0)? as u64))
    .collect::<Result<Vec<_>, StoreError>>()?;

    Ok(Some(CertificateStatus {
        number: number.clone(),
        category,
        credit_code,
        standing,
        current_version,
        versions,
        qualifications,
        withdrawn_copies,
    }))
}
