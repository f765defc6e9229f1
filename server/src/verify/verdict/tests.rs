//! The live verdict for every register state, through the server's own status records.

use chrono::{Duration, NaiveDate, TimeZone};
use zizhi_shared::verdict::{
    CertificateStanding, CertificateState, ChangeKind, Level, SignatureVerdict, WarningCode,
};
use zizhi_shared::{
    Category, Certificate, CopyKind, Enterprise, IssuerKey, KeyId, PayloadError, Qualification,
    TrustList, TrustedKey, UsageTerms, verify_bytes, verify_text,
};

use std::sync::Arc;

use super::*;
use crate::register::model::{QualificationRecord, QualificationStatus as Q, VersionRecord};

const ISSUER: &str = "上海市住房和城乡建设管理委员会";
const COPY_ID: u64 = 4711;
const PURPOSE: &str = "张江科学城道路改建工程投标";
const BUILDING: &str = "建筑工程施工总承包二级";
const MUNICIPAL: &str = "市政公用工程施工总承包三级";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn today() -> NaiveDate {
    date(2026, 3, 2)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
}

fn signing_key() -> IssuerKey {
    IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32])
}

fn trust_list() -> TrustList {
    TrustList::new(
        vec![TrustedKey::for_key(
            &signing_key(),
            ISSUER,
            date(2020, 1, 1),
            None,
        )],
        now(),
    )
}

fn qualification(id: i64, item: &str, grade: &str) -> QualificationRecord {
    QualificationRecord {
        id,
        category: Category::Construction,
        item: item.into(),
        grade: grade.into(),
        status: Q::Active,
        granted_on: date(2025, 1, 15),
        changed_at: Utc.with_ymd_and_hms(2025, 1, 15, 0, 0, 0).unwrap(),
    }
}

/// A certificate as the register holds it after its first grant: two active
/// qualifications, version 1, valid until `valid_until`.
fn register_valid_until(valid_until: NaiveDate) -> CertificateStatus {
    let qualifications = vec![
        qualification(1, "建筑工程施工总承包", "二级"),
        qualification(2, "市政公用工程施工总承包", "三级"),
    ];
    let certificate = Certificate {
        number: "D231000037".parse().unwrap(),
        version: 1,
        category: Category::Construction,
        enterprise: Enterprise {
            name: "上海浦江建设工程有限公司".into(),
            credit_code: "91310115MA1H7Q2B3H".parse().unwrap(),
            address: "上海市黄浦区中山南路100号".into(),
            legal_representative: "王建国".into(),
            registered_capital_wan: "5000".into(),
            economic_nature: "有限责任公司".into(),
        },
        approved_on: date(2025, 1, 15),
        valid_until,
        issuer: ISSUER.into(),
        qualifications: qualifications.iter().map(printed).collect(),
    };
    CertificateStatus {
        number: certificate.number.clone(),
        category: Category::Construction,
        credit_code: certificate.enterprise.credit_code.clone(),
        standing: CertificateStanding::Active,
        current_version: 1,
        versions: vec![VersionRecord {
            version: 1,
            digest: hex::encode(certificate.record_digest()),
            certificate,
            qualification_ids: vec![1, 2],
            change_kind: ChangeKind::Grant,
            change_note: "首次核准".into(),
            created_at: Utc.with_ymd_and_hms(2025, 1, 15, 0, 0, 0).unwrap(),
            superseded_at: None,
        }],
        qualifications,
        withdrawn_copies: Vec::new(),
    }
}

fn register() -> CertificateStatus {
    register_valid_until(date(2029, 12, 31))
}

fn printed(q: &QualificationRecord) -> Qualification {
    Qualification {
        category: q.category,
        item: q.item.clone(),
        grade: q.grade.clone(),
    }
}

/// Issues the next version from the qualifications in force, as the register does after
/// a change; `edit` changes the printed content further.
fn issue_version(
    s: &mut CertificateStatus,
    kind: ChangeKind,
    note: &str,
    edit: impl FnOnce(&mut Certificate),
) {
    let version = s.current_version + 1;
    let at = now() - Duration::days(10) + Duration::hours(i64::from(version));
    let mut certificate = s.current().certificate.clone();
    certificate.version = version;
    certificate.qualifications = s.active_qualifications().map(printed).collect();
    edit(&mut certificate);
    let ids = s.active_qualifications().map(|q| q.id).collect();
    for v in &mut s.versions {
        v.superseded_at.get_or_insert(at);
    }
    s.versions.push(VersionRecord {
        version,
        digest: hex::encode(certificate.record_digest()),
        certificate,
        qualification_ids: ids,
        change_kind: kind,
        change_note: note.into(),
        created_at: at,
        superseded_at: None,
    });
    s.current_version = version;
}

