//! How the register's states are worded for people: one wording for the H5 pages and the
//! official account's replies, so a certificate reads the same wherever it is looked up.

use chrono::NaiveDate;
use zizhi_shared::verdict::Level;

use crate::register::lookup::CertificateSummary;
use crate::register::model::{CertificateStanding, CertificateStatus, QualificationStatus};

/// A certificate's standing in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub level: Level,
    pub title: &'static str,
    pub message: String,
}

fn names(status: &CertificateStatus, s: QualificationStatus) -> String {
    status
        .qualifications
        .iter()
        .filter(|q| q.status == s)
        .map(|q| zizhi_shared::qualification_name(&q.item, &q.grade))
        .collect::<Vec<_>>()
        .join("、")
}

pub fn standing(status: &CertificateStatus, today: NaiveDate) -> Standing {
    let current = &status.current().certificate;
    match status.standing {
        CertificateStanding::Revoked => Standing {
            level: Level::Invalid,
            title: "证书已撤销",
            message: "该证书的资质已全部被撤销，证书不能再下载或使用".into(),
        },
        CertificateStanding::Cancelled => Standing {
            level: Level::Invalid,
            title: "证书已注销",
            message: "该证书的资质已全部注销，证书不能再下载或使用".into(),
        },
        CertificateStanding::Suspended => Standing {
            level: Level::Invalid,
            title: "资质已暂扣",
            message: "该证书的资质已被暂扣，暂扣期间不能使用".into(),
        },
        CertificateStanding::Active if current.valid_until < today => Standing {
            level: Level::Invalid,
            title: "证书已过有效期",
            message: format!("证书已于 {} 过期", current.valid_until),
        },
        CertificateStanding::Active => {
            let suspended = names(status, QualificationStatus::Suspended);
            if suspended.is_empty() {
                Standing {
                    level: Level::Valid,
                    title: "证书现行有效",
                    message: format!(
                        "现行为第 {} 版，有效期至 {}",
                        status.current_version, current.valid_until
                    ),
                }
            } else {
                Standing {
                    level: Level::Caution,
                    title: "部分资质暂扣",
                    message: format!("以下资质已被暂扣：{suspended}"),
                }
            }
        }
    }
}

/// A certificate's standing as the search list shows it.
pub fn certificate_label(c: &CertificateSummary, today: NaiveDate) -> (Level, &'static str) {
    match c.standing.as_str() {
        "active" if c.valid_until < today => (Level::Invalid, "已过期"),
        "active" => (Level::Valid, "有效"),
        "suspended" => (Level::Caution, "暂扣"),
        "revoked" => (Level::Invalid, "已撤销"),
        "cancelled" => (Level::Invalid, "已注销"),
        _ => (Level::Caution, "状态未知"),
    }
}
