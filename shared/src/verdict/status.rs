//! The register's statuses a verdict is made of and reports: of a qualification, of a
//! certificate as a whole, of the version a copy prints, and why a version was issued.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Level;

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
    const ALL: [QualificationStatus; 4] = [
        QualificationStatus::Active,
        QualificationStatus::Suspended,
        QualificationStatus::Revoked,
        QualificationStatus::Cancelled,
    ];

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

impl FromStr for QualificationStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        QualificationStatus::ALL
            .into_iter()
            .find(|q| q.code() == s)
            .ok_or(())
    }
}

/// 证书状态: the certificate as a whole. Active while at least one qualification is;
/// otherwise it records why nothing is left, and nothing can be downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStanding {
    Active,
    Suspended,
    Revoked,
    Cancelled,
}

impl CertificateStanding {
    const ALL: [CertificateStanding; 4] = [
        CertificateStanding::Active,
        CertificateStanding::Suspended,
        CertificateStanding::Revoked,
        CertificateStanding::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CertificateStanding::Active => "active",
            CertificateStanding::Suspended => "suspended",
            CertificateStanding::Revoked => "revoked",
            CertificateStanding::Cancelled => "cancelled",
        }
    }
}

impl FromStr for CertificateStanding {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        CertificateStanding::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or(())
    }
}

/// 变更类型: why a certificate version was issued.
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
    const ALL: [ChangeKind; 10] = [
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
    ];

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

impl FromStr for ChangeKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ChangeKind::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or(())
    }
}

/// 版本状态: the state of the certificate version a copy prints, as far as the register is
/// concerned (the copy's own facts, withdrawal and usage period, are separate). The verify
/// answer's `certificate_state` and every entry of the status snapshot carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateState {
    /// 现行有效
    Current,
    /// 已更新（证书已有更新的版本）
    Superseded,
    /// 资质已暂扣
    Suspended,
    /// 已撤销
    Revoked,
    /// 已注销
    Cancelled,
    /// 已过有效期
    Expired,
}

impl CertificateState {
    pub const ALL: [CertificateState; 6] = [
        CertificateState::Current,
        CertificateState::Superseded,
        CertificateState::Suspended,
        CertificateState::Revoked,
        CertificateState::Cancelled,
        CertificateState::Expired,
    ];

    /// The state of a version from the register's facts, most serious first: a printed
    /// qualification revoked (or nothing left after a revocation) outranks cancelled, then
    /// the whole certificate suspended, then expired — before superseded, so an old copy
    /// of an expired certificate is invalid rather than a mere caution.
    pub fn of_version(
        standing: CertificateStanding,
        printed_revoked: bool,
        printed_cancelled: bool,
        expired: bool,
        superseded: bool,
    ) -> CertificateState {
        if printed_revoked || standing == CertificateStanding::Revoked {
            CertificateState::Revoked
        } else if printed_cancelled || standing == CertificateStanding::Cancelled {
            CertificateState::Cancelled
        } else if standing == CertificateStanding::Suspended {
            CertificateState::Suspended
        } else if expired {
            CertificateState::Expired
        } else if superseded {
            CertificateState::Superseded
        } else {
            CertificateState::Current
        }
    }

    /// What the state alone makes of a copy: a newer version only asks for care.
    pub fn level(self) -> Level {
        match self {
            CertificateState::Current => Level::Valid,
            CertificateState::Superseded => Level::Caution,
            CertificateState::Suspended
            | CertificateState::Revoked
            | CertificateState::Cancelled
            | CertificateState::Expired => Level::Invalid,
        }
    }

    /// The number carried in the snapshot's CBOR form (see [`crate::snapshot`]).
    pub fn wire_code(self) -> u8 {
        match self {
            CertificateState::Current => 0,
            CertificateState::Superseded => 1,
            CertificateState::Suspended => 2,
            CertificateState::Revoked => 3,
            CertificateState::Cancelled => 4,
            CertificateState::Expired => 5,
        }
    }

    pub fn from_wire_code(code: u64) -> Option<CertificateState> {
        CertificateState::ALL
            .into_iter()
            .find(|s| u64::from(s.wire_code()) == code)
    }

    /// Stable snake_case name, as in JSON.
    pub fn code(self) -> &'static str {
        match self {
            CertificateState::Current => "current",
            CertificateState::Superseded => "superseded",
            CertificateState::Suspended => "suspended",
            CertificateState::Revoked => "revoked",
            CertificateState::Cancelled => "cancelled",
            CertificateState::Expired => "expired",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            CertificateState::Current => "现行有效",
            CertificateState::Superseded => "已更新",
            CertificateState::Suspended => "已暂扣",
            CertificateState::Revoked => "已撤销",
            CertificateState::Cancelled => "已注销",
            CertificateState::Expired => "已过期",
        }
    }
}
