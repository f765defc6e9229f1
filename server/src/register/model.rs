//! What the register holds about one certificate, as the verifier and the APIs read it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{Category, Certificate, CertificateNumber, CreditCode};

/// 资质状态: the live status of one qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualificationStatus {
    /// 有效
    Active,
    /// 暂扣
    Suspended,
    /// 吊销/撤销/撤回
    Revoked,
    /// 注销
    Cancelled,
}

impl QualificationStatus {
    pub fn code(self) -> &'static str {
        match self {
            QualificationStatus::Active => "active",
            QualificationStatus::Suspended => "suspended",
            QualificationStatus::Revoked => "revoked",
            QualificationStatus::Cancelled => "cancelled",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            QualificationStatus::Active => "有效",
            QualificationStatus::Suspended => "暂扣",
            QualificationStatus::Revoked => "已撤销",
            QualificationStatus::Cancelled => "已注销",
        }
    }
}

impl std::str::FromStr for QualificationStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "active" => QualificationStatus::Active,
            "suspended" => QualificationStatus::Suspended,
            "revoked" => QualificationStatus::Revoked,
            "cancelled" => QualificationStatus::Cancelled,
            _ => return Err(()),
        })
    }
}

/// The certificate as a whole: active while at least one qualification is; otherwise it
/// records why nothing is left, and nothing can be downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStanding {
    Active,
    Suspended,
    Revoked,
    Cancelled,
}

impl CertificateStanding {
    pub fn code(self) -> &'static str {
        match self {
            CertificateStanding::Active => "active",
            CertificateStanding::Suspended => "suspended",
            CertificateStanding::Revoked => "revoked",
            CertificateStanding::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for CertificateStanding {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "active" => CertificateStanding::Active,
            "suspended" => CertificateStanding::Suspended,
            "revoked" => CertificateStanding::Revoked,
            "cancelled" => CertificateStanding::Cancelled,
            _ => return Err(()),
        })
    }
}

/// Why a certificate version was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// 首次核准
    Grant,
    /// 增项
    Add,
    /// 升级
    Upgrade,
    /// 降级
    Downgrade,
    /// 暂扣
    Suspend,
    /// 恢复
    Reinstate,
    /// 撤销/吊销
    Revoke,
    /// 注销
    Cancel,
    /// 证书内容变更
    ContentChange,
    /// 延续
    Renew,
}

impl ChangeKind {
    pub fn code(self) -> &'static str {
        match self {
            ChangeKind::Grant => "grant",
            ChangeKind::Add => "add",
            ChangeKind::Upgrade => "upgrade",
            ChangeKind::Downgrade => "downgrade",
            ChangeKind::Suspend => "suspend",
            ChangeKind::Reinstate => "reinstate",
            ChangeKind::Revoke => "revoke",
            ChangeKind::Cancel => "cancel",
            ChangeKind::ContentChange => "content_change",
            ChangeKind::Renew => "renew",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            ChangeKind::Grant => "首次核准",
            ChangeKind::Add => "增项",
            ChangeKind::Upgrade => "升级",
            ChangeKind::Downgrade => "降级",
            ChangeKind::Suspend => "暂扣",
            ChangeKind::Reinstate => "恢复",
            ChangeKind::Revoke => "撤销",
            ChangeKind::Cancel => "注销",
            ChangeKind::ContentChange => "证书内容变更",
            ChangeKind::Renew => "延续",
        }
    }
}

impl std::str::FromStr for ChangeKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [
            ChangeKind::Grant,
            ChangeKind::Add,
            ChangeKind::Upgrade,
            ChangeKind::Downgrade,
            ChangeKind::Suspend,
            ChangeKind::Reinstate,
            ChangeKind::Revoke,
            ChangeKind::Cancel,
            ChangeKind::ContentChange,
            ChangeKind::Renew,
        ]
        .into_iter()
        .find(|k| k.code() == s)
        .ok_or(())
    }
}

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
