//! The register's statuses a verdict is made of and reports: of a qualification, of a
//! certificate as a whole, of the version a copy prints, and why a version was issued.

use serde::{Deserialize, Serialize};

use super::Level;

/// 资质状态: the live status of one qualification.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        self.into()
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

/// 证书状态: the certificate as a whole. Active while at least one qualification is;
/// otherwise it records why nothing is left, and nothing can be downloaded.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CertificateStanding {
    Active,
    Suspended,
    Revoked,
    Cancelled,
}

impl CertificateStanding {
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// 变更类型: why a certificate version was issued.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        self.into()
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

/// 版本状态: the state of the certificate version a copy prints, as far as the register is
/// concerned (the copy's own facts, withdrawal and usage period, are separate). The verify
/// answer's `certificate_state` and every entry of the status snapshot carry it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    pub const ALL: &[CertificateState] = <CertificateState as strum::VariantArray>::VARIANTS;

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
            .iter()
            .copied()
            .find(|s| u64::from(s.wire_code()) == code)
    }

    /// Stable snake_case name, as in JSON.
    pub fn code(self) -> &'static str {
        self.into()
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
