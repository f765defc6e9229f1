//! The register's change requests and their rules: what the issuer can ask for (a grant, a
//! qualification change) and what a change produced. The store applies them, each in one
//! transaction with its event-log entry (`crate::store`); any change to what a certificate
//! prints issues a new certificate version and marks the previous one superseded.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zizhi_shared::{Category, CertificateNumber};

use super::model::{CertificateStanding, ChangeKind};
use crate::store::StoreError;

/// A qualification change the issuer can make (资质变更).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QualificationAction {
    Upgrade,
    Downgrade,
    Suspend,
    Reinstate,
    Revoke,
    Cancel,
}

impl QualificationAction {
    pub fn change_kind(self) -> ChangeKind {
        match self {
            QualificationAction::Upgrade => ChangeKind::Upgrade,
            QualificationAction::Downgrade => ChangeKind::Downgrade,
            QualificationAction::Suspend => ChangeKind::Suspend,
            QualificationAction::Reinstate => ChangeKind::Reinstate,
            QualificationAction::Revoke => ChangeKind::Revoke,
            QualificationAction::Cancel => ChangeKind::Cancel,
        }
    }
}

/// The legal act a change request records: every change the guide names (升级、降级、增项、
/// 暂扣、恢复、吊销、注销、撤销、撤回、信息变更).
///
/// 吊销, 撤销 and 撤回 are three different acts — 吊销 a penalty (行政处罚); 撤销 annuls an
/// approval granted improperly (《行政许可法》第六十九条); 撤回 withdraws a lawful approval
/// because the circumstances it rested on changed (第八条) — with one effect on the register:
/// the qualification is revoked ([`QualificationAction::Revoke`]). Which one was decided is
/// kept with the request, in its list and in the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAct {
    Upgrade,
    Downgrade,
    AddItem,
    Suspend,
    Reinstate,
    /// 吊销
    RevokeAsPenalty,
    /// 撤销
    Annul,
    /// 撤回
    Withdraw,
    Cancel,
    /// 信息变更 (the enterprise block)
    EnterpriseInfo,
}

impl ChangeAct {
    pub const ALL: [ChangeAct; 10] = [
        ChangeAct::Upgrade,
        ChangeAct::Downgrade,
        ChangeAct::AddItem,
        ChangeAct::Suspend,
        ChangeAct::Reinstate,
        ChangeAct::RevokeAsPenalty,
        ChangeAct::Annul,
        ChangeAct::Withdraw,
        ChangeAct::Cancel,
        ChangeAct::EnterpriseInfo,
    ];

    /// As stored (`change_requests.action`) and sent by the console's forms. 撤销 is
    /// `revoke`, the register's own word for it (requests recorded as 撤销（吊销） before the
    /// three were told apart read as 撤销).
    pub fn code(self) -> &'static str {
        match self {
            ChangeAct::Upgrade => "upgrade",
            ChangeAct::Downgrade => "downgrade",
            ChangeAct::AddItem => "add_item",
            ChangeAct::Suspend => "suspend",
            ChangeAct::Reinstate => "reinstate",
            ChangeAct::RevokeAsPenalty => "revoke_penalty",
            ChangeAct::Annul => "revoke",
            ChangeAct::Withdraw => "withdraw",
            ChangeAct::Cancel => "cancel",
            ChangeAct::EnterpriseInfo => "enterprise_info",
        }
    }

    pub fn from_code(code: &str) -> Option<ChangeAct> {
        ChangeAct::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The legal term (法律用语) as the guide writes it.
    pub fn name_zh(self) -> &'static str {
        match self {
            ChangeAct::Upgrade => "升级",
            ChangeAct::Downgrade => "降级",
            ChangeAct::AddItem => "增项",
            ChangeAct::Suspend => "暂扣",
            ChangeAct::Reinstate => "恢复",
            ChangeAct::RevokeAsPenalty => "吊销",
            ChangeAct::Annul => "撤销",
            ChangeAct::Withdraw => "撤回",
            ChangeAct::Cancel => "注销",
            ChangeAct::EnterpriseInfo => "信息变更",
        }
    }

    /// What the act does to one qualification; `None` for 增项 and 信息变更, which are not
    /// changes of an existing qualification.
    pub fn qualification_action(self) -> Option<QualificationAction> {
        Some(match self {
            ChangeAct::Upgrade => QualificationAction::Upgrade,
            ChangeAct::Downgrade => QualificationAction::Downgrade,
            ChangeAct::Suspend => QualificationAction::Suspend,
            ChangeAct::Reinstate => QualificationAction::Reinstate,
            ChangeAct::RevokeAsPenalty | ChangeAct::Annul | ChangeAct::Withdraw => {
                QualificationAction::Revoke
            }
            ChangeAct::Cancel => QualificationAction::Cancel,
            ChangeAct::AddItem | ChangeAct::EnterpriseInfo => return None,
        })
    }
}

/// A new qualification (资质核准 or 增项).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub category: Category,
    pub item: String,
    pub grade: String,
    /// 批准日期; today when absent.
    pub approved_on: Option<NaiveDate>,
    /// 有效期至; required when the grant creates the certificate.
    pub valid_until: Option<NaiveDate>,
    /// Certificate number to use when the grant creates the certificate; assigned otherwise.
    pub certificate_number: Option<CertificateNumber>,
}

/// What a change produced: the certificate and its version now in force (none when no
/// qualification is left).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeOutcome {
    pub certificate_number: CertificateNumber,
    pub standing: CertificateStanding,
    pub current_version: Option<u32>,
    pub qualification_id: Option<i64>,
}

