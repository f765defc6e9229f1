//! What the 结果 screen shows, built from either answer: the server's live verdict
//! (`POST /api/v1/verify`) or the device's own judgement from its caches. Both are a
//! [`Verdict`] from the one judge in the payload crate; the screen only lays these fields
//! out, so every wording decision is here and tested natively.

use serde::{Deserialize, Serialize};
use zizhi_shared::verdict::{
    Level, QualificationStatus, Verdict, VersionChange, status_as_of_text,
};
use zizhi_shared::{Certificate, Claims, CopyKind, Qualification};

use crate::format::{self, LocalOffset};

/// Where the status came from; the `data-source` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The server's register, now.
    Live,
    /// The device's trust list and status snapshot.
    Offline,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Source::Live => "live",
            Source::Offline => "offline",
        }
    }
}

/// The server's error body (`{"error": code, "message": …}`), e.g. for a foreign code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub message: String,
}

// ---- The view model. ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub label: String,
    pub value: String,
}

fn row(label: &str, value: impl Into<String>) -> Row {
    Row {
        label: label.to_owned(),
        value: value.into(),
    }
}

/// The usage statement under the verdict (a usage copy's purpose and period, or "批准件").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub headline: String,
    pub detail: String,
    pub tone: Level,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationRow {
    /// 建筑工程施工总承包二级
    pub text: String,
    /// 有效 / 暂扣 / 已撤销 / 已注销
    pub status_name: String,
    pub tone: Level,
}

/// Everything the 结果 screen shows for one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultView {
    /// The scanned text, for 记录 and 重新核验.
    pub text: String,
    pub level: Level,
    pub source: Source,
    pub title: String,
    pub message: String,
    /// "状态截至 …" / "状态未知…": present whenever the status is not live.
    pub status_as_of: Option<String>,
    /// Empty when nothing the code says can be trusted.
    pub enterprise_name: String,
    pub certificate_number: String,
    pub usage: Option<Usage>,
    /// The signed claims (签名内容).
    pub claims: Vec<Row>,
    /// 资质详情: live only.
    pub qualifications: Option<Vec<QualificationRow>>,
    /// The certificate version in force now (live only).
    pub certificate: Vec<Row>,
    /// Versions issued after the printed one.
    pub changes: Vec<String>,
    pub warnings: Vec<String>,
    /// A line above everything else, e.g. why the answer is offline.
    pub notice: Option<String>,
    pub checked_at: String,
}

/// Label and value rows of what the code itself asserts, signed by the issuer.
fn claim_rows(
    c: &Claims,
    issuer: Option<&str>,
    kid: Option<&str>,
    offset: LocalOffset,
) -> Vec<Row> {
    let mut rows = vec![
        row("证书编号", c.certificate_number.as_str()),
        row("企业名称", &c.enterprise_name),
        row("统一社会信用代码", c.credit_code.as_str()),
        row(
            "本件类型",
            format!("{}（第 {} 版）", c.kind.name_zh(), c.certificate_version),
        ),
    ];
    if let Some(u) = &c.usage {
        rows.push(row("用途", &u.purpose));
        rows.push(row(
            "使用期限",
            format!("{} 至 {}", format::date(u.from), format::date(u.to)),
        ));
    }
    rows.push(row("本件生成时间", format::time(c.issued_at, offset)));
    if let Some(i) = issuer {
        rows.push(row("签发机关", i));
    }
    if let Some(k) = kid {
        rows.push(row("签名密钥", k));
    }
    rows
}

fn usage_block(c: &Claims, tone: Level) -> Usage {
    match (&c.usage, c.kind) {
        (Some(u), _) => Usage {
            headline: format!("本使用件仅用于：{}", u.purpose),
            detail: format!(
                "使用期限 {} 至 {}",
                format::date(u.from),
                format::date(u.to)
            ),
            tone,
        },
        (None, CopyKind::Approval) | (None, _) => Usage {
            headline: "批准件".into(),
            detail: "仅用于企业内部展示，不能用于投标等经营活动".into(),
            tone: Level::Caution.max(tone),
        },
    }
}

