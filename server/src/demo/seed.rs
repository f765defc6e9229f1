//! `zizhi demo`: seeds the register from `assets/demo/register.json` through the same
//! operations the issuer API uses, replaying history in time order (grants, copies, upgrades,
//! revocations, withdrawals), and writes every copy's QR code under `./demo/`.
//!
//! The data file is written for its `reference_date`; every date is shifted by the distance
//! from that day to today so each scenario keeps its meaning whenever the demo runs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::{CertificateNumber, UsageTerms};

use super::data::{DemoRegister, load};
use crate::app::AppState;
use crate::copies::model::CopyRecord;
use crate::register::ops::QualificationAction;

const ACTOR: &str = "demo";

/// One demo case and the copy that shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCase {
    pub case: String,
    /// What an inspector should be told, in a few words.
    pub expect: String,
    pub copy_id: u64,
    pub certificate_number: CertificateNumber,
    pub qr_text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoSummary {
    pub enterprises: usize,
    pub certificates: usize,
    pub copies: usize,
    pub cases: Vec<DemoCase>,
}

enum Step {
    Enterprise(usize),
    Certificate(usize, usize),
    Approval(CertificateNumber),
    Usage(CertificateNumber, UsageTerms, Option<&'static str>),
    Change(
        CertificateNumber,
        String,
        QualificationAction,
        Option<String>,
    ),
    CancelAll(CertificateNumber),
    Withdraw(&'static str),
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("valid hour"))
        .and_utc()
}

/// The first day of the demo's history (shifted to today), from which its keys must be valid.
pub fn history_start(now: DateTime<Utc>) -> NaiveDate {
    let reg = load();
    let shift = now.date_naive() - reg.reference_date;
    reg.certificates()
        .map(|(_, c)| c.approved_on + shift)
        .min()
        .unwrap_or(now.date_naive())
        - Duration::days(60)
}

/// Seeds the register when it is empty. Returns the demo cases (also when already seeded,
/// read back from `demo/cases.json`).
pub async fn seed(state: &AppState, out_dir: &Path) -> anyhow::Result<DemoSummary> {
    let cases_file = out_dir.join("cases.json");
    if !state.store.is_empty().await? {
        let text = std::fs::read_to_string(&cases_file).with_context(|| {
            format!(
                "the register already has data but {} is missing; remove the database to reseed",
                cases_file.display()
            )
        })?;
        return Ok(serde_json::from_str(&text)?);
    }
    let reg = load();
    let now = Utc::now();
    let start = history_start(now);
    if state
        .keys
        .current()
        .signer(zizhi_shared::trust::KeyRole::CopySigning, start)
        .is_err()
    {
        anyhow::bail!(
            "没有在演示历史开始（{start}）时生效的签发密钥：请用一个新的数据目录运行演示"
        );
    }
    let today = now.date_naive();
    let shift = today - reg.reference_date;
    let d = |x: NaiveDate| x + shift;
    let shifted = |t: &UsageTerms| UsageTerms {
        purpose: t.purpose.clone(),
        from: d(t.from),
        to: d(t.to),
    };

    let mut steps: Vec<(DateTime<Utc>, Step)> = Vec::new();
    for (ei, de) in reg.enterprises.iter().enumerate() {
        let first = de
            .certificates
            .iter()
            .map(|c| d(c.approved_on))
            .min()
            .unwrap_or(today);
        steps.push((at(first - Duration::days(30), 9), Step::Enterprise(ei)));
        for (ci, c) in de.certificates.iter().enumerate() {
            steps.push((at(d(c.approved_on), 10), Step::Certificate(ei, ci)));
            steps.push((at(d(c.approved_on), 11), Step::Approval(c.number.clone())));
        }
    }
    // A usage copy is made a few days before its period starts, never before approval.
    let mut usage =
        |n: &CertificateNumber, t: UsageTerms, case: Option<&'static str>, reg: &DemoRegister| {
            let approved = reg
                .certificate(n)
                .map(|(_, c)| d(c.approved_on))
                .unwrap_or(today);
            let made = (t.from - Duration::days(3)).max(approved).min(today);
            steps.push((at(made, 14), Step::Usage(n.clone(), t, case)));
        };
    let s = &reg.scenarios;
    for u in &reg.usage_copies {
        usage(&u.certificate, shifted(&u.terms), None, &reg);
    }
    usage(
        &s.current_usage.certificate,
        shifted(&s.current_usage.terms),
        Some("current_usage"),
        &reg,
    );
    usage(
        &s.superseded.certificate,
        shifted(&s.superseded.terms),
        Some("superseded"),
        &reg,
    );
    usage(
        &s.revoked.certificate,
        shifted(&s.revoked.terms),
        Some("revoked"),
        &reg,
    );
    usage(
        &s.cancelled.certificate,
        shifted(&s.cancelled.terms),
        Some("cancelled"),
        &reg,
    );
    usage(
        &s.expired_period.certificate,
        shifted(&s.expired_period.terms),
        Some("expired_period"),
        &reg,
    );
    usage(
        &s.not_started.certificate,
        shifted(&s.not_started.terms),
        Some("not_started"),
        &reg,
    );
    usage(
        &s.withdrawn.certificate,
        shifted(&s.withdrawn.terms),
        Some("withdrawn"),
        &reg,
    );
    usage(
        &s.expired_certificate.certificate,
        shifted(&s.expired_certificate.terms),
        Some("expired_certificate"),
        &reg,
    );
    steps.push((
        at(d(s.superseded.changed_on), 15),
        Step::Change(
            s.superseded.certificate.clone(),
            s.superseded.item.clone(),
            QualificationAction::Upgrade,
            Some(s.superseded.new_grade.clone()),
        ),
    ));
    steps.push((
        at(d(s.revoked.changed_on), 15),
        Step::Change(
            s.revoked.certificate.clone(),
            s.revoked.item.clone(),
            QualificationAction::Revoke,
            None,
        ),
    ));
    steps.push((
        at(d(s.cancelled.changed_on), 15),
        Step::CancelAll(s.cancelled.certificate.clone()),
    ));
    steps.push((
        at(d(s.withdrawn.withdrawn_on), 16),
        Step::Withdraw("withdrawn"),
    ));
    steps.sort_by_key(|(t, _)| *t);