fn set_status(s: &mut CertificateStatus, id: i64, status: Q) {
    let q = s.qualifications.iter_mut().find(|q| q.id == id).unwrap();
    q.status = status;
}

fn period(from: NaiveDate, to: NaiveDate) -> Option<UsageTerms> {
    Some(UsageTerms::new(PURPOSE, from, to).unwrap())
}

fn this_month() -> Option<UsageTerms> {
    period(today() - Duration::days(1), today() + Duration::days(30))
}

fn claims_for(s: &CertificateStatus, version: u32, usage: Option<UsageTerms>) -> Claims {
    let cert = &s
        .version(version)
        .expect("printed version exists")
        .certificate;
    Claims {
        copy_id: COPY_ID,
        certificate_number: cert.number.clone(),
        certificate_version: version,
        kind: if usage.is_some() {
            CopyKind::Usage
        } else {
            CopyKind::Approval
        },
        enterprise_name: cert.enterprise.name.clone(),
        credit_code: cert.enterprise.credit_code.clone(),
        usage,
        issued_at: now() - Duration::days(2),
        record_digest: cert.record_digest(),
    }
}

/// A copy of `version`, signed and then verified as a scanner would.
fn copy_of(s: &CertificateStatus, version: u32, usage: Option<UsageTerms>) -> Verified {
    let signed = claims_for(s, version, usage).sign(&signing_key());
    verify_bytes(signed.as_bytes(), &trust_list(), now()).expect("genuine copy verifies")
}

fn judge(v: &Verified, s: Option<&CertificateStatus>) -> Verdict {
    super::judge(v, &StatusRead::Current(Arc::new(s.cloned())), now())
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.warnings.iter().map(|w| w.code.code()).collect()
}

#[test]
fn current_usage_copy_within_its_period_is_valid_and_states_its_purpose() {
    let s = register();
    let v = judge(&copy_of(&s, 1, this_month()), Some(&s));
    assert_eq!(v.signature, SignatureVerdict::Valid);
    assert_eq!(v.key_id.as_deref(), Some("SH01"));
    assert_eq!(v.issuer.as_deref(), Some(ISSUER));
    assert_eq!(v.certificate_state, Some(CertificateState::Current));
    assert_eq!(v.summary.level, Level::Valid);
    assert_eq!(v.summary.title, "真实有效");
    assert!(v.summary.message.contains(PURPOSE), "{}", v.summary.message);
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    assert!(v.changes_since_printed.is_empty());
    assert_eq!(
        v.current_certificate.as_ref(),
        Some(&s.current().certificate)
    );
    assert_eq!(v.claims.map(|c| c.copy_id), Some(COPY_ID));
    assert_eq!(v.checked_at, now());
}

#[test]
fn usage_period_includes_its_first_and_last_day() {
    let s = register();
    for terms in [
        period(today(), today() + Duration::days(5)),
        period(today() - Duration::days(5), today()),
    ] {
        let v = judge(&copy_of(&s, 1, terms.clone()), Some(&s));
        assert_eq!(v.summary.level, Level::Valid, "{terms:?}: {:?}", v.warnings);
    }
}

#[test]
fn live_qualifications_are_listed_with_their_status_names() {
    let mut s = register();
    set_status(&mut s, 2, Q::Suspended);
    let v = judge(&copy_of(&s, 1, this_month()), Some(&s));
    let listed: Vec<_> = v
        .qualifications
        .iter()
        .map(|q| {
            (
                q.item.as_str(),
                q.grade.as_str(),
                q.status,
                q.status_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("建筑工程施工总承包", "二级", Q::Active, "有效"),
            ("市政公用工程施工总承包", "三级", Q::Suspended, "暂扣"),
        ]
    );
}

#[test]
fn approval_copy_is_genuine_but_not_for_business() {
    let s = register();
    let v = judge(&copy_of(&s, 1, None), Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Current));
    assert_eq!(v.summary.level, Level::Caution);
    assert_eq!(v.summary.title, "注意");
    assert_eq!(codes(&v), ["approval_copy_not_for_business"]);
    assert!(
        v.summary.message.contains("批准件"),
        "{}",
        v.summary.message
    );
}