fn status_tone(status: QualificationStatus) -> Level {
    match status {
        QualificationStatus::Active => Level::Valid,
        QualificationStatus::Suspended => Level::Caution,
        QualificationStatus::Revoked | QualificationStatus::Cancelled => Level::Invalid,
    }
}

fn change_line(ch: &VersionChange, offset: LocalOffset) -> String {
    let name = ch.change_kind.name_zh();
    let what = if ch.note.is_empty() {
        name.to_owned()
    } else if ch.note.starts_with(name) {
        ch.note.clone()
    } else {
        format!("{name}：{}", ch.note)
    };
    format!(
        "第 {} 版 · {} · {}",
        ch.version,
        what,
        format::time(ch.at, offset)
    )
}

fn certificate_rows(cert: &Certificate) -> Vec<Row> {
    let e = &cert.enterprise;
    vec![
        row("证书编号", cert.number.as_str()),
        row("企业名称", &e.name),
        row("注册地址", &e.address),
        row("统一社会信用代码", e.credit_code.as_str()),
        row("法定代表人", &e.legal_representative),
        row("注册资本", format!("{}万元", e.registered_capital_wan)),
        row("经济性质", &e.economic_nature),
        row("证书类别", cert.category.certificate_title()),
        row("有效期至", format::date(cert.valid_until)),
        row("发证机关", &cert.issuer),
        row("批准日期", format::date(cert.approved_on)),
        row("现行版本", format!("第 {} 版", cert.version)),
    ]
}

impl ResultView {
    /// Every text the 结果 screen shows for this view, joined: what the page needs fonts for
    /// ([`crate::rare`]).
    pub fn shown_text(&self) -> String {
        let mut out = vec![
            self.title.as_str(),
            &self.message,
            &self.enterprise_name,
            &self.certificate_number,
        ];
        out.extend(self.status_as_of.as_deref());
        out.extend(self.notice.as_deref());
        if let Some(u) = &self.usage {
            out.extend([u.headline.as_str(), &u.detail]);
        }
        for r in self.claims.iter().chain(&self.certificate) {
            out.extend([r.label.as_str(), &r.value]);
        }
        for q in self.qualifications.iter().flatten() {
            out.extend([q.text.as_str(), &q.status_name]);
        }
        out.extend(self.changes.iter().map(String::as_str));
        out.extend(self.warnings.iter().map(String::as_str));
        out.concat()
    }

    /// The server's answer.
    pub fn live(text: &str, v: &Verdict, offset: LocalOffset) -> ResultView {
        let level = v.summary.level;
        let claims = v.claims.as_ref();
        ResultView {
            text: text.to_owned(),
            level,
            source: Source::Live,
            title: v.summary.title.clone(),
            message: v.summary.message.clone(),
            status_as_of: None,
            enterprise_name: claims
                .map(|c| c.enterprise_name.clone())
                .unwrap_or_default(),
            certificate_number: claims
                .map(|c| c.certificate_number.to_string())
                .unwrap_or_default(),
            usage: claims.map(|c| usage_block(c, level)),
            claims: claims
                .map(|c| claim_rows(c, v.issuer.as_deref(), v.key_id.as_deref(), offset))
                .unwrap_or_default(),
            qualifications: claims.map(|_| {
                v.qualifications
                    .iter()
                    .map(|q| QualificationRow {
                        text: Qualification {
                            category: q.category,
                            item: q.item.clone(),
                            grade: q.grade.clone(),
                        }
                        .display_zh(),
                        status_name: q.status_name.clone(),
                        tone: status_tone(q.status),
                    })
                    .collect()
            }),
            certificate: v
                .current_certificate
                .as_ref()
                .map(certificate_rows)
                .unwrap_or_default(),
            changes: v
                .changes_since_printed
                .iter()
                .map(|ch| change_line(ch, offset))
                .collect(),
            warnings: if level == Level::Valid {
                Vec::new()
            } else {
                v.warnings.iter().map(|w| w.message.clone()).collect()
            },
            notice: None,
            checked_at: format::time(v.checked_at, offset),
        }
    }

