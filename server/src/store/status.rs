//! Reads of one certificate's full status (what the verifier, the pages and the enterprise
//! see), straight from the database; the cache sits in front of these.

use zizhi_shared::{Category, Certificate, CertificateNumber, CreditCode};

use super::{Store, StoreError, parse_date, parse_field, parse_instant};
use crate::register::model::{
    CertificateStanding, CertificateStatus, QualificationRecord, VersionRecord,
};

#[derive(sqlx::FromRow)]
struct CertificateHead {
    category: String,
    current_version: i64,
    state: String,
    credit_code: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct VersionRow {
    pub version: i64,
    pub record: String,
    pub qualification_ids: String,
    pub digest: String,
    pub change_kind: String,
    pub change_note: String,
    pub created_at: String,
    pub superseded_at: Option<String>,
}

impl TryFrom<VersionRow> for VersionRecord {
    type Error = StoreError;
    fn try_from(r: VersionRow) -> Result<Self, StoreError> {
        Ok(VersionRecord {
            version: r.version as u32,
            certificate: parse_record(&r.record)?,
            qualification_ids: parse_ids(&r.qualification_ids)?,
            digest: r.digest,
            change_kind: parse_field("change kind", &r.change_kind)?,
            change_note: r.change_note,
            created_at: parse_instant(&r.created_at)?,
            superseded_at: r.superseded_at.as_deref().map(parse_instant).transpose()?,
        })
    }
}

/// A version's printed content, as stored.
pub(super) fn parse_record(s: &str) -> Result<Certificate, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("version record: {e}")))
}

/// The qualifications a version prints, as stored.
pub(super) fn parse_ids(s: &str) -> Result<Vec<i64>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("qualification ids: {e}")))
}

#[derive(sqlx::FromRow)]
struct QualificationRow {
    id: i64,
    item: String,
    grade: String,
    status: String,
    granted_on: String,
    changed_at: String,
}

impl QualificationRow {
    fn into_record(self, category: Category) -> Result<QualificationRecord, StoreError> {
        Ok(QualificationRecord {
            id: self.id,
            category,
            item: self.item,
            grade: self.grade,
            status: parse_field("status", &self.status)?,
            granted_on: parse_date(&self.granted_on)?,
            changed_at: parse_instant(&self.changed_at)?,
        })
    }
}

/// Reads a certificate's full status on one connection (a pooled one or a transaction's).
pub(super) async fn load_status(
    conn: &mut sqlx::AnyConnection,
    number: &CertificateNumber,
) -> Result<Option<CertificateStatus>, StoreError> {
    let Some(head) = sqlx::query_as::<_, CertificateHead>(
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
    let category: Category = parse_field("category", &head.category)?;
    let standing: CertificateStanding = parse_field("state", &head.state)?;
    let credit_code: CreditCode = parse_field("credit code", &head.credit_code)?;

    let versions = sqlx::query_as::<_, VersionRow>(
        "SELECT version, record, qualification_ids, digest, change_kind, change_note,
                created_at, superseded_at
         FROM certificate_versions WHERE certificate_number = $1 ORDER BY version",
    )
    .bind(number.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(VersionRecord::try_from)
    .collect::<Result<Vec<_>, _>>()?;
    if versions.is_empty() {
        return Err(StoreError::Corrupt(format!("{number} has no version")));
    }

    let qualifications = sqlx::query_as::<_, QualificationRow>(
        "SELECT id, item, grade, status, granted_on, changed_at
         FROM qualifications WHERE certificate_number = $1 ORDER BY id",
    )
    .bind(number.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|q| q.into_record(category))
    .collect::<Result<Vec<_>, _>>()?;

    let withdrawn_copies = sqlx::query_scalar::<_, i64>(
        "SELECT id FROM copies WHERE certificate_number = $1 AND withdrawn_at IS NOT NULL ORDER BY id",
    )
    .bind(number.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|id| id as u64)
    .collect();

    Ok(Some(CertificateStatus {
        number: number.clone(),
        category,
        credit_code,
        standing,
        current_version: head.current_version as u32,
        versions,
        qualifications,
        withdrawn_copies,
    }))
}

/// One of an enterprise's certificates with the version in force, as its 电子证书管理 page
/// lists them.
#[derive(Debug, Clone)]
pub struct EnterpriseCertificate {
    pub number: CertificateNumber,
    pub category: Category,
    pub standing: CertificateStanding,
    pub current_version: u32,
    /// What the version in force prints.
    pub certificate: Certificate,
}

#[derive(sqlx::FromRow)]
struct EnterpriseCertificateRow {
    number: String,
    category: String,
    state: String,
    current_version: i64,
    record: String,
}

impl TryFrom<EnterpriseCertificateRow> for EnterpriseCertificate {
    type Error = StoreError;
    fn try_from(r: EnterpriseCertificateRow) -> Result<Self, StoreError> {
        Ok(EnterpriseCertificate {
            number: parse_field("number", &r.number)?,
            category: parse_field("category", &r.category)?,
            standing: parse_field("state", &r.state)?,
            current_version: r.current_version as u32,
            certificate: parse_record(&r.record)?,
        })
    }
}

/// A certificate's status together with the last event it reflects, read in one snapshot of
/// the register: no change after that event is in it, every change up to it is.
#[derive(Debug)]
pub struct StatusAtEvent {
    pub status: Option<CertificateStatus>,
    pub as_of_event: i64,
}

impl Store {
    /// The full status of one certificate and the event it is current as of.
    pub async fn certificate_status_at_event(
        &self,
        number: &CertificateNumber,
    ) -> Result<StatusAtEvent, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let as_of_event = sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        let status = load_status(&mut tx, number).await?;
        tx.commit().await?;
        Ok(StatusAtEvent {
            status,
            as_of_event,
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

    /// Every certificate of an enterprise with its version in force, by number, in one query.
    pub async fn enterprise_certificates(
        &self,
        enterprise_id: i64,
    ) -> Result<Vec<EnterpriseCertificate>, StoreError> {
        sqlx::query_as::<_, EnterpriseCertificateRow>(
            "SELECT c.number, c.category, c.state, c.current_version, v.record
             FROM certificates c
             JOIN certificate_versions v
               ON v.certificate_number = c.number AND v.version = c.current_version
             WHERE c.enterprise_id = $1 ORDER BY c.number",
        )
        .bind(enterprise_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(EnterpriseCertificate::try_from)
        .collect()
    }
}