    let mut cases: BTreeMap<&'static str, CopyRecord> = BTreeMap::new();
    let mut copies: Vec<CopyRecord> = Vec::new();
    // Each copy also as a signed PDF, rendered when it is issued.
    let mut docs = crate::pdf::demo::DemoDocuments::new(out_dir)?;
    let host = &state.settings.public_host;
    let issuer = &state.settings.issuer_name;
    for (t, step) in steps {
        let t = t.min(now);
        match step {
            Step::Enterprise(ei) => {
                state
                    .store
                    .create_enterprise(ACTOR, &reg.enterprises[ei].enterprise, t)
                    .await?;
            }
            Step::Certificate(ei, ci) => {
                let de = &reg.enterprises[ei];
                let c = &de.certificates[ci];
                state
                    .store
                    .create_certificate(
                        ACTOR,
                        &de.enterprise.credit_code,
                        &c.number,
                        d(c.approved_on),
                        d(c.valid_until),
                        &c.qualifications,
                        issuer,
                        t,
                    )
                    .await
                    .with_context(|| format!("certificate {}", c.number))?;
            }
            Step::Approval(n) => {
                let copy = state
                    .store
                    .issue_copy(ACTOR, &n, None, &state.keys, host, t)
                    .await?;
                docs.add(state, &copy, ACTOR, t).await?;
                if n == s.approval.certificate {
                    cases.insert("approval", copy.clone());
                }
                copies.push(copy);
            }
            Step::Usage(n, terms, case) => {
                let copy = state
                    .store
                    .issue_copy(ACTOR, &n, Some(terms), &state.keys, host, t)
                    .await
                    .with_context(|| format!("usage copy of {n}"))?;
                docs.add(state, &copy, ACTOR, t).await?;
                if let Some(case) = case {
                    cases.insert(case, copy.clone());
                }
                copies.push(copy);
            }
            Step::Change(n, item, action, grade) => {
                let id = state
                    .store
                    .qualification_id(&n, &item)
                    .await?
                    .with_context(|| format!("{n} has no {item}"))?;
                state
                    .store
                    .change_qualification(ACTOR, id, action, grade.as_deref(), None, t)
                    .await?;
            }
            Step::CancelAll(n) => {
                let status = state
                    .store
                    .certificate_status(&n)
                    .await?
                    .with_context(|| format!("no certificate {n}"))?;
                for q in status.active_qualifications() {
                    state
                        .store
                        .change_qualification(
                            ACTOR,
                            q.id,
                            QualificationAction::Cancel,
                            None,
                            Some("企业申请注销"),
                            t,
                        )
                        .await?;
                }
            }
            Step::Withdraw(case) => {
                let id = cases.get(case).context("withdrawn case copy")?.id;
                state.store.withdraw_copy(ACTOR, id, None, t).await?;
            }
        }
    }
    let certificates = reg.certificates().count();
    let mut extra = Vec::new();
    if let Some(genuine) = cases.get("current_usage") {
        extra = counterfeits(state, &genuine.qr_text, now)?;
    }
    let summary = DemoSummary {
        enterprises: reg.enterprises.len(),
        certificates,
        copies: copies.len(),
        cases: CASES
            .iter()
            .filter_map(|(case, expect)| {
                cases.get(case).map(|c| DemoCase {
                    case: (*case).into(),
                    expect: (*expect).into(),
                    copy_id: c.id,
                    certificate_number: c.certificate_number.clone(),
                    qr_text: c.qr_text.clone(),
                })
            })
            .chain(extra)
            .collect(),
    };
    write_files(out_dir, &copies, &summary)?;
    docs.finish(
        state,
        out_dir,
        CASES
            .iter()
            .filter_map(|(case, _)| cases.get(case).map(|c| (*case, c.id))),
    )?;
    Ok(summary)
}

