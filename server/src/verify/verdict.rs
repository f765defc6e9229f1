//! What an inspector is told about a scanned copy (验证结果): a pure function of the signed
//! claims, the register's live status and today's date, so every case is easy to test.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use zizhi_shared::{Category, Certificate, Claims, CopyKind, PayloadError, Verified};

use crate::register::model::{
    CertificateStanding, CertificateStatus, ChangeKind, QualificationStatus,
};

/// Outcome of the signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureVerdict {
    Valid,
    Invalid,
    UnknownKey,
    KeyExpired,
}

/// The state of the certificate version printed on the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateState {
    /// 现行有效
    Current,
    /// 已更新（打印件不是最新版本）
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

/// Traffic-light level for the page and the chat reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 真实有效 (green)
    Valid,
    /// 注意 (orange)
    Caution,
    /// 无效或已失效 (red)
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveQualification {
    pub category: Category,
    pub item: String,
    pub grade: String,
    pub status: QualificationStatus,
    pub status_name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    pub version: u32,
    pub change_kind: ChangeKind,
    pub note: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub level: Level,
    /// 真实有效 / 注意 / 无效或已失效
    pub title: &'static str,
    /// One or two sentences an inspector reads first.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub signature: SignatureVerdict,
    pub key_id: Option<String>,
    pub issuer: Option<String>,
    /// The signed claims; absent unless the signature is valid.
    pub claims: Option<Claims>,
    pub certificate_state: Option<CertificateState>,
    /// The version in force now (资质详情), when the certificate is in the register.
    pub current_certificate: Option<Certificate>,
    /// Every qualification of this certificate with its live status.
    pub qualifications: Vec<LiveQualification>,
    /// Versions issued after the printed one, oldest first.
    pub changes_since_printed: Vec<VersionChange>,
    pub warnings: Vec<Warning>,
    pub summary: Summary,
    pub checked_at: DateTime<Utc>,
}

fn warn(code: &'static str, message: impl Into<String>) -> Warning {
    Warning {
        code,
        message: message.into(),
    }
}

impl Verdict {
    /// A code whose signature did not check out: nothing it says is shown as fact and the
    /// register was not consulted.
    pub fn rejected(err: &PayloadError, checked_at: DateTime<Utc>) -> Option<Verdict> {
        let (signature, message) = match err {
            PayloadError::BadSignature => (
                SignatureVerdict::Invalid,
                "签名无效：二维码内容被伪造或篡改，请勿采信此证书",
            ),
            PayloadError::UnknownKeyId(_) => (
                SignatureVerdict::UnknownKey,
                "签名密钥不属于发证机关：二维码可能是伪造的，请勿采信此证书",
            ),
            PayloadError::KeyOutsideValidity => (
                SignatureVerdict::KeyExpired,
                "签名密钥不在有效期内：请勿采信此证书",
            ),
            _ => return None,
        };
        Some(Verdict {
            signature,
            key_id: None,
            issuer: None,
            claims: None,
            certificate_state: None,
            current_certificate: None,
            qualifications: Vec::new(),
            changes_since_printed: Vec::new(),
            warnings: vec![warn(err.code(), err.to_string())],
            summary: Summary {
                level: Level::Invalid,
                title: "无效或已失效",
                message: message.into(),
            },
            checked_at,
        })
    }

