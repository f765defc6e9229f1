//! The demo register that `zizhi demo` seeds: fictional Shanghai enterprises across all seven
//! certificate categories, their certificates, and the usage copies and status changes that show
//! every answer the verifier can give.
//!
//! The data lives in `assets/demo/register.json` and is embedded at compile time. Every date in
//! it is absolute and chosen relative to [`DemoRegister::reference_date`] (2026-11-25): on that
//! day `current_usage` is inside its period, `expired_period` has ended, `not_started` has not
//! begun and `expired_certificate` is past its 有效期. A seeder running on another day may shift
//! all dates by `today - reference_date` to keep those meanings.
//!
//! Deserialising goes through the payload crate's checked types (credit-code checksum,
//! certificate-number shape, category codes); the remaining checks (text lengths, usage periods,
//! cross references) are the unit tests below, so [`load`] can never fail at run time.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zizhi_shared::{
    Category, Certificate, CertificateNumber, CreditCode, Enterprise, Qualification, UsageTerms,
};

/// The embedded demo register.
const REGISTER_JSON: &str = include_str!("../../../assets/demo/register.json");

/// Parses the embedded demo register.
///
/// # Panics
/// Only if `assets/demo/register.json` is malformed, which the unit tests of this module rule
/// out for the file compiled in.
pub fn load() -> DemoRegister {
    serde_json::from_str(REGISTER_JSON)
        .unwrap_or_else(|e| panic!("assets/demo/register.json is not a valid demo register: {e}"))
}

/// `assets/demo/register.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoRegister {
    /// 发证机关 printed on every certificate: 上海市住房和城乡建设管理委员会.
    pub issuer: String,
    /// The day the scenario dates were chosen for (2026-11-25).
    pub reference_date: NaiveDate,
    pub enterprises: Vec<DemoEnterprise>,
    /// One named certificate (and copy) per verifier answer.
    pub scenarios: DemoScenarios,
    /// More usage copies, so the register looks lived in. Periods lie in the past, present and
    /// future of `reference_date`; none is on a certificate a scenario changes.
    pub usage_copies: Vec<DemoUsageCopy>,
}

/// One enterprise and its certificates (one per category it holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoEnterprise {
    pub enterprise: Enterprise,
    pub certificates: Vec<DemoCertificate>,
}

/// A certificate as first issued (version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCertificate {
    pub number: CertificateNumber,
    pub category: Category,
    /// 批准日期
    pub approved_on: NaiveDate,
    /// 有效期至 (five years from `approved_on`, less one day)
    pub valid_until: NaiveDate,
    /// In printing order; every one has `category == self.category`.
    pub qualifications: Vec<Qualification>,
}

impl DemoCertificate {
    /// Version 1 of this certificate as the register holds it.
    pub fn to_certificate(&self, enterprise: &Enterprise, issuer: &str) -> Certificate {
        Certificate {
            number: self.number.clone(),
            version: 1,
            category: self.category,
            enterprise: enterprise.clone(),
            approved_on: self.approved_on,
            valid_until: self.valid_until,
            issuer: issuer.to_owned(),
            qualifications: self.qualifications.clone(),
        }
    }
}

/// A usage copy (使用件) to issue on a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoUsageCopy {
    pub certificate: CertificateNumber,
    /// 用途 and 使用期限. Deserialised as is; the tests check each passes `UsageTerms::new`.
    pub terms: UsageTerms,
}

/// The certificate (and copies) the seeder uses for each demo case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoScenarios {
    /// A usage copy whose period covers `reference_date`, on an unchanged, valid certificate.
    pub current_usage: DemoUsageCopy,
    /// A certificate whose approval copy (批准件) is claimed; no usage copy.
    pub approval: DemoScenarioApproval,
    /// Copies are issued, then one qualification is upgraded: the copies become superseded.
    pub superseded: DemoScenarioUpgrade,
    /// Copies are issued, then one qualification is revoked (吊销); others remain.
    pub revoked: DemoScenarioRevocation,
    /// Copies are issued, then every qualification is cancelled (注销): nothing downloadable.
    pub cancelled: DemoScenarioCancellation,
    /// A usage copy whose period ended before `reference_date`.
    pub expired_period: DemoUsageCopy,
    /// A usage copy whose period starts after `reference_date`.
    pub not_started: DemoUsageCopy,
    /// A usage copy, current by its dates, that the enterprise withdrew.
    pub withdrawn: DemoScenarioWithdrawal,
    /// A usage copy on a certificate whose `valid_until` is before `reference_date`.
    pub expired_certificate: DemoUsageCopy,
}

