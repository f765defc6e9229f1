//! The rules: (signed claims, status facts, time of the check) → [`Verdict`]. The only
//! copy of them; the server, the offline check and the app all come here.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{
    CertificateStanding, CertificateState, Level, LiveQualification, QualificationStatus,
    SignatureVerdict, Summary, Verdict, VersionChange, Warning, WarningCode, status_as_of_text,
};
use crate::claims::Claims;
use crate::domain::{Certificate, CopyKind, qualification_name};
use crate::payload::Verified;
use crate::snapshot::StatusCache;
use crate::time::beijing_minute;

/// A cache older than this no longer vouches for "valid": the answer becomes a caution.
pub const STALE_AFTER: Duration = Duration::days(7);

/// 状态依据: what is known about the register's status of a copy, and from where. Built by
/// the caller; the rules in [`judge`] take it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusFacts {
    /// The register, now (the server); `None` when it has no such certificate.
    Live(Option<Box<RegisterStatus>>),
    /// A device's status snapshot cache that vouches for the copy.
    Cached(CachedStatus),
    /// A device has no status it can vouch for; why, as a phrase (本机尚无状态信息).
    Unknown(&'static str),
    /// The server cannot read the register now and knows no recent status: the signature
    /// is all that can be vouched for. Never "current".
    RegisterUnavailable,
    /// The register never issued this copy (no copy of that number, or one with other
    /// content): whoever signed it, the issuer did not. Invalid whatever else is true.
    CopyNotIssued,
    /// The server cannot read the register now; this is the register's status as last
    /// confirmed, at `as_of` (provably the register's state then, not necessarily now).
    RegisterAsOf {
        status: Box<RegisterStatus>,
        as_of: DateTime<Utc>,
    },
}

/// 登记簿状态: what the register holds about a copy's certificate, as far as a verdict
/// needs it, taken by the server from its records for the version the copy prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterStatus {
    pub standing: CertificateStanding,
    pub current_version: u32,
    /// The version in force now.
    pub current_certificate: Certificate,
    /// The stored record digest of the version in force, to tell whether an older copy
    /// prints other content.
    pub current_digest: Vec<u8>,
    pub copy_withdrawn: bool,
    /// The qualifications the printed version lists, with their live status.
    pub printed_qualifications: Vec<LiveQualification>,
    /// Every qualification of the certificate, with its live status (资质详情).
    pub qualifications: Vec<LiveQualification>,
    /// Versions issued after the printed one, oldest first.
    pub changes_since_printed: Vec<VersionChange>,
}

impl RegisterStatus {
    /// The state of the printed version on `today`.
    pub fn state(&self, printed_version: u32, today: NaiveDate) -> CertificateState {
        CertificateState::of_version(
            self.standing,
            self.printed(QualificationStatus::Revoked).next().is_some(),
            self.printed(QualificationStatus::Cancelled)
                .next()
                .is_some(),
            self.current_certificate.valid_until < today,
            printed_version != self.current_version,
        )
    }

    fn printed(&self, status: QualificationStatus) -> impl Iterator<Item = &LiveQualification> {
        self.printed_qualifications
            .iter()
            .filter(move |q| q.status == status)
    }

