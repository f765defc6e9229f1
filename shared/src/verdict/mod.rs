//! The verdict on a scanned copy (验证结果): one model for the server's answer
//! (`POST /api/v1/verify`), the answer a device gives without a network (离线核验) and the
//! app that shows either, and one function, [`judge`], that makes it.
//!
//! The rules do not depend on where the status comes from; what differs is only what is
//! known, which each caller states as [`StatusFacts`]: the server the register's live
//! status ([`StatusFacts::Live`]), a device its cached status snapshot
//! ([`StatusFacts::from_cache`]: dated, possibly stale, possibly unknown).
//!
//! | fact | level | reason |
//! |------|-------|--------|
//! | certificate not in the register (live only) | invalid | 登记簿中已无该证书 |
//! | copy withdrawn | invalid | 该证书件已被企业撤回 |
//! | version revoked / cancelled / suspended / expired | invalid | 证书所列资质已被撤销 … |
//! | a printed qualification suspended | invalid | 证书所列资质已被暂扣 … |
//! | usage period ended | invalid | 使用期限已于 … 结束 |
//! | version superseded | caution | 打印件为第 N 版 … |
//! | approval copy | caution | 这是批准件，不能用于投标等经营活动 |
//! | usage period not started | caution | 使用期限自 … 起，尚未开始 |
//! | no cache, or a cache older than the copy | caution | 签名真实；状态未知，请联网核验 |
//! | cache older than [`STALE_AFTER`] | caution | 本机状态信息已超过 7 天未更新，请联网核验 |
//!
//! The highest level wins and its reasons are read first; "真实有效" from a cache always says
//! as of when ("状态截至 2026-11-25 14:03", China Standard Time).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use zizhi_shared::snapshot::{StatusCache, StatusSnapshot};
//! use zizhi_shared::verdict::{Level, StatusFacts, judge};
//! use zizhi_shared::{Claims, IssuerKey, KeyId, TrustList, TrustedKey, verify_bytes};
//!
//! let now = Utc.with_ymd_and_hms(2026, 2, 1, 8, 0, 0).unwrap();
//! let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
//! let trust = TrustList::new(
//!     vec![TrustedKey::for_key(&key, "上海市住房和城乡建设管理委员会", now.date_naive() - chrono::Days::new(400), None)],
//!     now,
//! );
//! let claims = Claims::example_usage();
//! let verified = verify_bytes(claims.sign(&key).as_bytes(), &trust, now).unwrap();
//!
//! // No status on the device: the signature is genuine, the status is unknown.
//! let v = judge(&verified, StatusFacts::from_cache(None, &claims, now), now);
//! assert_eq!(v.summary.level, Level::Caution);
//! assert!(v.summary.message.contains("状态未知"));
//!
//! // A synced cache in which nothing concerns this copy: genuine and current, as of the sync.
//! let cache = StatusCache::from_full(StatusSnapshot::new(now, 0, 7, vec![], vec![])).unwrap();
//! let v = judge(&verified, StatusFacts::from_cache(Some(&cache), &claims, now), now);
//! assert_eq!(v.summary.level, Level::Valid);
//! assert!(v.summary.message.contains("状态截至 2026-02-01 16:00"));
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::claims::Claims;
use crate::domain::{Category, Certificate};
use crate::time::beijing_minute;

mod judge;
mod rejected;
mod status;

pub use judge::{CachedStatus, RegisterStatus, STALE_AFTER, StatusFacts, judge};
pub use status::{CertificateStanding, CertificateState, ChangeKind, QualificationStatus};

/// 核验结论: the traffic light of a verdict, on the page, in the chat reply and in the app.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Level {
    /// 真实有效 (green)
    Valid,
    /// 注意 (orange)
    Caution,
    /// 无效或已失效 (red)
    Invalid,
}

impl Level {
    /// The title every surface shows for the level, word for word.
    pub fn title(self) -> &'static str {
        match self {
            Level::Valid => "真实有效",
            Level::Caution => "注意",
            Level::Invalid => "无效或已失效",
        }
    }

    /// Stable snake_case name, as in JSON and the pages' `data-level`.
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// 验签结果: the outcome of the signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SignatureVerdict {
    Valid,
    Invalid,
    UnknownKey,
    KeyExpired,
}

/// 提示代码: the stable name of one thing an inspector should know. A rejected signature
/// carries the [`crate::PayloadError::code`] of why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WarningCode {
    ApprovalCopyNotForBusiness,
    UsagePeriodNotStarted,
    UsagePeriodEnded,
    CertificateNotInRegister,
    /// A genuine signature over a copy the register never issued (or issued with other
    /// content): made with the issuer's key, but not by the issuer's register.
    CopyNotInRegister,
    CopyWithdrawn,
    QualificationSuspended,
    PrintedContentOutdated,
    /// A device has no status it can vouch for.
    StatusUnknown,
    /// A device's status is older than [`STALE_AFTER`].
    StatusStale,
    /// The server cannot read the register now (its database is down): the answer rests on
    /// the signature and, at most, a status confirmed earlier.
    StatusUnavailable,
    BadSignature,
    UnknownKeyId,
    KeyOutsideValidity,
    /// A code this build does not know (a newer server than the app): still shown.
    #[serde(other)]
    Other,
}

impl WarningCode {
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// 提示: one thing the inspector should know, with its stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
}

/// 资质详情 row: one qualification of the certificate with its live status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveQualification {
    pub category: Category,
    pub item: String,
    pub grade: String,
    pub status: QualificationStatus,
    /// 有效 / 暂扣 / 已撤销 / 已注销
    pub status_name: String,
}

/// 版本变更: a version issued after the printed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionChange {
    pub version: u32,
    pub change_kind: ChangeKind,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// 结论: what an inspector reads first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub level: Level,
    /// 真实有效 / 注意 / 无效或已失效 ([`Level::title`])
    pub title: String,
    /// One or two sentences: the reasons, most serious first.
    pub message: String,
}

/// 验证结果: everything an inspector is told about a scanned copy, by the server (the
/// verify API's JSON) or by a device from its caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    pub signature: SignatureVerdict,
    pub key_id: Option<String>,
    pub issuer: Option<String>,
    /// The signed claims; absent unless the signature is valid.
    pub claims: Option<Claims>,
    pub certificate_state: Option<CertificateState>,
    /// The version in force now (资质详情), when the register was asked and has it in force.
    pub current_certificate: Option<Certificate>,
    /// Every qualification of this certificate with its live status.
    #[serde(default)]
    pub qualifications: Vec<LiveQualification>,
    /// Versions issued after the printed one, oldest first.
    #[serde(default)]
    pub changes_since_printed: Vec<VersionChange>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    pub summary: Summary,
    pub checked_at: DateTime<Utc>,
    /// When the status judged by was current: a device's cached status, or the register's
    /// status last confirmed before the server lost its database; absent (and not in the
    /// JSON) for the register's live status or when no status was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_as_of: Option<DateTime<Utc>>,
}

/// "状态截至 2026-11-25 14:03": the line shown whenever the status is not live.
pub fn status_as_of_text(as_of: DateTime<Utc>) -> String {
    format!("状态截至 {}", beijing_minute(as_of))
}