/// Claim the approval copy of `certificate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoScenarioApproval {
    pub certificate: CertificateNumber,
}

/// Issue an approval copy and a usage copy with `terms`, then on `changed_on` raise `item` from
/// `old_grade` to `new_grade` (a new certificate version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoScenarioUpgrade {
    pub certificate: CertificateNumber,
    pub item: String,
    pub old_grade: String,
    pub new_grade: String,
    pub changed_on: NaiveDate,
    pub terms: UsageTerms,
}

/// Issue a usage copy with `terms`, then on `changed_on` remove qualification `item` (`grade`)
/// by `action` (吊销); the certificate keeps its other qualifications in a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoScenarioRevocation {
    pub certificate: CertificateNumber,
    pub item: String,
    pub grade: String,
    /// 吊销 / 撤销 / 撤回 / 注销, as printed in the status.
    pub action: String,
    pub changed_on: NaiveDate,
    pub terms: UsageTerms,
}

/// Issue a usage copy with `terms`, then on `changed_on` remove every qualification of the
/// certificate by `action` (注销).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoScenarioCancellation {
    pub certificate: CertificateNumber,
    pub action: String,
    pub changed_on: NaiveDate,
    pub terms: UsageTerms,
}

/// Issue a usage copy with `terms`, then withdraw it on `withdrawn_on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoScenarioWithdrawal {
    pub certificate: CertificateNumber,
    pub terms: UsageTerms,
    pub withdrawn_on: NaiveDate,
}

impl DemoRegister {
    /// Every certificate with its enterprise, in file order.
    pub fn certificates(&self) -> impl Iterator<Item = (&Enterprise, &DemoCertificate)> {
        self.enterprises
            .iter()
            .flat_map(|e| e.certificates.iter().map(move |c| (&e.enterprise, c)))
    }

    /// The certificate with this number and its enterprise.
    pub fn certificate(
        &self,
        number: &CertificateNumber,
    ) -> Option<(&Enterprise, &DemoCertificate)> {
        self.certificates().find(|(_, c)| &c.number == number)
    }