    /// A code judged on the device ([`zizhi_shared::verdict::judge`] from the cached
    /// status, or [`Verdict::rejected_by_device`] when the signature failed: then nothing
    /// the code says is shown).
    pub fn offline(text: &str, o: &Verdict, offset: LocalOffset) -> ResultView {
        let level = o.summary.level;
        // The judge ends its message with the as-of time in China Standard Time; the app
        // has its own as-of line in the device's time, so that sentence goes.
        let mut message = o.summary.message.clone();
        if let Some(as_of) = o.status_as_of {
            let tail = format!("。{}", status_as_of_text(as_of));
            if let Some(at) = message.find(&tail) {
                message.truncate(at);
            }
        }
        let c = o.claims.as_ref();
        let status_as_of = c.map(|_| match o.status_as_of {
            Some(t) => format::status_as_of(t, offset),
            None => "状态未知：本机尚无可用的状态快照，请联网核验".to_owned(),
        });
        ResultView {
            text: text.to_owned(),
            level,
            source: Source::Offline,
            title: o.summary.title.clone(),
            message,
            status_as_of,
            enterprise_name: c.map(|c| c.enterprise_name.clone()).unwrap_or_default(),
            certificate_number: c
                .map(|c| c.certificate_number.to_string())
                .unwrap_or_default(),
            usage: c.map(|c| usage_block(c, level)),
            claims: c
                .map(|c| claim_rows(c, o.issuer.as_deref(), o.key_id.as_deref(), offset))
                .unwrap_or_default(),
            qualifications: None,
            certificate: Vec::new(),
            changes: Vec::new(),
            warnings: if level == Level::Valid {
                Vec::new()
            } else {
                o.warnings.iter().map(|w| w.message.clone()).collect()
            },
            notice: None,
            checked_at: format::time(o.checked_at, offset),
        }
    }

    pub fn with_notice(mut self, notice: impl Into<String>) -> ResultView {
        self.notice = Some(notice.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use zizhi_shared::verdict::{ChangeKind, StatusFacts, judge};
    use zizhi_shared::{
        IssuerKey, KeyId, PayloadError, QrText, StatusCache, StatusSnapshot, TrustList, TrustedKey,
        Verified,
    };

    use super::*;

    const ISSUER: &str = "上海市住房和城乡建设管理委员会";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 1, 6, 3, 0).unwrap()
    }