#[test]
fn usage_copy_before_its_period_starts_is_a_caution() {
    let s = register();
    let starts = today() + Duration::days(1);
    let v = judge(
        &copy_of(&s, 1, period(starts, starts + Duration::days(30))),
        Some(&s),
    );
    assert_eq!(v.summary.level, Level::Caution);
    assert_eq!(codes(&v), ["usage_period_not_started"]);
    assert!(v.summary.message.contains(&starts.to_string()));
}

#[test]
fn usage_copy_after_its_period_ended_is_invalid() {
    let s = register();
    let ended = today() - Duration::days(1);
    let v = judge(
        &copy_of(&s, 1, period(ended - Duration::days(30), ended)),
        Some(&s),
    );
    assert_eq!(v.certificate_state, Some(CertificateState::Current));
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(v.summary.title, "无效或已失效");
    assert_eq!(codes(&v), ["usage_period_ended"]);
    assert!(v.summary.message.contains(&ended.to_string()));
}

#[test]
fn withdrawn_copy_is_invalid_while_other_withdrawals_do_not_touch_it() {
    let mut s = register();
    s.withdrawn_copies = vec![COPY_ID + 1];
    let copy = copy_of(&s, 1, this_month());
    assert_eq!(judge(&copy, Some(&s)).summary.level, Level::Valid);

    s.withdrawn_copies.push(COPY_ID);
    let v = judge(&copy, Some(&s));
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(codes(&v), ["copy_withdrawn"]);
    assert!(v.summary.message.contains("撤回"), "{}", v.summary.message);
}

#[test]
fn copy_of_an_older_version_with_other_content_is_superseded_and_lists_later_changes() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    s.qualifications[0].grade = "一级".into();
    issue_version(
        &mut s,
        ChangeKind::Upgrade,
        "升级：建筑工程施工总承包二级 → 一级",
        |_| {},
    );
    issue_version(
        &mut s,
        ChangeKind::ContentChange,
        "企业基本信息变更",
        |c| {
            c.enterprise.address = "上海市浦东新区世纪大道1号".into();
        },
    );

    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Superseded));
    assert_eq!(v.summary.level, Level::Caution);
    assert_eq!(codes(&v), ["printed_content_outdated"]);
    assert!(
        v.summary.message.contains("第 1 版") && v.summary.message.contains("第 3 版"),
        "{}",
        v.summary.message
    );
    let changes: Vec<_> = v
        .changes_since_printed
        .iter()
        .map(|c| (c.version, c.change_kind, c.note.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (
                2,
                ChangeKind::Upgrade,
                "升级：建筑工程施工总承包二级 → 一级"
            ),
            (3, ChangeKind::ContentChange, "企业基本信息变更"),
        ]
    );
    assert_eq!(v.current_certificate.map(|c| c.version), Some(3));
}

#[test]
fn superseded_copy_whose_content_is_unchanged_has_no_outdated_content_warning() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    issue_version(&mut s, ChangeKind::ContentChange, "内容未变", |_| {});
    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Superseded));
    assert!(codes(&v).is_empty(), "{:?}", v.warnings);
    assert_eq!(v.changes_since_printed.len(), 1);
}

#[test]
fn revoked_printed_qualification_makes_the_copy_revoked_and_is_named() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    set_status(&mut s, 2, Q::Revoked);
    issue_version(
        &mut s,
        ChangeKind::Revoke,
        "撤销：市政公用工程施工总承包三级",
        |_| {},
    );

    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Revoked));
    assert_eq!(v.summary.level, Level::Invalid);
    assert!(
        v.summary.message.contains("撤销") && v.summary.message.contains(MUNICIPAL),
        "{}",
        v.summary.message
    );
    assert!(
        !v.summary.message.contains(BUILDING),
        "{}",
        v.summary.message
    );

    // A copy of the version issued after the revocation does not print it.
    let later = judge(&copy_of(&s, 2, this_month()), Some(&s));
    assert_eq!(later.certificate_state, Some(CertificateState::Current));
    assert_eq!(later.summary.level, Level::Valid);
}

#[test]
fn cancelled_printed_qualification_makes_the_copy_cancelled() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    set_status(&mut s, 2, Q::Cancelled);
    issue_version(
        &mut s,
        ChangeKind::Cancel,
        "注销：市政公用工程施工总承包三级",
        |_| {},
    );

    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Cancelled));
    assert_eq!(v.summary.level, Level::Invalid);
    assert!(
        v.summary.message.contains("注销") && v.summary.message.contains(MUNICIPAL),
        "{}",
        v.summary.message
    );
}