/// Codes an inspector must be warned about: the genuine usage copy with one signature byte
/// changed, the same claims signed by a key the issuer never published, and plain text.
fn counterfeits(
    state: &AppState,
    genuine: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<DemoCase>> {
    let verified = zizhi_shared::verify_text(genuine, state.keys.current().trust_list(), now)?;
    let mut bytes = zizhi_shared::QrText::extract(genuine)?;
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let host = &state.settings.public_host;
    let forged =
        zizhi_shared::QrText::encode(host, &zizhi_shared::SignedPayload::from_bytes(bytes));
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let stranger = zizhi_shared::IssuerKey::from_seed(zizhi_shared::KeyId::new(*b"ZZ99"), seed);
    let unknown = zizhi_shared::QrText::encode(host, &verified.claims.sign(&stranger));
    let case = |case: &str, expect: &str, qr_text: String| DemoCase {
        case: case.into(),
        expect: expect.into(),
        copy_id: verified.claims.copy_id,
        certificate_number: verified.claims.certificate_number.clone(),
        qr_text,
    };
    Ok(vec![
        case("forged", "无效：签名无效，二维码被伪造或篡改", forged),
        case("unknown_key", "无效：签名密钥不属于发证机关", unknown),
    ])
}

/// The demo cases in the order a newcomer should try them.
pub const CASES: &[(&str, &str)] = &[
    (
        "current_usage",
        "真实有效：使用件在使用期限内，资质现行有效",
    ),
    ("approval", "注意：批准件不能用于投标等经营活动"),
    ("superseded", "注意：证书已升级为新版本，打印件已不是最新"),
    ("revoked", "无效：证书所列资质已被撤销"),
    ("cancelled", "无效：证书资质已注销"),
    ("expired_period", "无效：使用期限已结束"),
    ("not_started", "注意：使用期限尚未开始"),
    ("withdrawn", "无效：该使用件已被撤回"),
    ("expired_certificate", "无效：证书已过有效期"),
];

fn write_files(out_dir: &Path, copies: &[CopyRecord], summary: &DemoSummary) -> anyhow::Result<()> {
    let qr_dir = out_dir.join("qr");
    std::fs::create_dir_all(&qr_dir)
        .with_context(|| format!("cannot create {}", qr_dir.display()))?;
    for c in copies {
        let stem = format!(
            "{}-v{}-{}-{}",
            c.certificate_number,
            c.certificate_version,
            c.kind.code(),
            c.id
        );
        let png = zizhi_shared::render::png(&c.qr_text, 8).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(qr_dir.join(format!("{stem}.png")), png)?;
        let svg = zizhi_shared::render::svg(&c.qr_text, 8).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(qr_dir.join(format!("{stem}.svg")), svg)?;
    }
    for case in &summary.cases {
        let png =
            zizhi_shared::render::png(&case.qr_text, 8).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(out_dir.join(format!("{}.png", case.case)), png)?;
        let svg =
            zizhi_shared::render::svg(&case.qr_text, 8).map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(out_dir.join(format!("{}.svg", case.case)), svg)?;
    }
    std::fs::write(
        out_dir.join("cases.json"),
        serde_json::to_string_pretty(summary)?,
    )?;
    Ok(())
}
