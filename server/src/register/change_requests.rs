//! 变更申请 as the register sees them: what a clerk records ([`Recording`], [`ChangeDetails`];
//! the act itself is [`super::ops::ChangeAct`]) and the rule on the effective date (生效日期).
//!
//! The effective date is a Beijing date, entered by the clerk (today by default). When the
//! change is recorded it may lie at most [`EFFECTIVE_DAYS_BACK`] days before today and
//! [`EFFECTIVE_DAYS_AHEAD`] days after it; an approval before it is refused
//! (`not_yet_effective`). The register keeps no future state: a change is made when it is
//! approved, on or after its effective date, and the certificate's new version is issued then.
//! A version is never back-dated (what an older copy verified as before the approval stays
//! what it was), so an effective date in the past records the decision's date, not a rewrite
//! of history. The effective date is printed in each new version's note and kept in the
//! events; for 增项 it is the new qualification's approval date (批准日期), as the issuer API's
//! `approved_on`, and so may not be after the certificate's validity nor before its current
//! approval date.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{Category, CertificateNumber, Enterprise};

use crate::accounts::Account;
use crate::store::StoreError;

/// How far back an effective date may lie when a change is recorded (a decision dated before
/// it reached the clerk).
pub const EFFECTIVE_DAYS_BACK: u64 = 30;
/// How far ahead an effective date may lie when a change is recorded.
pub const EFFECTIVE_DAYS_AHEAD: u64 = 180;

/// Today in Beijing: the date effective dates are compared with.
pub fn beijing_today(now: DateTime<Utc>) -> NaiveDate {
    zizhi_shared::time::beijing_date(now)
}

/// Refuses an effective date outside the span a clerk may record.
pub fn check_effective_on(on: NaiveDate, now: DateTime<Utc>) -> Result<(), StoreError> {
    let today = beijing_today(now);
    let earliest = today - Days::new(EFFECTIVE_DAYS_BACK);
    let latest = today + Days::new(EFFECTIVE_DAYS_AHEAD);
    if on < earliest {
        return Err(StoreError::invalid(
            "effective_on_too_early",
            format!("生效日期 {on} 早于 {earliest}：最多追溯 {EFFECTIVE_DAYS_BACK} 天"),
        ));
    }
    if on > latest {
        return Err(StoreError::invalid(
            "effective_on_too_late",
            format!("生效日期 {on} 晚于 {latest}：最多提前 {EFFECTIVE_DAYS_AHEAD} 天登记"),
        ));
    }
    Ok(())
}

/// What a request is about, as it was when recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeDetails {
    /// A change of one qualification (its item and grade when recorded).
    Qualification {
        certificate_number: CertificateNumber,
        item: String,
        grade: String,
    },
    /// 增项: the qualification to add to the enterprise's certificate of its category.
    AddItem {
        certificate_number: CertificateNumber,
        category: Category,
        item: String,
        grade: String,
    },
    /// 信息变更: the enterprise block before and after.
    EnterpriseInfo {
        before: Box<Enterprise>,
        after: Box<Enterprise>,
    },
}

/// Who records a request, on what legal basis, effective from when.
#[derive(Debug, Clone, Copy)]
pub struct Recording<'a> {
    pub clerk: &'a Account,
    pub basis: &'a str,
    pub effective_on: NaiveDate,
    pub now: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn today_is_the_beijing_date() {
        // 16:30 UTC is 00:30 the next day in Beijing.
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 16, 30, 0).unwrap();
        assert_eq!(beijing_today(now).to_string(), "2026-12-01");
    }

    #[test]
    fn effective_dates_within_the_span_are_accepted_and_outside_it_refused() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 4, 0, 0).unwrap();
        let today = beijing_today(now);
        let code = |d: NaiveDate| check_effective_on(d, now).err().map(|e| e.code());
        assert_eq!(code(today), None);
        assert_eq!(code(today - Days::new(EFFECTIVE_DAYS_BACK)), None);
        assert_eq!(code(today + Days::new(EFFECTIVE_DAYS_AHEAD)), None);
        assert_eq!(
            code(today - Days::new(EFFECTIVE_DAYS_BACK + 1)),
            Some("effective_on_too_early")
        );
        assert_eq!(
            code(today + Days::new(EFFECTIVE_DAYS_AHEAD + 1)),
            Some("effective_on_too_late")
        );
    }
}