#[test]
fn certificate_with_every_qualification_suspended_is_suspended_and_invalid() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    set_status(&mut s, 1, Q::Suspended);
    set_status(&mut s, 2, Q::Suspended);
    s.standing = CertificateStanding::Suspended;

    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Suspended));
    assert_eq!(v.summary.level, Level::Invalid);
    assert!(v.summary.message.contains("暂扣"), "{}", v.summary.message);
    // The state already says it; no extra per-qualification warning.
    assert!(!codes(&v).contains(&"qualification_suspended"));
    // Nothing is in force, so no current certificate is shown.
    assert_eq!(v.current_certificate, None);
}

#[test]
fn one_suspended_printed_qualification_among_others_is_warned_about() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    set_status(&mut s, 2, Q::Suspended);
    issue_version(
        &mut s,
        ChangeKind::Suspend,
        "暂扣：市政公用工程施工总承包三级",
        |_| {},
    );

    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Superseded));
    assert_eq!(v.summary.level, Level::Invalid);
    let w = v
        .warnings
        .iter()
        .find(|w| w.code == WarningCode::QualificationSuspended)
        .expect("qualification_suspended warning");
    assert!(w.message.contains(MUNICIPAL), "{}", w.message);
    assert!(!w.message.contains(BUILDING), "{}", w.message);
}

#[test]
fn current_version_past_its_validity_is_expired() {
    let yesterday = today() - Duration::days(1);
    let s = register_valid_until(yesterday);
    let v = judge(&copy_of(&s, 1, None), Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Expired));
    assert_eq!(v.summary.level, Level::Invalid);
    assert!(
        v.summary
            .message
            .contains(&format!("证书已于 {yesterday} 过期")),
        "{}",
        v.summary.message
    );
}

#[test]
fn certificate_valid_until_today_is_not_yet_expired() {
    let s = register_valid_until(today());
    let v = judge(&copy_of(&s, 1, period(today(), today())), Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Current));
    assert_eq!(v.summary.level, Level::Valid);
}

#[test]
fn superseded_copy_of_an_expired_certificate_is_invalid() {
    let mut s = register_valid_until(today() - Duration::days(1));
    let copy = copy_of(&s, 1, None);
    issue_version(
        &mut s,
        ChangeKind::ContentChange,
        "企业基本信息变更",
        |c| {
            c.enterprise.legal_representative = "李建华".into();
        },
    );

    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Expired));
    assert_eq!(v.summary.level, Level::Invalid);
    // That the printed copy is old is still said.
    assert!(codes(&v).contains(&"printed_content_outdated"));
    assert_eq!(v.changes_since_printed.len(), 1);
}

#[test]
fn certificate_missing_from_the_register_is_invalid_and_has_no_state() {
    let s = register();
    let v = judge(&copy_of(&s, 1, this_month()), None);
    assert_eq!(v.signature, SignatureVerdict::Valid);
    assert_eq!(codes(&v), ["certificate_not_in_register"]);
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(v.certificate_state, None);
    assert_eq!(v.current_certificate, None);
    assert!(v.qualifications.is_empty());
    // What the copy says is still shown: the signature is genuine.
    assert!(v.claims.is_some());
}

#[test]
fn revoked_outranks_superseded_and_expired() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    set_status(&mut s, 2, Q::Revoked);
    issue_version(
        &mut s,
        ChangeKind::Revoke,
        "撤销：市政公用工程施工总承包三级",
        |c| {
            c.valid_until = today() - Duration::days(1);
        },
    );

    let v = judge(&copy, Some(&s));
    assert_eq!(v.certificate_state, Some(CertificateState::Revoked));
    assert_eq!(v.summary.level, Level::Invalid);
    // The most serious reason is read first.
    assert!(
        v.summary.message.starts_with("证书所列资质已被撤销"),
        "{}",
        v.summary.message
    );
}

#[test]
fn invalid_reasons_are_read_before_cautions() {
    let s = register();
    let v = judge(
        &copy_of(
            &s,
            1,
            period(today() - Duration::days(30), today() - Duration::days(1)),
        ),
        Some(&s),
    );
    assert_eq!(v.summary.level, Level::Invalid);
    let mut s2 = s.clone();
    s2.withdrawn_copies.push(COPY_ID);
    let approval = judge(&copy_of(&s2, 1, None), Some(&s2));
    assert_eq!(approval.summary.level, Level::Invalid);
    assert!(
        approval.summary.message.starts_with("该证书件已被企业撤回"),
        "{}",
        approval.summary.message
    );
    assert!(approval.summary.message.contains("批准件"));
}

