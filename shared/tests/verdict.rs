//! The one judge, fed from both sources: the register's live status (as the server builds
//! it) and a device's status snapshot cache. Every demo-like case must get the same level
//! and title either way; then the device-only facts (no cache, an old cache, a stale one).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use zizhi_shared::snapshot::{StatusCache, StatusSnapshot, VersionEntry};
use zizhi_shared::verdict::{
    CertificateStanding, CertificateState, ChangeKind, Level, LiveQualification,
    QualificationStatus, RegisterStatus, STALE_AFTER, StatusFacts, Verdict, VersionChange,
    WarningCode, judge,
};
use zizhi_shared::{
    Category, Certificate, Claims, Enterprise, IssuerKey, KeyId, PayloadError, Qualification,
    TrustList, TrustedKey, UsageTerms, Verified, verify_bytes,
};

const ISSUER: &str = "上海市住房和城乡建设管理委员会";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 1, 6, 3, 0).unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn key() -> IssuerKey {
    IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32])
}

fn verified(claims: &Claims) -> Verified {
    let trust = TrustList::new(
        vec![TrustedKey::for_key(&key(), ISSUER, d("2020-01-01"), None)],
        now(),
    );
    verify_bytes(claims.sign(&key()).as_bytes(), &trust, now()).unwrap()
}

/// A usage copy of D231000037 version 3, issued 2026-01-10, usable 2026-01-10 .. 03-31.
fn usage() -> Verified {
    verified(&Claims::example_usage())
}

fn with_period(from: &str, to: &str) -> Verified {
    verified(&Claims {
        usage: Some(UsageTerms::new("道路改建工程投标", d(from), d(to)).unwrap()),
        ..Claims::example_usage()
    })
}

fn cache(withdrawn: Vec<u64>, versions: Vec<(u32, CertificateState)>) -> StatusCache {
    let entries = versions
        .into_iter()
        .map(|(version, state)| VersionEntry {
            certificate_number: "D231000037".parse().unwrap(),
            version,
            state,
            at: now() - Duration::days(2),
        })
        .collect();
    StatusCache::from_full(StatusSnapshot::new(now(), 0, 9, withdrawn, entries)).unwrap()
}

/// The device's answer at `at` from `cache`.
fn offline(v: &Verified, cache: Option<&StatusCache>, at: DateTime<Utc>) -> Verdict {
    judge(v, StatusFacts::from_cache(cache, &v.claims, at), at)
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.warnings.iter().map(|w| w.code.code()).collect()
}

// ---- The register side: what the server builds from its records. ----

const BUILDING: (&str, &str) = ("建筑工程施工总承包", "二级");
const MUNICIPAL: (&str, &str) = ("市政公用工程施工总承包", "三级");

fn live_qualification(
    (item, grade): (&str, &str),
    status: QualificationStatus,
) -> LiveQualification {
    LiveQualification {
        category: Category::Construction,
        item: item.into(),
        grade: grade.into(),
        status,
        status_name: status.name_zh().into(),
    }
}

fn certificate(version: u32, valid_until: NaiveDate) -> Certificate {
    let c = Claims::example_usage();
    Certificate {
        number: c.certificate_number,
        version,
        category: Category::Construction,
        enterprise: Enterprise {
            name: c.enterprise_name,
            credit_code: c.credit_code,
            address: "上海市浦东新区张江路 1 号".into(),
            legal_representative: "王建国".into(),
            registered_capital_wan: "10000".into(),
            economic_nature: "股份有限公司".into(),
        },
        approved_on: d("2025-01-15"),
        valid_until,
        issuer: ISSUER.into(),
        qualifications: [BUILDING, MUNICIPAL]
            .into_iter()
            .map(|(item, grade)| Qualification {
                category: Category::Construction,
                item: item.into(),
                grade: grade.into(),
            })
            .collect(),
    }
}

