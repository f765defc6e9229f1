//! The verdict on a scanned copy from the register's live status (验证结果): the register's
//! records stated as [`StatusFacts`] for the one judge, [`zizhi_shared::verdict::judge`],
//! which the device's offline check calls too.

use chrono::{DateTime, Utc};
use zizhi_shared::verdict::{
    LiveQualification, RegisterStatus, StatusFacts, Verdict, VersionChange,
};
use zizhi_shared::{Claims, Verified};

use crate::cache::StatusRead;
use crate::register::model::{CertificateStatus, QualificationRecord};

/// Judges a genuinely signed copy, issued by the register, against what the register could
/// tell of its status: live, as last confirmed while the database cannot be read, or nothing.
pub fn judge(v: &Verified, read: &StatusRead, checked_at: DateTime<Utc>) -> Verdict {
    zizhi_shared::verdict::judge(v, facts(read, &v.claims), checked_at)
}

/// What a status read says about the copy `claims` describe.
pub fn facts(read: &StatusRead, claims: &Claims) -> StatusFacts {
    match read {
        StatusRead::Current(status) => live_facts(status.as_ref().as_ref(), claims),
        StatusRead::AsOf { status, as_of } => match status.as_ref() {
            Some(s) => StatusFacts::RegisterAsOf {
                status: Box::new(register_status(s, claims)),
                as_of: *as_of,
            },
            // "Not in the register" then is not worth saying now.
            None => StatusFacts::RegisterUnavailable,
        },
        StatusRead::Unavailable => StatusFacts::RegisterUnavailable,
    }
}

/// What the register says about the copy `claims` describe.
pub fn live_facts(status: Option<&CertificateStatus>, claims: &Claims) -> StatusFacts {
    StatusFacts::Live(status.map(|s| Box::new(register_status(s, claims))))
}

fn live(q: &QualificationRecord) -> LiveQualification {
    LiveQualification {
        category: q.category,
        item: q.item.clone(),
        grade: q.grade.clone(),
        status: q.status,
        status_name: q.status.name_zh().into(),
    }
}

fn register_status(s: &CertificateStatus, c: &Claims) -> RegisterStatus {
    let current = s.current();
    let printed_ids = s
        .version(c.certificate_version)
        .map_or(&[][..], |p| &p.qualification_ids);
    RegisterStatus {
        standing: s.standing,
        current_version: s.current_version,
        current_certificate: current.certificate.clone(),
        current_digest: hex::decode(&current.digest).unwrap_or_default(),
        copy_withdrawn: s.withdrawn_copies.contains(&c.copy_id),
        printed_qualifications: printed_ids
            .iter()
            .filter_map(|id| s.qualification(*id))
            .map(live)
            .collect(),
        qualifications: s.qualifications.iter().map(live).collect(),
        changes_since_printed: s
            .versions
            .iter()
            .filter(|r| r.version > c.certificate_version)
            .map(|r| VersionChange {
                version: r.version,
                change_kind: r.change_kind,
                note: r.change_note.clone(),
                at: r.created_at,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
