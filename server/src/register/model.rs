//! What the register holds about one certificate, as the verifier and the APIs read it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{Category, Certificate, CertificateNumber, CreditCode};

pub use zizhi_shared::verdict::{CertificateStanding, ChangeKind, QualificationStatus};

/// One qualification as the register holds it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