/// The register holding version 3 (the printed one) of D231000037 in force, both printed
/// qualifications active.
fn register() -> RegisterStatus {
    let quals = vec![
        live_qualification(BUILDING, QualificationStatus::Active),
        live_qualification(MUNICIPAL, QualificationStatus::Active),
    ];
    RegisterStatus {
        standing: CertificateStanding::Active,
        current_version: 3,
        current_certificate: certificate(3, d("2030-01-14")),
        current_digest: Claims::example_usage().record_digest.to_vec(),
        copy_withdrawn: false,
        printed_qualifications: quals.clone(),
        qualifications: quals,
        changes_since_printed: Vec::new(),
    }
}

/// The register after version 4 was issued for `kind`, the municipal qualification now in
/// `status`.
fn changed(kind: ChangeKind, status: QualificationStatus) -> RegisterStatus {
    let mut r = register();
    r.current_version = 4;
    r.current_certificate.version = 4;
    r.current_digest = vec![0; 8];
    r.printed_qualifications[1].status = status;
    r.qualifications[1].status = status;
    r.qualifications[1].status_name = status.name_zh().into();
    r.changes_since_printed = vec![VersionChange {
        version: 4,
        change_kind: kind,
        note: format!("{}：市政公用工程施工总承包三级", kind.name_zh()),
        at: now() - Duration::days(2),
    }];
    r
}

struct Case {
    name: &'static str,
    copy: Verified,
    register: RegisterStatus,
    /// What the server's snapshot says about the same register: withdrawn copies, the
    /// printed version's entry.
    withdrawn: Vec<u64>,
    entry: Option<CertificateState>,
    level: Level,
}

fn cases() -> Vec<Case> {
    let case = |name, copy, register, entry, level| Case {
        name,
        copy,
        register,
        withdrawn: Vec::new(),
        entry,
        level,
    };
    let suspended_whole = {
        let mut r = register();
        r.standing = CertificateStanding::Suspended;
        for q in r
            .printed_qualifications
            .iter_mut()
            .chain(r.qualifications.iter_mut())
        {
            q.status = QualificationStatus::Suspended;
        }
        r
    };
    let expired = {
        let mut r = register();
        r.current_certificate.valid_until = now().date_naive() - Duration::days(1);
        r
    };
    let withdrawn = {
        let mut r = register();
        r.copy_withdrawn = true;
        r
    };
    vec![
        case(
            "current usage copy",
            usage(),
            register(),
            None,
            Level::Valid,
        ),
        case(
            "approval copy",
            verified(&Claims::example_approval()),
            register(),
            None,
            Level::Caution,
        ),
        case(
            "superseded",
            usage(),
            changed(ChangeKind::Upgrade, QualificationStatus::Active),
            Some(CertificateState::Superseded),
            Level::Caution,
        ),
        case(
            "revoked",
            usage(),
            changed(ChangeKind::Revoke, QualificationStatus::Revoked),
            Some(CertificateState::Revoked),
            Level::Invalid,
        ),
        case(
            "cancelled",
            usage(),
            changed(ChangeKind::Cancel, QualificationStatus::Cancelled),
            Some(CertificateState::Cancelled),
            Level::Invalid,
        ),
        case(
            "suspended",
            usage(),
            suspended_whole,
            Some(CertificateState::Suspended),
            Level::Invalid,
        ),
        case(
            "one printed qualification suspended",
            usage(),
            changed(ChangeKind::Suspend, QualificationStatus::Suspended),
            Some(CertificateState::Suspended),
            Level::Invalid,
        ),
        case(
            "expired certificate",
            usage(),
            expired,
            Some(CertificateState::Expired),
            Level::Invalid,
        ),
        case(
            "usage period ended",
            with_period("2026-01-01", "2026-01-31"),
            register(),
            None,
            Level::Invalid,
        ),
        case(
            "usage period not started",
            with_period("2026-02-02", "2026-03-01"),
            register(),
            None,
            Level::Caution,
        ),
        Case {
            withdrawn: vec![Claims::example_usage().copy_id],
            ..case("withdrawn", usage(), withdrawn, None, Level::Invalid)
        },
    ]
}