/// 等级 ladders, highest first, so an "upgrade" that lowers a grade is refused.
const GRADE_LADDERS: &[&[&str]] = &[
    &["特级", "一级", "二级", "三级"],
    &["综合", "甲级", "乙级", "丙级"],
    &["甲级", "乙级", "暂定级"],
];

/// Refuses a grade change that goes the wrong way on a ladder, or nowhere.
pub fn check_grade_direction(
    action: QualificationAction,
    from: &str,
    to: &str,
) -> Result<(), StoreError> {
    if from == to {
        return Err(StoreError::invalid(
            "grade_unchanged",
            format!("新等级与当前等级相同（{to}）"),
        ));
    }
    // Ranked on every ladder holding both grades: 甲级 and 乙级 sit on two of them, and only
    // the last one knows that 暂定级 is below both.
    let rank = |ladder: &[&str], g: &str| ladder.iter().position(|x| *x == g);
    let wrong = GRADE_LADDERS
        .iter()
        .any(|ladder| match (rank(ladder, from), rank(ladder, to)) {
            (Some(r1), Some(r2)) => match action {
                QualificationAction::Upgrade => r2 > r1,
                _ => r2 < r1,
            },
            _ => false,
        });
    if wrong {
        return Err(StoreError::invalid(
            "grade_direction",
            format!(
                "{}不能从{from}变为{to}",
                if action == QualificationAction::Upgrade {
                    "升级"
                } else {
                    "降级"
                }
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::QualificationAction::{Downgrade, Upgrade};
    use super::*;

    fn refusal(action: QualificationAction, from: &str, to: &str) -> Option<&'static str> {
        check_grade_direction(action, from, to)
            .err()
            .map(|e| e.code())
    }

    #[test]
    fn every_change_act_round_trips_through_its_code() {
        for a in ChangeAct::ALL {
            assert_eq!(ChangeAct::from_code(a.code()), Some(a), "{a:?}");
        }
        assert_eq!(ChangeAct::from_code("revoke_all"), None);
        let terms: std::collections::BTreeSet<_> = ChangeAct::ALL.map(ChangeAct::name_zh).into();
        assert_eq!(terms.len(), 10, "ten distinct legal terms");
    }

    #[test]
    fn revoking_as_penalty_annulling_and_withdrawing_all_revoke_the_qualification() {
        for a in [
            ChangeAct::RevokeAsPenalty,
            ChangeAct::Annul,
            ChangeAct::Withdraw,
        ] {
            assert_eq!(a.qualification_action(), Some(QualificationAction::Revoke));
        }
        assert_eq!(ChangeAct::AddItem.qualification_action(), None);
        assert_eq!(ChangeAct::EnterpriseInfo.qualification_action(), None);
        assert_eq!(
            ChangeAct::Cancel.qualification_action(),
            Some(QualificationAction::Cancel)
        );
    }

    #[test]
    fn upgrade_to_a_higher_grade_on_the_same_ladder_is_allowed() {
        for (from, to) in [
            ("二级", "一级"),
            ("三级", "特级"),
            ("乙级", "甲级"),
            ("丙级", "综合"),
            ("暂定级", "乙级"),
        ] {
            assert_eq!(refusal(Upgrade, from, to), None, "{from} → {to}");
        }
    }

    #[test]
    fn upgrade_to_a_lower_grade_is_refused() {
        for (from, to) in [
            ("一级", "二级"),
            ("特级", "三级"),
            ("甲级", "丙级"),
            ("综合", "甲级"),
        ] {
            assert_eq!(
                refusal(Upgrade, from, to),
                Some("grade_direction"),
                "{from} → {to}"
            );
        }
        let e = check_grade_direction(Upgrade, "一级", "二级").unwrap_err();
        assert_eq!(e.to_string(), "升级不能从一级变为二级");
    }

    #[test]
    fn downgrade_to_a_lower_grade_is_allowed() {
        for (from, to) in [
            ("一级", "二级"),
            ("特级", "三级"),
            ("甲级", "乙级"),
            ("乙级", "暂定级"),
        ] {
            assert_eq!(refusal(Downgrade, from, to), None, "{from} → {to}");
        }
    }

    #[test]
    fn downgrade_to_a_higher_grade_is_refused() {
        for (from, to) in [("三级", "二级"), ("乙级", "甲级"), ("丙级", "综合")] {
            assert_eq!(
                refusal(Downgrade, from, to),
                Some("grade_direction"),
                "{from} → {to}"
            );
        }
        let e = check_grade_direction(Downgrade, "三级", "二级").unwrap_err();
        assert_eq!(e.to_string(), "降级不能从三级变为二级");
    }

    #[test]
    fn provisional_grade_ranks_below_grade_b() {
        assert_eq!(refusal(Upgrade, "乙级", "暂定级"), Some("grade_direction"));
        assert_eq!(refusal(Upgrade, "甲级", "暂定级"), Some("grade_direction"));
        assert_eq!(
            refusal(Downgrade, "暂定级", "甲级"),
            Some("grade_direction")
        );
    }

    #[test]
    fn the_same_grade_is_refused_as_unchanged() {
        assert_eq!(refusal(Upgrade, "二级", "二级"), Some("grade_unchanged"));
        assert_eq!(
            refusal(Downgrade, "不分等级", "不分等级"),
            Some("grade_unchanged")
        );
    }

    #[test]
    fn grades_on_no_common_ladder_are_not_ranked() {
        // Unknown grades, and grades of different ladders, are the issuer's call.
        assert_eq!(refusal(Upgrade, "不分等级", "二级"), None);
        assert_eq!(refusal(Downgrade, "二级", "不分等级"), None);
        assert_eq!(refusal(Upgrade, "一级", "甲级"), None);
        assert_eq!(refusal(Downgrade, "甲级", "一级"), None);
    }
}