/// Verifies a copy signed by `key` against a trust list holding `trusted`.
fn verify_against(key: &IssuerKey, trusted: TrustedKey) -> PayloadError {
    let s = register();
    let signed = claims_for(&s, 1, this_month()).sign(key);
    verify_bytes(
        signed.as_bytes(),
        &TrustList::new(vec![trusted], now()),
        now(),
    )
    .expect_err("must not verify")
}

#[test]
fn forged_signature_is_rejected_as_invalid_without_claims() {
    let forger = IssuerKey::from_seed(KeyId::new(*b"SH01"), [9; 32]);
    let err = verify_against(
        &forger,
        TrustedKey::for_key(&signing_key(), ISSUER, date(2020, 1, 1), None),
    );
    assert_eq!(err, PayloadError::BadSignature);
    let v = Verdict::rejected(&err, now()).expect("a verdict");
    assert_eq!(v.signature, SignatureVerdict::Invalid);
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(v.claims, None);
    assert_eq!(v.certificate_state, None);
    assert_eq!(codes(&v), ["bad_signature"]);
}

#[test]
fn unknown_key_is_rejected_as_unknown_key() {
    let stranger = IssuerKey::from_seed(KeyId::new(*b"XX99"), [9; 32]);
    let err = verify_against(
        &stranger,
        TrustedKey::for_key(&signing_key(), ISSUER, date(2020, 1, 1), None),
    );
    assert!(matches!(err, PayloadError::UnknownKeyId(_)), "{err:?}");
    let v = Verdict::rejected(&err, now()).expect("a verdict");
    assert_eq!(v.signature, SignatureVerdict::UnknownKey);
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(v.claims, None);
    assert_eq!(v.key_id, None);
}

#[test]
fn key_used_outside_its_validity_is_rejected_as_key_expired() {
    let err = verify_against(
        &signing_key(),
        TrustedKey::for_key(
            &signing_key(),
            ISSUER,
            date(2020, 1, 1),
            Some(date(2025, 12, 31)),
        ),
    );
    assert_eq!(err, PayloadError::KeyOutsideValidity);
    let v = Verdict::rejected(&err, now()).expect("a verdict");
    assert_eq!(v.signature, SignatureVerdict::KeyExpired);
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(v.claims, None);
}

#[test]
fn format_errors_are_not_verdicts() {
    let err = verify_text("https://example.com/not-ours", &trust_list(), now())
        .expect_err("not our code");
    assert_eq!(err, PayloadError::WrongPrefix);
    assert_eq!(Verdict::rejected(&err, now()), None);
    assert_eq!(Verdict::rejected(&PayloadError::Truncated, now()), None);
}

#[test]
fn verdict_json_uses_snake_case_names_and_a_nested_summary() {
    let mut s = register();
    let copy = copy_of(&s, 1, this_month());
    s.qualifications[0].grade = "一级".into();
    issue_version(&mut s, ChangeKind::Upgrade, "升级", |_| {});
    let j = serde_json::to_value(judge(&copy, Some(&s))).unwrap();
    assert_eq!(j["signature"], "valid");
    assert_eq!(j["key_id"], "SH01");
    assert_eq!(j["certificate_state"], "superseded");
    assert_eq!(j["summary"]["level"], "caution");
    assert_eq!(j["summary"]["title"], "注意");
    assert_eq!(j["warnings"][0]["code"], "printed_content_outdated");
    assert_eq!(j["changes_since_printed"][0]["change_kind"], "upgrade");
    assert_eq!(j["qualifications"][0]["status"], "active");
    assert_eq!(j["qualifications"][0]["category"], "construction");
    assert_eq!(j["claims"]["kind"], "usage");
    assert_eq!(j["claims"]["usage"]["purpose"], PURPOSE);
    assert_eq!(j["current_certificate"]["version"], 2);

    let rejected = Verdict::rejected(&PayloadError::KeyOutsideValidity, now()).unwrap();
    let j = serde_json::to_value(rejected).unwrap();
    assert_eq!(j["signature"], "key_expired");
    assert_eq!(j["summary"]["level"], "invalid");
    assert!(j["claims"].is_null() && j["certificate_state"].is_null());
}