#[test]
fn every_case_gets_the_same_level_and_title_from_the_register_and_from_a_cache() {
    let mut states = Vec::new();
    for c in cases() {
        let live = judge(
            &c.copy,
            StatusFacts::Live(Some(Box::new(c.register.clone()))),
            now(),
        );
        let entries = c.entry.map(|s| (3, s)).into_iter().collect();
        let cached = offline(&c.copy, Some(&cache(c.withdrawn.clone(), entries)), now());
        assert_eq!(live.summary.level, c.level, "{}: {live:?}", c.name);
        assert_eq!(cached.summary.level, c.level, "{}: {cached:?}", c.name);
        assert_eq!(live.summary.title, cached.summary.title, "{}", c.name);
        assert_eq!(live.summary.title, c.level.title(), "{}", c.name);
        // Only the device's answer is dated.
        assert_eq!(live.status_as_of, None, "{}", c.name);
        assert_eq!(cached.status_as_of, Some(now()), "{}", c.name);
        assert!(cached.summary.message.contains("状态截至"), "{}", c.name);
        states.push(cached.certificate_state.expect("a cached state"));
    }
    for &s in CertificateState::ALL {
        assert!(states.contains(&s), "no case for {s:?}");
    }
}

#[test]
fn rejected_codes_get_the_same_level_and_title_on_the_server_and_on_a_device() {
    for err in [
        PayloadError::BadSignature,
        PayloadError::UnknownKeyId("XX99".into()),
        PayloadError::KeyOutsideValidity,
    ] {
        let server = Verdict::rejected(&err, now()).unwrap();
        let device = Verdict::rejected_by_device(&err, now()).unwrap();
        assert_eq!(server.summary.level, Level::Invalid);
        assert_eq!(
            (server.summary.level, &server.summary.title),
            (device.summary.level, &device.summary.title)
        );
        assert_eq!(codes(&device), [err.code()]);
        assert_eq!(server.signature, device.signature);
        assert!(device.claims.is_none() && device.certificate_state.is_none());
    }
    assert_eq!(
        Verdict::rejected_by_device(&PayloadError::WrongPrefix, now()),
        None
    );
}

#[test]
fn a_certificate_missing_from_the_register_is_invalid_live_and_unknowable_from_a_cache() {
    let live = judge(&usage(), StatusFacts::Live(None), now());
    assert_eq!(live.summary.level, Level::Invalid);
    assert_eq!(codes(&live), ["certificate_not_in_register"]);
    // The snapshot lists versions of certificates the register has; of one it never had it
    // cannot say anything, so a device answers as of its sync and the server corrects it.
    let cached = offline(&usage(), Some(&cache(vec![], vec![])), now());
    assert!(cached.summary.message.contains("状态截至"));
}

// ---- The device's own facts. ----

#[test]
fn without_a_cache_a_genuine_copy_is_a_caution_with_unknown_status() {
    let v = offline(&usage(), None, now());
    assert_eq!(v.summary.level, Level::Caution);
    assert_eq!(v.summary.title, "注意");
    assert_eq!(v.summary.message, "签名真实；状态未知，请联网核验");
    assert_eq!((v.status_as_of, v.certificate_state), (None, None));
    assert_eq!(codes(&v), ["status_unknown"]);
}

#[test]
fn with_a_fresh_cache_a_current_copy_is_valid_and_dated() {
    let v = offline(&usage(), Some(&cache(vec![], vec![])), now());
    assert_eq!(v.summary.level, Level::Valid);
    assert_eq!(v.summary.title, "真实有效");
    assert!(
        v.summary.message.contains("本使用件仅用于："),
        "{}",
        v.summary.message
    );
    // 06:03 UTC is 14:03 in Shanghai.
    assert!(
        v.summary.message.contains("状态截至 2026-02-01 14:03"),
        "{}",
        v.summary.message
    );
    assert_eq!(v.status_as_of, Some(now()));
    assert_eq!(v.certificate_state, Some(CertificateState::Current));
    assert!(v.warnings.is_empty());
}