    fn key() -> IssuerKey {
        IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32])
    }

    fn trust() -> TrustList {
        let from = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        TrustList::new(vec![TrustedKey::for_key(&key(), ISSUER, from, None)], now())
    }

    /// The device's answer now from `cache`, as the check makes it.
    fn offline(v: &Verified, cache: Option<&StatusCache>) -> Verdict {
        judge(v, StatusFacts::from_cache(cache, &v.claims, now()), now())
    }

    fn verified(claims: &Claims) -> (String, Verified) {
        let text = QrText::encode("ZZ.EXAMPLE.CN", &claims.sign(&key()));
        let v = zizhi_shared::verify_text(&text, &trust(), now()).unwrap();
        (text, v)
    }

    /// The JSON the server sends for a superseded usage copy, written out by hand so a change
    /// to the shared wire types that would break the server's answer fails here.
    fn live_json() -> serde_json::Value {
        let c = Claims::example_usage();
        serde_json::json!({
            "signature": "valid",
            "key_id": "SH01",
            "issuer": ISSUER,
            "claims": c,
            "certificate_state": "superseded",
            "current_certificate": {
                "number": "D231000037",
                "version": 4,
                "category": "construction",
                "enterprise": {
                    "name": c.enterprise_name,
                    "credit_code": c.credit_code,
                    "address": "上海市浦东新区张江路 1 号",
                    "legal_representative": "王建国",
                    "registered_capital_wan": "10000",
                    "economic_nature": "股份有限公司"
                },
                "approved_on": "2025-01-15",
                "valid_until": "2030-01-14",
                "issuer": ISSUER,
                "qualifications": [
                    {"category": "construction", "item": "建筑工程施工总承包", "grade": "一级"}
                ]
            },
            "qualifications": [
                {"category": "construction", "item": "建筑工程施工总承包", "grade": "一级",
                 "status": "active", "status_name": "有效"},
                {"category": "construction", "item": "市政公用工程施工总承包", "grade": "三级",
                 "status": "revoked", "status_name": "已撤销"}
            ],
            "changes_since_printed": [
                {"version": 4, "change_kind": "upgrade", "note": "升级：建筑工程施工总承包二级 → 一级",
                 "at": "2026-01-20T02:00:00Z"}
            ],
            "warnings": [{"code": "printed_content_outdated", "message": "打印内容已不是最新：现行为第 4 版"}],
            "summary": {"level": "caution", "title": "注意",
                        "message": "打印件为第 3 版，证书已更新为第 4 版，请以下方最新资质为准"},
            "checked_at": "2026-02-01T06:03:00Z"
        })
    }

    #[test]
    fn live_verdict_json_from_the_server_becomes_a_live_view() {
        let v: Verdict = serde_json::from_value(live_json()).unwrap();
        let view = ResultView::live("HTTPS://X/V/AB", &v, LocalOffset::BEIJING);
        assert_eq!(view.source, Source::Live);
        assert_eq!(view.level, Level::Caution);
        assert_eq!(view.title, "注意");
        assert!(view.message.starts_with("打印件为第 3 版"));
        assert_eq!(view.status_as_of, None, "live status needs no as-of line");
        assert_eq!(
            view.enterprise_name,
            "上海浦江城市建设发展工程集团股份有限公司"
        );
        let quals = view.qualifications.as_ref().unwrap();
        assert_eq!(quals[0].text, "建筑工程施工总承包一级");
        assert_eq!(quals[0].tone, Level::Valid);
        assert_eq!(quals[1].status_name, "已撤销");
        assert_eq!(quals[1].tone, Level::Invalid);
        assert_eq!(
            view.changes,
            ["第 4 版 · 升级：建筑工程施工总承包二级 → 一级 · 2026-01-20 10:00"]
        );
        assert_eq!(view.warnings, ["打印内容已不是最新：现行为第 4 版"]);
        assert!(view.certificate.contains(&row("有效期至", "2030-01-14")));
        assert!(
            view.claims
                .contains(&row("使用期限", "2026-01-10 至 2026-03-31"))
        );
        assert!(
            view.claims
                .contains(&row("本件生成时间", "2026-01-10 09:30"))
        );
        assert_eq!(view.checked_at, "2026-02-01 14:03");
        // What the screen shows, for its fonts: the legal representative of the live version
        // and the usage statement included.
        let shown = view.shown_text();
        for part in [
            "王建国",
            "张江科学城道路改建工程投标",
            "有效期至",
            "打印内容已不是最新",
        ] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
        assert_eq!(
            view.usage.unwrap().headline,
            "本使用件仅用于：上海市浦东新区张江科学城道路改建工程投标"
        );
    }

    #[test]
    fn live_rejection_has_no_claims_and_no_details() {
        let json = serde_json::json!({
            "signature": "invalid", "key_id": null, "issuer": null, "claims": null,
            "certificate_state": null, "current_certificate": null, "qualifications": [],
            "changes_since_printed": [],
            "warnings": [{"code": "bad_signature", "message": "签名无效：证书内容被篡改或为伪造"}],
            "summary": {"level": "invalid", "title": "无效或已失效",
                        "message": "签名无效：二维码内容被伪造或篡改，请勿采信此证书"},
            "checked_at": "2026-02-01T06:03:00Z"
        });
        let v: Verdict = serde_json::from_value(json).unwrap();
        let view = ResultView::live("T", &v, LocalOffset::BEIJING);
        assert_eq!(view.level, Level::Invalid);
        assert!(view.claims.is_empty() && view.qualifications.is_none() && view.usage.is_none());
        assert_eq!(view.enterprise_name, "");
        assert_eq!(view.warnings.len(), 1);
    }

    #[test]
    fn offline_view_always_says_how_old_the_status_is() {
        let (text, v) = verified(&Claims::example_usage());
        let as_of = Utc.with_ymd_and_hms(2026, 2, 1, 5, 0, 0).unwrap();
        let cache =
            StatusCache::from_full(StatusSnapshot::new(as_of, 0, 7, vec![], vec![])).unwrap();
        let o = offline(&v, Some(&cache));
        let with = ResultView::offline(&text, &o, LocalOffset(0));
        assert_eq!(with.source, Source::Offline);
        assert_eq!(
            (with.level, with.title.as_str()),
            (Level::Valid, "真实有效")
        );
        // In the device's zone (UTC here), and not repeated in Beijing time in the message.
        assert_eq!(
            with.status_as_of.as_deref(),
            Some("状态截至 2026-02-01 05:00")
        );
        assert!(!with.message.contains("状态截至"), "{}", with.message);
        assert!(with.message.starts_with("证书真实"), "{}", with.message);
        assert!(with.qualifications.is_none(), "资质详情 are live only");

        let o = offline(&v, None);
        let without = ResultView::offline(&text, &o, LocalOffset::BEIJING);
        assert!(without.status_as_of.unwrap().starts_with("状态未知"));
        assert_eq!(without.title, "注意");
        assert!(without.claims.contains(&row("签发机关", ISSUER)));
        assert!(without.claims.contains(&row("签名密钥", "SH01")));
    }

    #[test]
    fn an_approval_copy_is_never_shown_in_green() {
        let (text, v) = verified(&Claims::example_approval());
        let o = offline(&v, None);
        let view = ResultView::offline(&text, &o, LocalOffset::BEIJING);
        let usage = view.usage.unwrap();
        assert_eq!(usage.headline, "批准件");
        assert_eq!(usage.tone, Level::Caution);
    }

    #[test]
    fn a_failed_signature_shows_nothing_the_code_claims() {
        let o = Verdict::rejected_by_device(&PayloadError::BadSignature, now()).unwrap();
        let v = ResultView::offline("T", &o, LocalOffset::BEIJING);
        assert_eq!(
            (v.level, v.title.as_str()),
            (Level::Invalid, "无效或已失效")
        );
        assert!(v.message.starts_with("签名无效"));
        assert!(v.claims.is_empty() && v.usage.is_none() && v.enterprise_name.is_empty());
        assert_eq!(
            v.status_as_of, None,
            "no status is looked up for a forged code"
        );
    }

    #[test]
    fn change_kinds_have_the_servers_names_and_notes_are_not_doubled() {
        let ch = |kind: ChangeKind, note: &str| VersionChange {
            version: 2,
            change_kind: kind,
            note: note.into(),
            at: now(),
        };
        assert_eq!(
            change_line(&ch(ChangeKind::Revoke, ""), LocalOffset(0)),
            "第 2 版 · 撤销 · 2026-02-01 06:03"
        );
        assert_eq!(
            change_line(&ch(ChangeKind::Revoke, "撤销：市政三级"), LocalOffset(0)),
            "第 2 版 · 撤销：市政三级 · 2026-02-01 06:03"
        );
        assert_eq!(
            change_line(&ch(ChangeKind::ContentChange, "法定代表人"), LocalOffset(0)),
            "第 2 版 · 证书内容变更：法定代表人 · 2026-02-01 06:03"
        );
    }
}
