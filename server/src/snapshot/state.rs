//! The state of each version of one certificate, as the verdict judges a copy printing it.
//!
//! **State of a version** is [`CertificateState::of_version`], the precedence the one judge
//! (`zizhi_shared::verdict::judge`) uses, with one addition: a printed qualification
//! suspended while the certificate stands makes the version `suspended` (the live verdict
//! says it as a warning on top of the state). The rest here is *since when*, read from the
//! rows. The integration tests check the two agree on every version of the demo register.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use zizhi_shared::{CertificateNumber, CertificateState, VersionEntry};

use crate::register::model::{CertificateStanding, QualificationStatus};
use crate::store::snapshot::{CertificateRow, QualificationRow, VersionRow};

/// The first instant at which a certificate valid until `valid_until` (inclusive) is expired.
fn expiry_instant(valid_until: NaiveDate) -> DateTime<Utc> {
    valid_until
        .checked_add_days(Days::new(1))
        .unwrap_or(valid_until)
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

/// The state of every version of one certificate on `today` (versions oldest first).
pub(crate) fn version_states(
    number: &CertificateNumber,
    cert: &CertificateRow,
    versions: &[VersionRow],
    inactive: &HashMap<i64, QualificationRow>,
    today: NaiveDate,
) -> Vec<VersionEntry> {
    // When a standing other than active began: the change that left nothing in force also
    // marked the last version superseded.
    let current = versions.iter().find(|v| v.version == cert.current_version);
    let standing_at = current
        .or(versions.last())
        .map(|v| v.superseded_at.unwrap_or(v.created_at));
    versions
        .iter()
        .map(|v| {
            let fallback = v.superseded_at.unwrap_or(v.created_at);
            let latest = |status: QualificationStatus| {
                v.qualification_ids
                    .iter()
                    .filter_map(|id| inactive.get(id))
                    .filter(|q| q.status == status)
                    .map(|q| q.changed_at)
                    .max()
            };
            let by_standing = |standing: CertificateStanding| {
                (cert.standing == standing).then(|| standing_at.unwrap_or(fallback))
            };
            let revoked = latest(QualificationStatus::Revoked);
            let cancelled = latest(QualificationStatus::Cancelled);
            let suspended = latest(QualificationStatus::Suspended);
            let expired = cert.valid_until < today;
            let state = match CertificateState::of_version(
                cert.standing,
                revoked.is_some(),
                cancelled.is_some(),
                expired,
                v.version != cert.current_version,
            ) {
                CertificateState::Superseded | CertificateState::Current if suspended.is_some() => {
                    CertificateState::Suspended
                }
                state => state,
            };
            let at = match state {
                CertificateState::Revoked => revoked
                    .or_else(|| by_standing(CertificateStanding::Revoked))
                    .unwrap_or(fallback),
                CertificateState::Cancelled => cancelled
                    .or_else(|| by_standing(CertificateStanding::Cancelled))
                    .unwrap_or(fallback),
                CertificateState::Suspended => suspended.or(standing_at).unwrap_or(fallback),
                CertificateState::Expired => expiry_instant(cert.valid_until),
                CertificateState::Superseded => fallback,
                CertificateState::Current => v.created_at,
            };
            VersionEntry {
                certificate_number: number.clone(),
                version: v.version,
                state,
                at,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 2, 0, 0).unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 20).unwrap()
    }

    fn number() -> CertificateNumber {
        "D231000037".parse().unwrap()
    }

    fn cert(standing: CertificateStanding, current: u32) -> CertificateRow {
        CertificateRow {
            standing,
            current_version: current,
            valid_until: NaiveDate::from_ymd_opt(2029, 12, 31).unwrap(),
        }
    }

    /// Version 1 prints qualifications 1 and 2 (created day 1, superseded day 5); version 2
    /// prints only 1 (created day 5, superseded at `v2_superseded`).
    fn versions(v2_superseded: Option<DateTime<Utc>>) -> Vec<VersionRow> {
        vec![
            VersionRow {
                version: 1,
                qualification_ids: vec![1, 2],
                created_at: t(1),
                superseded_at: Some(t(5)),
            },
            VersionRow {
                version: 2,
                qualification_ids: vec![1],
                created_at: t(5),
                superseded_at: v2_superseded,
            },
        ]
    }

    fn states(
        cert: &CertificateRow,
        versions: &[VersionRow],
        inactive: &[(i64, QualificationStatus, DateTime<Utc>)],
    ) -> Vec<(CertificateState, DateTime<Utc>)> {
        let inactive = inactive
            .iter()
            .map(|&(id, status, changed_at)| (id, QualificationRow { status, changed_at }))
            .collect();
        version_states(&number(), cert, versions, &inactive, today())
            .into_iter()
            .map(|e| (e.state, e.at))
            .collect()
    }

    #[test]
    fn an_older_version_is_superseded_since_its_successor_and_the_newest_is_current() {
        let s = states(&cert(CertificateStanding::Active, 2), &versions(None), &[]);
        assert_eq!(
            s,
            [
                (CertificateState::Superseded, t(5)),
                (CertificateState::Current, t(5))
            ]
        );
    }

    #[test]
    fn a_revoked_qualification_revokes_only_the_versions_that_print_it() {
        use QualificationStatus as Q;
        let s = states(
            &cert(CertificateStanding::Active, 2),
            &versions(None),
            &[(2, Q::Revoked, t(5))],
        );
        assert_eq!(
            s,
            [
                (CertificateState::Revoked, t(5)),
                (CertificateState::Current, t(5))
            ]
        );
    }

    #[test]
    fn nothing_left_after_a_revocation_revokes_every_version_from_that_moment() {
        use QualificationStatus as Q;
        let s = states(
            &cert(CertificateStanding::Revoked, 2),
            &versions(Some(t(9))),
            &[(1, Q::Revoked, t(9)), (2, Q::Cancelled, t(4))],
        );
        assert_eq!(
            s,
            [
                (CertificateState::Revoked, t(9)),
                (CertificateState::Revoked, t(9))
            ]
        );
        // Cancelled as a whole: a version printing an earlier revoked item stays revoked.
        let s = states(
            &cert(CertificateStanding::Cancelled, 2),
            &versions(Some(t(9))),
            &[(1, Q::Cancelled, t(9)), (2, Q::Revoked, t(4))],
        );
        assert_eq!(
            s,
            [
                (CertificateState::Revoked, t(4)),
                (CertificateState::Cancelled, t(9))
            ]
        );
    }

    #[test]
    fn suspension_of_the_whole_certificate_outranks_expiry_and_one_printed_item_does_not() {
        use QualificationStatus as Q;
        let mut expired = cert(CertificateStanding::Suspended, 2);
        expired.valid_until = today() - Duration::days(1);
        let s = states(&expired, &versions(Some(t(9))), &[(1, Q::Suspended, t(9))]);
        assert_eq!(
            s,
            [
                (CertificateState::Suspended, t(9)),
                (CertificateState::Suspended, t(9))
            ]
        );

        expired.standing = CertificateStanding::Active;
        let s = states(&expired, &versions(None), &[(2, Q::Suspended, t(5))]);
        let expiry = Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap();
        assert_eq!(
            s,
            [
                (CertificateState::Expired, expiry),
                (CertificateState::Expired, expiry)
            ]
        );

        let s = states(
            &cert(CertificateStanding::Active, 2),
            &versions(None),
            &[(2, Q::Suspended, t(5))],
        );
        assert_eq!(
            s,
            [
                (CertificateState::Suspended, t(5)),
                (CertificateState::Current, t(5))
            ]
        );
    }

    #[test]
    fn a_certificate_valid_until_today_is_not_expired() {
        let mut c = cert(CertificateStanding::Active, 2);
        c.valid_until = today();
        let s = states(&c, &versions(None), &[]);
        assert_eq!(s[1].0, CertificateState::Current);
    }
}