#[test]
fn each_cached_state_gives_the_servers_level() {
    for (state, level, words) in [
        (CertificateState::Superseded, Level::Caution, "更新的版本"),
        (CertificateState::Suspended, Level::Invalid, "暂扣"),
        (CertificateState::Revoked, Level::Invalid, "撤销"),
        (CertificateState::Cancelled, Level::Invalid, "注销"),
        (CertificateState::Expired, Level::Invalid, "有效期"),
    ] {
        let v = offline(&usage(), Some(&cache(vec![], vec![(3, state)])), now());
        assert_eq!(
            (v.summary.level, v.certificate_state),
            (level, Some(state)),
            "{state:?}"
        );
        assert_eq!(v.summary.title, level.title());
        assert!(
            v.summary.message.contains(words),
            "{state:?}: {}",
            v.summary.message
        );
        assert!(
            v.summary.message.contains("状态截至"),
            "{}",
            v.summary.message
        );
    }
    // Another version's state does not concern this copy.
    let v = offline(
        &usage(),
        Some(&cache(vec![], vec![(2, CertificateState::Revoked)])),
        now(),
    );
    assert_eq!(v.summary.level, Level::Valid);
}

#[test]
fn withdrawn_copy_is_invalid_and_read_first() {
    let approval = verified(&Claims {
        copy_id: 77,
        ..Claims::example_approval()
    });
    let v = offline(&approval, Some(&cache(vec![77], vec![])), now());
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(
        codes(&v),
        ["approval_copy_not_for_business", "copy_withdrawn"]
    );
    assert!(
        v.summary.message.starts_with("该证书件已被企业撤回"),
        "{}",
        v.summary.message
    );
    assert!(
        v.summary.message.contains("批准件"),
        "{}",
        v.summary.message
    );
}

#[test]
fn usage_period_rules_hold_with_and_without_a_cache() {
    let c = cache(vec![], vec![]);
    let ended = offline(&with_period("2026-01-01", "2026-01-31"), Some(&c), now());
    assert_eq!(ended.summary.level, Level::Invalid);
    assert_eq!(codes(&ended), ["usage_period_ended"]);
    let last_day = offline(&with_period("2026-01-01", "2026-02-01"), Some(&c), now());
    assert_eq!(last_day.summary.level, Level::Valid);
    let later = offline(&with_period("2026-02-02", "2026-03-01"), Some(&c), now());
    assert_eq!(later.summary.level, Level::Caution);
    assert_eq!(codes(&later), ["usage_period_not_started"]);
    // The copy's own facts hold without any cache, too.
    let ended = offline(&with_period("2026-01-01", "2026-01-31"), None, now());
    assert_eq!(ended.summary.level, Level::Invalid);
    assert!(
        ended.summary.message.contains("状态未知"),
        "{}",
        ended.summary.message
    );
}

#[test]
fn a_cache_older_than_the_copy_does_not_vouch_for_it() {
    let old = StatusCache::from_full(StatusSnapshot::new(
        Utc.with_ymd_and_hms(2026, 1, 9, 0, 0, 0).unwrap(),
        0,
        3,
        vec![],
        vec![],
    ))
    .unwrap();
    let v = offline(&usage(), Some(&old), now());
    assert_eq!(v.summary.level, Level::Caution);
    assert!(
        v.summary.message.contains("状态未知"),
        "{}",
        v.summary.message
    );
    assert_eq!(v.status_as_of, None);
    assert_eq!(codes(&v), ["status_unknown"]);
}

#[test]
fn a_stale_cache_turns_valid_into_caution() {
    let c = cache(vec![], vec![]);
    let v = offline(&usage(), Some(&c), now() + STALE_AFTER);
    assert_eq!(
        v.summary.level,
        Level::Valid,
        "exactly 7 days is not stale yet"
    );
    let v = offline(
        &usage(),
        Some(&c),
        now() + STALE_AFTER + Duration::minutes(1),
    );
    assert_eq!(v.summary.level, Level::Caution);
    assert_eq!(codes(&v), ["status_stale"]);
    assert!(
        v.summary.message.contains("状态截至"),
        "{}",
        v.summary.message
    );
}

#[test]
fn rejected_on_a_device_an_unknown_key_suggests_updating_the_trust_list() {
    let err = PayloadError::UnknownKeyId("XX99".into());
    let v = Verdict::rejected_by_device(&err, now()).unwrap();
    assert!(
        v.summary.message.contains("信任列表"),
        "{}",
        v.summary.message
    );
    let v = Verdict::rejected(&err, now()).unwrap();
    assert!(
        !v.summary.message.contains("信任列表"),
        "{}",
        v.summary.message
    );
}