    /// A genuinely signed copy, judged against the register's live status.
    pub fn judge(
        v: &Verified,
        status: Option<&CertificateStatus>,
        today: NaiveDate,
        checked_at: DateTime<Utc>,
    ) -> Verdict {
        let c = &v.claims;
        let mut warnings = Vec::new();
        let mut reasons: Vec<(Level, String)> = Vec::new();

        if c.kind == CopyKind::Approval {
            warnings.push(warn(
                "approval_copy_not_for_business",
                "批准件仅用于企业内部展示，不能用于投标等经营活动",
            ));
            reasons.push((Level::Caution, "这是批准件，不能用于投标等经营活动".into()));
        }
        if let Some(u) = &c.usage {
            if today < u.from {
                warnings.push(warn(
                    "usage_period_not_started",
                    format!("使用期限自 {} 起，尚未开始", u.from),
                ));
                reasons.push((
                    Level::Caution,
                    format!("使用期限自 {} 起，尚未开始", u.from),
                ));
            } else if today > u.to {
                warnings.push(warn(
                    "usage_period_ended",
                    format!("使用期限已于 {} 结束", u.to),
                ));
                reasons.push((Level::Invalid, format!("使用期限已于 {} 结束", u.to)));
            }
        }

        let Some(status) = status else {
            warnings.push(warn("certificate_not_in_register", "登记簿中没有该证书"));
            return Verdict {
                signature: SignatureVerdict::Valid,
                key_id: Some(v.kid.to_string()),
                issuer: Some(v.issuer.clone()),
                claims: Some(c.clone()),
                certificate_state: None,
                current_certificate: None,
                qualifications: Vec::new(),
                changes_since_printed: Vec::new(),
                warnings,
                summary: Summary {
                    level: Level::Invalid,
                    title: "无效或已失效",
                    message: "签名真实，但发证机关登记簿中已无该证书，请勿采信".into(),
                },
                checked_at,
            };
        };

        if status.withdrawn_copies.contains(&c.copy_id) {
            warnings.push(warn("copy_withdrawn", "该证书件已被撤回"));
            reasons.push((Level::Invalid, "该证书件已被企业撤回".into()));
        }

        let current = status.current();
        let printed = status.version(c.certificate_version);
        let printed_ids: &[i64] = printed.map_or(&[], |p| &p.qualification_ids);
        let printed_status = |s: QualificationStatus| {
            printed_ids
                .iter()
                .filter_map(|id| status.qualification(*id))
                .filter(move |q| q.status == s)
        };
        let names = |it: &mut dyn Iterator<Item = &crate::register::model::QualificationRecord>| {
            it.map(|q| {
                zizhi_shared::Qualification {
                    category: q.category,
                    item: q.item.clone(),
                    grade: q.grade.clone(),
                }
                .display_zh()
            })
            .collect::<Vec<_>>()
            .join("、")
        };
        let revoked = names(&mut printed_status(QualificationStatus::Revoked));
        let cancelled = names(&mut printed_status(QualificationStatus::Cancelled));
        let suspended = names(&mut printed_status(QualificationStatus::Suspended));

        let state = if !revoked.is_empty() || status.standing == CertificateStanding::Revoked {
            CertificateState::Revoked
        } else if !cancelled.is_empty() || status.standing == CertificateStanding::Cancelled {
            CertificateState::Cancelled
        } else if status.standing == CertificateStanding::Suspended {
            CertificateState::Suspended
        } else if c.certificate_version != status.current_version {
            CertificateState::Superseded
        } else if current.certificate.valid_until < today {
            CertificateState::Expired
        } else {
            CertificateState::Current
        };

        match state {
            CertificateState::Revoked => reasons.push((
                Level::Invalid,
                if revoked.is_empty() {
                    "该证书资质已被撤销".into()
                } else {
                    format!("证书所列资质已被撤销：{revoked}")
                },
            )),
            CertificateState::Cancelled => reasons.push((
                Level::Invalid,
                if cancelled.is_empty() {
                    "该证书资质已注销".into()
                } else {
                    format!("证书所列资质已注销：{cancelled}")
                },
            )),
            CertificateState::Suspended => {
                reasons.push((Level::Invalid, "该证书资质已被暂扣".into()))
            }
            CertificateState::Superseded => reasons.push((
                Level::Caution,
                format!(
                    "打印件为第 {} 版，证书已更新为第 {} 版，请以下方最新资质为准",
                    c.certificate_version, status.current_version
                ),
            )),
            CertificateState::Expired => reasons.push((
                Level::Invalid,
                format!("证书已于 {} 过期", current.certificate.valid_until),
            )),
            CertificateState::Current => {}
        }
        if !suspended.is_empty() && state != CertificateState::Suspended {
            warnings.push(warn(
                "qualification_suspended",
                format!("证书所列资质已被暂扣：{suspended}"),
            ));
            reasons.push((Level::Invalid, format!("证书所列资质已被暂扣：{suspended}")));
        }
        if c.certificate_version != status.current_version
            && c.record_digest[..] != hex::decode(&current.digest).unwrap_or_default()[..]
        {
            warnings.push(warn(
                "printed_content_outdated",
                format!("打印内容已不是最新：现行为第 {} 版", status.current_version),
            ));
        }

        let changes_since_printed = status
            .versions
            .iter()
            .filter(|r| r.version > c.certificate_version)
            .map(|r| VersionChange {
                version: r.version,
                change_kind: r.change_kind,
                note: r.change_note.clone(),
                at: r.created_at,
            })
            .collect();

        let level = reasons
            .iter()
            .map(|(l, _)| *l)
            .max()
            .unwrap_or(Level::Valid);
        let summary = match level {
            Level::Valid => Summary {
                level,
                title: "真实有效",
                message: match &c.usage {
                    Some(u) => format!(
                        "证书真实，资质现行有效。本使用件仅用于：{}，使用期限 {} 至 {}",
                        u.purpose, u.from, u.to
                    ),
                    None => "证书真实，资质现行有效".into(),
                },
            },
            Level::Caution | Level::Invalid => {
                let mut rs: Vec<&(Level, String)> = reasons.iter().collect();
                rs.sort_by_key(|r| std::cmp::Reverse(r.0));
                Summary {
                    level,
                    title: if level == Level::Invalid {
                        "无效或已失效"
                    } else {
                        "注意"
                    },
                    message: rs
                        .iter()
                        .map(|(_, m)| m.as_str())
                        .collect::<Vec<_>>()
                        .join("；"),
                }
            }
        };

        Verdict {
            signature: SignatureVerdict::Valid,
            key_id: Some(v.kid.to_string()),
            issuer: Some(v.issuer.clone()),
            claims: Some(c.clone()),
            certificate_state: Some(state),
            current_certificate: (status.standing == CertificateStanding::Active)
                .then(|| current.certificate.clone()),
            qualifications: status
                .qualifications
                .iter()
                .map(|q| LiveQualification {
                    category: q.category,
                    item: q.item.clone(),
                    grade: q.grade.clone(),
                    status: q.status,
                    status_name: q.status.name_zh(),
                })
                .collect(),
            changes_since_printed,
            warnings,
            summary,
            checked_at,
        }
    }
}