    /// `建筑工程施工总承包二级、市政公用工程施工总承包三级`: printed qualifications in `status`.
    fn printed_names(&self, status: QualificationStatus) -> String {
        self.printed(status)
            .map(|q| qualification_name(&q.item, &q.grade))
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// 本机状态: what a device's status snapshot cache says about a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedStatus {
    /// When the cache was current (its last snapshot's `issued_at`).
    pub as_of: DateTime<Utc>,
    /// The cache is older than [`STALE_AFTER`] at the time of the check.
    pub stale: bool,
    pub copy_withdrawn: bool,
    /// The printed version's state; a version the cache does not list is current.
    pub state: CertificateState,
    /// When the version entered its state, when the cache lists it.
    pub since: Option<DateTime<Utc>>,
}

impl StatusFacts {
    /// What a device's cache (if any) can say about the copy at `now`. A cache synced
    /// before the copy was issued knows nothing about it (nor about the version it prints,
    /// which may be newer than the cache), so the status is then unknown.
    pub fn from_cache(
        cache: Option<&StatusCache>,
        claims: &Claims,
        now: DateTime<Utc>,
    ) -> StatusFacts {
        let Some(cache) = cache else {
            return StatusFacts::Unknown("本机尚无状态信息");
        };
        if claims.issued_at > cache.as_of {
            return StatusFacts::Unknown("本机状态信息早于该证书件的生成时间");
        }
        let (state, since) = cache
            .version_state(&claims.certificate_number, claims.certificate_version)
            .map_or((CertificateState::Current, None), |(s, at)| (s, Some(at)));
        StatusFacts::Cached(CachedStatus {
            as_of: cache.as_of,
            stale: now - cache.as_of > STALE_AFTER,
            copy_withdrawn: cache.copy_withdrawn(claims.copy_id),
            state,
            since,
        })
    }
}

pub(super) fn warn(code: WarningCode, message: impl Into<String>) -> Warning {
    Warning {
        code,
        message: message.into(),
    }
}

/// Judges a genuinely signed copy from what is known of its status, at `checked_at` (whose
/// Beijing date is the day usage periods and validity are counted in: a period that starts
/// on 12月1日 has started for an inspector in Shanghai at 00:30 that day).
pub fn judge(v: &Verified, facts: StatusFacts, checked_at: DateTime<Utc>) -> Verdict {
    let c = &v.claims;
    let today = crate::time::beijing_date(checked_at);
    let mut warnings = Vec::new();
    let mut reasons: Vec<(Level, String)> = Vec::new();
    let mut answer = Verdict {
        signature: SignatureVerdict::Valid,
        key_id: Some(v.kid.to_string()),
        issuer: Some(v.issuer.clone()),
        claims: Some(c.clone()),
        certificate_state: None,
        current_certificate: None,
        qualifications: Vec::new(),
        changes_since_printed: Vec::new(),
        warnings: Vec::new(),
        summary: Summary {
            level: Level::Valid,
            title: String::new(),
            message: String::new(),
        },
        checked_at,
        status_as_of: None,
    };

    // What the copy itself says holds whatever the status.
    if c.kind == CopyKind::Approval {
        warnings.push(warn(
            WarningCode::ApprovalCopyNotForBusiness,
            "批准件仅用于企业内部展示，不能用于投标等经营活动",
        ));
        reasons.push((Level::Caution, "这是批准件，不能用于投标等经营活动".into()));
    }
    if let Some(u) = &c.usage {
        if today < u.from {
            let m = format!("使用期限自 {} 起，尚未开始", u.from);
            warnings.push(warn(WarningCode::UsagePeriodNotStarted, m.clone()));
            reasons.push((Level::Caution, m));
        } else if today > u.to {
            let m = format!("使用期限已于 {} 结束", u.to);
            warnings.push(warn(WarningCode::UsagePeriodEnded, m.clone()));
            reasons.push((Level::Invalid, m));
        }
    }

    let mut register_as_of = None;
    let (register, cached) = match facts {
        StatusFacts::Live(None) => {
            // A genuine signature over a certificate the register no longer has: nothing
            // else about it can be vouched for.
            warnings.push(warn(
                WarningCode::CertificateNotInRegister,
                "登记簿中没有该证书",
            ));
            answer.warnings = warnings;
            answer.summary = Summary {
                level: Level::Invalid,
                title: Level::Invalid.title().into(),
                message: "签名真实，但发证机关登记簿中已无该证书，请勿采信".into(),
            };
            return answer;
        }
        StatusFacts::Unknown(why) => {
            warnings.push(warn(
                WarningCode::StatusUnknown,
                format!("{why}，无法离线确认证书状态"),
            ));
            reasons.push((Level::Caution, "签名真实；状态未知，请联网核验".into()));
            (None, None)
        }
        StatusFacts::CopyNotIssued => {
            answer.warnings = vec![warn(
                WarningCode::CopyNotInRegister,
                "发证机关登记簿中没有该证书件：它不是发证机关签发的",
            )];
            answer.summary = Summary {
                level: Level::Invalid,
                title: Level::Invalid.title().into(),
                message: "签名可验证，但发证机关从未签发该证书件，请勿采信".into(),
            };
            return answer;
        }
        StatusFacts::RegisterUnavailable => {
            warnings.push(warn(
                WarningCode::StatusUnavailable,
                "登记簿实时状态暂不可查，无法确认证书当前状态",
            ));
            reasons.push((
                Level::Caution,
                "签名真实；实时状态暂不可查，请稍后重试".into(),
            ));
            (None, None)
        }
        StatusFacts::RegisterAsOf { status, as_of } => {
            warnings.push(warn(
                WarningCode::StatusUnavailable,
                format!(
                    "登记簿实时状态暂不可查，以下为{}（北京时间）的状态",
                    status_as_of_text(as_of)
                ),
            ));
            register_as_of = Some(as_of);
            answer.status_as_of = Some(as_of);
            (Some(status), None)
        }
        StatusFacts::Live(Some(r)) => (Some(r), None),
        StatusFacts::Cached(k) => (None, Some(k)),
    };

    // Borrowed for the rules; moved into the answer at the end (no second copy of 资质详情).
    let known = match (register.as_deref(), cached) {
        (Some(r), _) => Some((r.copy_withdrawn, r.state(c.certificate_version, today))),
        (None, Some(k)) => Some((k.copy_withdrawn, k.state)),
        (None, None) => None,
    };
    if let Some((withdrawn, state)) = known {
        if withdrawn {
            warnings.push(warn(WarningCode::CopyWithdrawn, "该证书件已被撤回"));
            reasons.push((Level::Invalid, "该证书件已被企业撤回".into()));
        }
        // The register can name what happened; a cache only says since when.
        let reason = match register.as_deref() {
            Some(r) => register_reason(r, state, c.certificate_version),
            None => cached_reason(state, cached.and_then(|k| k.since), c.certificate_version),
        };
        if let Some(reason) = reason {
            reasons.push((state.level(), reason));
        }
        answer.certificate_state = Some(state);
    }

    if let Some(as_of) = register_as_of {
        // Never "valid now": what was true then is said as of then, at most a caution.
        let then = status_as_of_text(as_of);
        let m = if reasons.is_empty() && answer.certificate_state == Some(CertificateState::Current)
        {
            format!("签名真实，{then}（北京时间）资质有效；实时状态暂不可查，请稍后重试")
        } else {
            format!("{then}（北京时间）；实时状态暂不可查，请稍后重试")
        };
        reasons.push((Level::Caution, m));
    }

    if let Some(r) = register {
        let state = answer.certificate_state;
        let suspended = r.printed_names(QualificationStatus::Suspended);
        if !suspended.is_empty() && state != Some(CertificateState::Suspended) {
            let m = format!("证书所列资质已被暂扣：{suspended}");
            warnings.push(warn(WarningCode::QualificationSuspended, m.clone()));
            reasons.push((Level::Invalid, m));
        }
        if c.certificate_version != r.current_version && c.record_digest[..] != r.current_digest[..]
        {
            warnings.push(warn(
                WarningCode::PrintedContentOutdated,
                format!("打印内容已不是最新：现行为第 {} 版", r.current_version),
            ));
        }
        let RegisterStatus {
            standing,
            current_certificate,
            qualifications,
            changes_since_printed,
            ..
        } = *r;
        answer.current_certificate =
            (standing == CertificateStanding::Active).then_some(current_certificate);
        answer.qualifications = qualifications;
        answer.changes_since_printed = changes_since_printed;
    }
    if let Some(k) = cached {
        if k.stale {
            let days = STALE_AFTER.num_days();
            warnings.push(warn(
                WarningCode::StatusStale,
                format!("本机状态信息已超过 {days} 天未更新"),
            ));
            reasons.push((
                Level::Caution,
                format!("本机状态信息已超过 {days} 天未更新，请联网核验"),
            ));
        }
        answer.status_as_of = Some(k.as_of);
    }

    let level = reasons
        .iter()
        .map(|(l, _)| *l)
        .max()
        .unwrap_or(Level::Valid);
    let mut message = if level == Level::Valid {
        // Only the register vouches for "now"; a cache for as of its sync.
        let valid = if cached.is_some() {
            "证书真实，资质有效"
        } else {
            "证书真实，资质现行有效"
        };
        match &c.usage {
            Some(u) => format!(
                "{valid}。本使用件仅用于：{}，使用期限 {} 至 {}",
                u.purpose, u.from, u.to
            ),
            None => valid.into(),
        }
    } else {
        reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        reasons
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("；")
    };
    if let Some(k) = cached {
        // Offline the device checks the signature but cannot ask the register whether it
        // issued this copy (a leaked signing key could mint copies it never issued).
        message.push_str(&format!(
            "。{}（离线结果：签名真实；是否为登记签发的证书需联网核验）",
            status_as_of_text(k.as_of)
        ));
    }
    answer.warnings = warnings;
    answer.summary = Summary {
        level,
        title: level.title().into(),
        message,
    };
    answer
}

/// The reason a state gives, in the register's words (naming qualifications and versions).
fn register_reason(r: &RegisterStatus, state: CertificateState, printed: u32) -> Option<String> {
    Some(match state {
        CertificateState::Current => return None,
        CertificateState::Revoked => {
            let names = r.printed_names(QualificationStatus::Revoked);
            if names.is_empty() {
                "该证书资质已被撤销".into()
            } else {
                format!("证书所列资质已被撤销：{names}")
            }
        }
        CertificateState::Cancelled => {
            let names = r.printed_names(QualificationStatus::Cancelled);
            if names.is_empty() {
                "该证书资质已注销".into()
            } else {
                format!("证书所列资质已注销：{names}")
            }
        }
        CertificateState::Suspended => "该证书资质已被暂扣".into(),
        CertificateState::Superseded => format!(
            "打印件为第 {printed} 版，证书已更新为第 {} 版，请以下方最新资质为准",
            r.current_version
        ),
        CertificateState::Expired => {
            format!("证书已于 {} 过期", r.current_certificate.valid_until)
        }
    })
}

/// The reason a state gives from a cache, which knows only the state and since when.
fn cached_reason(
    state: CertificateState,
    since: Option<DateTime<Utc>>,
    printed: u32,
) -> Option<String> {
    let since = since
        .map(|at| format!("（{}）", beijing_minute(at)))
        .unwrap_or_default();
    Some(match state {
        CertificateState::Current => return None,
        CertificateState::Superseded => {
            format!("打印件为第 {printed} 版，证书已有更新的版本{since}，请联网查看最新资质")
        }
        CertificateState::Suspended => format!("证书所列资质已被暂扣{since}"),
        CertificateState::Revoked => format!("证书所列资质已被撤销{since}"),
        CertificateState::Cancelled => format!("证书所列资质已注销{since}"),
        CertificateState::Expired => format!("证书已过有效期{since}"),
    })
}