#[test]
fn verdict_json_round_trips_and_names_levels_states_and_codes_in_snake_case() {
    let v = offline(
        &usage(),
        Some(&cache(vec![], vec![(3, CertificateState::Revoked)])),
        now(),
    );
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["summary"]["level"], "invalid");
    assert_eq!(j["certificate_state"], "revoked");
    assert_eq!(j["summary"]["title"], "无效或已失效");
    assert_eq!(j["status_as_of"], "2026-02-01T06:03:00Z");
    assert_eq!(serde_json::from_value::<Verdict>(j).unwrap(), v);

    // The live answer has no as-of field at all.
    let live = judge(
        &usage(),
        StatusFacts::Live(Some(Box::new(register()))),
        now(),
    );
    let j = serde_json::to_value(&live).unwrap();
    assert!(j.get("status_as_of").is_none(), "{j}");
    assert_eq!(serde_json::from_value::<Verdict>(j).unwrap(), live);

    // A warning code a newer server sends is still read.
    let w: zizhi_shared::verdict::Warning =
        serde_json::from_value(serde_json::json!({"code": "something_new", "message": "…"}))
            .unwrap();
    assert_eq!(w.code, WarningCode::Other);
}

// ---- The server without its database. ----

#[test]
fn with_the_register_unreadable_a_genuine_copy_is_a_caution_and_never_current() {
    let v = judge(&usage(), StatusFacts::RegisterUnavailable, now());
    assert_eq!(v.signature, zizhi_shared::verdict::SignatureVerdict::Valid);
    assert_eq!(v.summary.level, Level::Caution);
    assert_eq!(v.summary.message, "签名真实；实时状态暂不可查，请稍后重试");
    assert_eq!(v.certificate_state, None);
    assert!(v.current_certificate.is_none() && v.qualifications.is_empty());
    assert_eq!(codes(&v), ["status_unavailable"]);
    assert!(v.claims.is_some(), "the signed claims are still shown");
}

#[test]
fn a_status_confirmed_before_the_outage_is_shown_as_of_then_and_at_most_a_caution() {
    let as_of = now() - Duration::minutes(3);
    let facts = |r: RegisterStatus| StatusFacts::RegisterAsOf {
        status: Box::new(r),
        as_of,
    };
    let v = judge(&usage(), facts(register()), now());
    assert_eq!(v.summary.level, Level::Caution, "{v:?}");
    assert_eq!(v.certificate_state, Some(CertificateState::Current));
    assert_eq!(v.status_as_of, Some(as_of));
    assert_eq!(codes(&v), ["status_unavailable"]);
    let m = &v.summary.message;
    assert!(
        m.contains("资质有效") && m.contains("状态截至") && m.contains("暂不可查"),
        "{m}"
    );
    assert!(
        !v.qualifications.is_empty(),
        "资质详情 as of then are shown"
    );

    // What was already wrong then stays as serious as it was.
    let v = judge(
        &usage(),
        facts(changed(ChangeKind::Revoke, QualificationStatus::Revoked)),
        now(),
    );
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(v.certificate_state, Some(CertificateState::Revoked));
    assert!(
        v.summary.message.contains("暂不可查"),
        "{}",
        v.summary.message
    );

    // On the wire: the as-of time is there, so a reader cannot take it for a live answer.
    let j = serde_json::to_value(judge(&usage(), facts(register()), now())).unwrap();
    assert_eq!(j["status_as_of"], serde_json::to_value(as_of).unwrap());
    assert_eq!(j["warnings"][0]["code"], "status_unavailable");
}

#[test]
fn a_copy_the_register_never_issued_is_invalid_whatever_its_signature() {
    let v = judge(&usage(), StatusFacts::CopyNotIssued, now());
    assert_eq!(v.summary.level, Level::Invalid);
    assert_eq!(codes(&v), ["copy_not_in_register"]);
    assert!(v.certificate_state.is_none() && v.qualifications.is_empty());
    assert!(
        v.summary.message.contains("从未签发"),
        "{}",
        v.summary.message
    );
}