    /// The enterprise with this credit code.
    pub fn enterprise(&self, code: &CreditCode) -> Option<&DemoEnterprise> {
        self.enterprises
            .iter()
            .find(|e| &e.enterprise.credit_code == code)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn checked(t: &UsageTerms) -> UsageTerms {
        UsageTerms::new(&t.purpose, t.from, t.to).unwrap_or_else(|e| panic!("{t:?}: {e}"))
    }

    /// Every usage copy in the file: (certificate, terms, what it is).
    fn all_usage(r: &DemoRegister) -> Vec<(&CertificateNumber, &UsageTerms, String)> {
        let s = &r.scenarios;
        let mut v = vec![
            (
                &s.current_usage.certificate,
                &s.current_usage.terms,
                "current_usage".to_owned(),
            ),
            (
                &s.superseded.certificate,
                &s.superseded.terms,
                "superseded".to_owned(),
            ),
            (
                &s.revoked.certificate,
                &s.revoked.terms,
                "revoked".to_owned(),
            ),
            (
                &s.cancelled.certificate,
                &s.cancelled.terms,
                "cancelled".to_owned(),
            ),
            (
                &s.expired_period.certificate,
                &s.expired_period.terms,
                "expired_period".to_owned(),
            ),
            (
                &s.not_started.certificate,
                &s.not_started.terms,
                "not_started".to_owned(),
            ),
            (
                &s.withdrawn.certificate,
                &s.withdrawn.terms,
                "withdrawn".to_owned(),
            ),
            (
                &s.expired_certificate.certificate,
                &s.expired_certificate.terms,
                "expired_certificate".to_owned(),
            ),
        ];
        for (i, u) in r.usage_copies.iter().enumerate() {
            v.push((&u.certificate, &u.terms, format!("usage_copies[{i}]")));
        }
        v
    }

    #[test]
    fn the_file_parses_and_names_the_commission_as_issuer() {
        let r = load();
        assert_eq!(r.issuer, "上海市住房和城乡建设管理委员会");
        assert_eq!(
            r.reference_date,
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
        );
        // Round trip: nothing in the file is silently dropped or renamed.
        let back: DemoRegister = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn credit_codes_pass_the_checksum_are_shanghai_codes_and_are_unique() {
        let r = load();
        let mut seen = BTreeSet::new();
        for e in &r.enterprises {
            let code = e.enterprise.credit_code.as_str();
            let reparsed: CreditCode = code.parse().unwrap_or_else(|err| panic!("{code}: {err}"));
            assert_eq!(reparsed.as_str(), code);
            assert!(
                code.starts_with("91310"),
                "{code} is not a Shanghai company code"
            );
            assert!(seen.insert(code.to_owned()), "credit code {code} twice");
        }
    }

    #[test]
    fn enterprises_and_qualifications_validate() {
        let r = load();
        let mut names = BTreeSet::new();
        for e in &r.enterprises {
            let ent = &e.enterprise;
            ent.validate()
                .unwrap_or_else(|err| panic!("{}: {err}", ent.name));
            assert!(ent.address.starts_with("上海市"), "{}", ent.address);
            assert!(names.insert(ent.name.clone()), "{} twice", ent.name);
            assert!(
                !e.certificates.is_empty(),
                "{} has no certificate",
                ent.name
            );
            let cats: BTreeSet<_> = e.certificates.iter().map(|c| c.category).collect();
            assert_eq!(
                cats.len(),
                e.certificates.len(),
                "{}: two certificates in one category",
                ent.name
            );
            for c in &e.certificates {
                assert!(
                    (1..=6).contains(&c.qualifications.len()),
                    "{}: {} qualifications",
                    c.number,
                    c.qualifications.len()
                );
                let mut items = BTreeSet::new();
                for q in &c.qualifications {
                    q.validate()
                        .unwrap_or_else(|err| panic!("{}: {q:?}: {err}", c.number));
                    assert_eq!(q.category, c.category, "{}: {q:?}", c.number);
                    assert!(items.insert(&q.item), "{}: {} twice", c.number, q.item);
                }
                assert!(c.approved_on < c.valid_until, "{}", c.number);
            }
        }
    }

    #[test]
    fn every_printed_text_is_in_the_register_form_and_prints_with_the_shipped_fonts() {
        let r = load();
        let fonts = zizhi_documents::Fonts::shipped().unwrap();
        let mut texts: Vec<String> = Vec::new();
        for e in &r.enterprises {
            let ent = &e.enterprise;
            let kept = ent.clone().normalized().unwrap();
            assert_eq!(&kept, ent, "{} is not in the register's form", ent.name);
            texts.extend(ent.printed_texts().map(str::to_owned));
            for c in &e.certificates {
                texts.extend(c.qualifications.iter().map(|q| q.display_zh()));
            }
        }
        texts.extend(all_usage(&r).into_iter().map(|(_, t, _)| t.purpose.clone()));
        for t in &texts {
            assert_eq!(fonts.missing(t), None, "{t}");
        }
        // The demo shows 生僻字 (README): Extension A and at least one beyond the BMP.
        let all: String = texts.concat();
        assert!(all.contains('\u{4DAE}'), "no Extension A character");
        assert!(
            all.chars().any(|c| c > '\u{FFFF}'),
            "no character of Extensions B–H"
        );
    }

    #[test]
    fn certificate_numbers_are_unique_and_open_with_their_category_letter() {
        let r = load();
        let mut seen = BTreeSet::new();
        for (_, c) in r.certificates() {
            assert!(seen.insert(c.number.clone()), "{} twice", c.number);
            assert_eq!(
                c.number.as_str().chars().next(),
                Some(c.category.number_prefix()),
                "{} is a {:?} certificate",
                c.number,
                c.category
            );
        }
    }

    #[test]
    fn all_seven_categories_have_at_least_three_enterprises() {
        let r = load();
        assert!(
            r.enterprises.len() >= 34,
            "{} enterprises",
            r.enterprises.len()
        );
        let mut per: BTreeMap<Category, usize> = BTreeMap::new();
        for e in &r.enterprises {
            for c in &e.certificates {
                *per.entry(c.category).or_default() += 1;
            }
        }
        for &cat in Category::ALL {
            let n = per.get(&cat).copied().unwrap_or(0);
            assert!(n >= 3, "{cat}: {n} enterprises");
        }
        let multi = r
            .enterprises
            .iter()
            .filter(|e| e.certificates.len() >= 2)
            .count();
        assert!(multi >= 3, "{multi} enterprises hold two categories");
        let expired = r
            .certificates()
            .filter(|(_, c)| c.valid_until < r.reference_date)
            .count();
        assert!((1..=5).contains(&expired), "{expired} expired certificates");
    }

    #[test]
    fn every_usage_copy_is_valid_and_lies_within_its_certificate() {
        let r = load();
        let copies = all_usage(&r);
        assert!(copies.len() >= 25, "{} usage copies", copies.len());
        for (number, terms, what) in &copies {
            let (_, c) = r
                .certificate(number)
                .unwrap_or_else(|| panic!("{what}: no certificate {number}"));
            let t = checked(terms);
            assert_eq!(&t, *terms, "{what}: purpose has surrounding blanks");
            assert!(t.from < t.to, "{what}: period ends before it starts");
            assert!(
                c.approved_on <= t.from && t.to <= c.valid_until,
                "{what}: period {}..{} outside {}..{}",
                t.from,
                t.to,
                c.approved_on,
                c.valid_until
            );
        }
        let lengths: Vec<usize> = copies
            .iter()
            .map(|(_, t, _)| t.purpose.chars().count())
            .collect();
        assert!(lengths.contains(&20), "no purpose of exactly 20 characters");
        assert!(lengths.contains(&30), "no purpose of the maximum length");
    }

    #[test]
    fn scenarios_refer_to_existing_certificates_and_mean_what_they_say() {
        let r = load();
        let s = &r.scenarios;
        let today = r.reference_date;
        let cert = |n: &CertificateNumber| {
            r.certificate(n)
                .unwrap_or_else(|| panic!("scenario certificate {n} is not in the register"))
                .1
        };
        let covers = |t: &UsageTerms| t.from <= today && today <= t.to;
        let valid = |c: &DemoCertificate| c.approved_on <= today && today <= c.valid_until;

        assert!(covers(&s.current_usage.terms) && valid(cert(&s.current_usage.certificate)));
        assert!(valid(cert(&s.approval.certificate)));

        let up = &s.superseded;
        let c = cert(&up.certificate);
        let q = c
            .qualifications
            .iter()
            .find(|q| q.item == up.item)
            .expect("upgraded item held");
        assert_eq!(q.grade, up.old_grade);
        assert_ne!(up.old_grade, up.new_grade);
        assert!(valid(c) && covers(&up.terms));
        assert!(up.terms.from < up.changed_on && up.changed_on <= today);

        let rv = &s.revoked;
        let c = cert(&rv.certificate);
        assert!(
            c.qualifications
                .iter()
                .any(|q| q.item == rv.item && q.grade == rv.grade)
        );
        assert!(
            c.qualifications.len() >= 2,
            "a partial revocation leaves others"
        );
        assert!(valid(c) && covers(&rv.terms));
        assert!(rv.terms.from < rv.changed_on && rv.changed_on <= today);

        let cn = &s.cancelled;
        assert!(valid(cert(&cn.certificate)) && covers(&cn.terms));
        assert!(cn.terms.from < cn.changed_on && cn.changed_on <= today);

        assert!(s.expired_period.terms.to < today && valid(cert(&s.expired_period.certificate)));
        assert!(s.not_started.terms.from > today && valid(cert(&s.not_started.certificate)));

        let w = &s.withdrawn;
        assert!(covers(&w.terms) && valid(cert(&w.certificate)));
        assert!(w.terms.from <= w.withdrawn_on && w.withdrawn_on <= today);

        assert!(cert(&s.expired_certificate.certificate).valid_until < today);

        // Each case on its own certificate, and the extra copies stay off the changed ones, so
        // one case never masks another.
        let used = [
            &s.current_usage.certificate,
            &s.approval.certificate,
            &s.superseded.certificate,
            &s.revoked.certificate,
            &s.cancelled.certificate,
            &s.expired_period.certificate,
            &s.not_started.certificate,
            &s.withdrawn.certificate,
            &s.expired_certificate.certificate,
        ];
        assert_eq!(used.iter().collect::<BTreeSet<_>>().len(), used.len());
        for u in &r.usage_copies {
            assert!(
                ![&up.certificate, &rv.certificate, &cn.certificate].contains(&&u.certificate),
                "extra usage copy on changed certificate {}",
                u.certificate
            );
            assert!(cert(&u.certificate).valid_until >= u.terms.to);
        }
    }

    #[test]
    fn to_certificate_builds_version_one() {
        let r = load();
        let (e, c) = r.certificates().next().unwrap();
        let cert = c.to_certificate(e, &r.issuer);
        assert_eq!(cert.version, 1);
        assert_eq!(cert.number, c.number);
        assert_eq!(&cert.enterprise, e);
        assert_eq!(r.enterprise(&e.credit_code).map(|d| &d.enterprise), Some(e));
    }
}
