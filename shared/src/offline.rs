//! The verdict a device gives without a network (离线核验): the signature checked against the
//! cached trust list, the status taken from the cached [`StatusCache`] and always dated.
//!
//! It mirrors the server's verdict (`server/src/verify/verdict.rs`, `Verdict::judge`) rule for
//! rule, so with a fresh cache both give the same level:
//!
//! | fact | level | reason |
//! |------|-------|--------|
//! | copy withdrawn | invalid | 该证书件已被企业撤回 |
//! | version revoked / cancelled / suspended / expired | invalid | 该证书资质已被撤销 … |
//! | usage period ended | invalid | 使用期限已于 … 结束 |
//! | version superseded | caution | 打印件为第 N 版，证书已有更新的版本 |
//! | approval copy | caution | 这是批准件，不能用于投标等经营活动 |
//! | usage period not started | caution | 使用期限自 … 起，尚未开始 |
//! | no cache, or a cache older than the copy | caution | 签名真实；状态未知，请联网核验 |
//! | cache older than [`STALE_AFTER`] | caution | 本机状态信息已超过 7 天未更新，请联网核验 |
//!
//! The highest level wins; "真实有效" is said only when a cache vouches for the status, and
//! then the message says as of when ("状态截至 2026-11-25 14:03", China Standard Time).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use zizhi_shared::offline::{OfflineLevel, judge_offline};
//! use zizhi_shared::snapshot::{StatusCache, StatusSnapshot};
//! use zizhi_shared::{Claims, IssuerKey, KeyId, TrustList, TrustedKey, verify_bytes};
//!
//! let now = Utc.with_ymd_and_hms(2026, 2, 1, 8, 0, 0).unwrap();
//! let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
//! let trust = TrustList::new(
//!     vec![TrustedKey::for_key(&key, "上海市住房和城乡建设管理委员会", now.date_naive() - chrono::Days::new(400), None)],
//!     now,
//! );
//! let claims = Claims::example_usage();
//! let verified = verify_bytes(claims.sign(&key).as_bytes(), &trust, now).unwrap();
//!
//! // No status on the device: the signature is genuine, the status is unknown.
//! let v = judge_offline(&verified, None, now);
//! assert_eq!(v.level, OfflineLevel::Caution);
//! assert!(v.message.contains("状态未知"));
//!
//! // A synced cache in which nothing concerns this copy: genuine and current, as of the sync.
//! let cache = StatusCache::from_full(StatusSnapshot::new(now, 0, 7, vec![], vec![])).unwrap();
//! let v = judge_offline(&verified, Some(&cache), now);
//! assert_eq!(v.level, OfflineLevel::Valid);
//! assert!(v.message.contains("状态截至 2026-02-01 16:00"));
//! ```

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CopyKind;
use crate::payload::{PayloadError, Verified};
use crate::snapshot::{StatusCache, VersionState};

/// A cache older than this no longer vouches for "valid": the answer becomes a caution.
pub const STALE_AFTER: Duration = Duration::days(7);

/// Traffic-light level, as the server's `summary.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflineLevel {
    /// 真实有效 (green)
    Valid,
    /// 注意 (orange)
    Caution,
    /// 无效或已失效 (red)
    Invalid,
}

impl OfflineLevel {
    /// The title the server uses for the same level.
    pub fn title(self) -> &'static str {
        match self {
            OfflineLevel::Valid => "真实有效",
            OfflineLevel::Caution => "注意",
            OfflineLevel::Invalid => "无效或已失效",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            OfflineLevel::Valid => "valid",
            OfflineLevel::Caution => "caution",
            OfflineLevel::Invalid => "invalid",
        }
    }
}

/// One thing the inspector should know, with a stable code (the server's codes where the
/// server has the same warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineWarning {
    pub code: String,
    pub message: String,
}

/// What the device shows when it cannot ask the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineVerdict {
    pub level: OfflineLevel,
    /// 真实有效 / 注意 / 无效或已失效
    pub title: String,
    /// The reasons, most serious first, then "状态截至 …" when a cache was used.
    pub message: String,
    /// When the status used was current (the cache's `as_of`); `None` when no status was
    /// available for this copy.
    pub status_as_of: Option<DateTime<Utc>>,
    /// The printed version's state per the cache; `None` when unknown.
    pub state: Option<VersionState>,
    pub warnings: Vec<OfflineWarning>,
}

/// `2026-11-25 14:03` in China Standard Time (UTC+8), as the server's pages show times.
pub fn format_time(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string()
}

/// "状态截至 2026-11-25 14:03": the line shown whenever the status is not live.
pub fn status_as_of_text(as_of: DateTime<Utc>) -> String {
    format!("状态截至 {}", format_time(as_of))
}

fn warn(code: &str, message: impl Into<String>) -> OfflineWarning {
    OfflineWarning {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// The offline answer for a code whose signature did not check out, as the server's
/// `Verdict::rejected`; `None` for a code that is not a certificate code at all (wrong
/// prefix, damaged base32…): show the error itself then.
pub fn rejected_offline(err: &PayloadError) -> Option<OfflineVerdict> {
    let message = match err {
        PayloadError::BadSignature => "签名无效：二维码内容被伪造或篡改，请勿采信此证书",
        PayloadError::UnknownKeyId(_) => {
            "签名密钥不属于发证机关：二维码可能是伪造的，请勿采信此证书（如本机信任列表较旧，请联网更新后重试）"
        }
        PayloadError::KeyOutsideValidity => "签名密钥不在有效期内：请勿采信此证书",
        _ => return None,
    };
    Some(OfflineVerdict {
        level: OfflineLevel::Invalid,
        title: OfflineLevel::Invalid.title().to_owned(),
        message: message.to_owned(),
        status_as_of: None,
        state: None,
        warnings: vec![warn(err.code(), err.to_string())],
    })
}

/// Judges a genuinely signed copy from the signed claims, the cached status (if any) and the
/// device clock.
pub fn judge_offline(
    v: &Verified,
    cache: Option<&StatusCache>,
    now: DateTime<Utc>,
) -> OfflineVerdict {
    let c = &v.claims;
    let today = now.date_naive();
    let mut warnings = Vec::new();
    let mut reasons: Vec<(OfflineLevel, String)> = Vec::new();

    if c.kind == CopyKind::Approval {
        warnings.push(warn(
            "approval_copy_not_for_business",
            "批准件仅用于企业内部展示，不能用于投标等经营活动",
        ));
        reasons.push((
            OfflineLevel::Caution,
            "这是批准件，不能用于投标等经营活动".into(),
        ));
    }
    if let Some(u) = &c.usage {
        if today < u.from {
            let m = format!("使用期限自 {} 起，尚未开始", u.from);
            warnings.push(warn("usage_period_not_started", m.clone()));
            reasons.push((OfflineLevel::Caution, m));
        } else if today > u.to {
            warnings.push(warn(
                "usage_period_ended",
                format!("使用期限已于 {} 结束", u.to),
            ));
            reasons.push((OfflineLevel::Invalid, format!("使用期限已于 {} 结束", u.to)));
        }
    }

    // A cache synced before the copy was issued knows nothing about it (nor about the
    // version it prints, which may be newer than the cache).
    let usable = cache.filter(|cache| c.issued_at <= cache.as_of);
    let mut state = None;
    match usable {
        None => {
            let why = if cache.is_some() {
                "本机状态信息早于该证书件的生成时间"
            } else {
                "本机尚无状态信息"
            };
            warnings.push(warn(
                "status_unknown",
                format!("{why}，无法离线确认证书状态"),
            ));
            reasons.push((
                OfflineLevel::Caution,
                "签名真实；状态未知，请联网核验".into(),
            ));
        }
        Some(cache) => {
            if cache.copy_withdrawn(c.copy_id) {
                warnings.push(warn("copy_withdrawn", "该证书件已被撤回"));
                reasons.push((OfflineLevel::Invalid, "该证书件已被企业撤回".into()));
            }
            let (s, at) = cache
                .version_state(&c.certificate_number, c.certificate_version)
                .map_or((VersionState::Current, None), |(s, at)| (s, Some(at)));
            let since = at
                .map(|at| format!("（{}）", format_time(at)))
                .unwrap_or_default();
            match s {
                VersionState::Current => {}
                VersionState::Superseded => reasons.push((
                    OfflineLevel::Caution,
                    format!(
                        "打印件为第 {} 版，证书已有更新的版本{since}，请联网查看最新资质",
                        c.certificate_version
                    ),
                )),
                VersionState::Suspended => reasons.push((
                    OfflineLevel::Invalid,
                    format!("证书所列资质已被暂扣{since}"),
                )),
                VersionState::Revoked => reasons.push((
                    OfflineLevel::Invalid,
                    format!("证书所列资质已被撤销{since}"),
                )),
                VersionState::Cancelled => {
                    reasons.push((OfflineLevel::Invalid, format!("证书所列资质已注销{since}")))
                }
                VersionState::Expired => {
                    reasons.push((OfflineLevel::Invalid, format!("证书已过有效期{since}")))
                }
            }
            if now - cache.as_of > STALE_AFTER {
                warnings.push(warn(
                    "status_stale",
                    format!("本机状态信息已超过 {} 天未更新", STALE_AFTER.num_days()),
                ));
                reasons.push((
                    OfflineLevel::Caution,
                    format!(
                        "本机状态信息已超过 {} 天未更新，请联网核验",
                        STALE_AFTER.num_days()
                    ),
                ));
            }
            state = Some(s);
        }
    }

    let level = reasons
        .iter()
        .map(|(l, _)| *l)
        .max()
        .unwrap_or(OfflineLevel::Valid);
    let mut message = if level == OfflineLevel::Valid {
        match &c.usage {
            Some(u) => format!(
                "证书真实，资质有效。本使用件仅用于：{}，使用期限 {} 至 {}",
                u.purpose, u.from, u.to
            ),
            None => "证书真实，资质有效".into(),
        }
    } else {
        reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        reasons
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("；")
    };
    let status_as_of = usable.map(|cache| cache.as_of);
    if let Some(as_of) = status_as_of {
        message.push_str(&format!(
            "。{}（离线结果，联网可查看实时状态）",
            status_as_of_text(as_of)
        ));
    }
    OfflineVerdict {
        level,
        title: level.title().to_owned(),
        message,
        status_as_of,
        state,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::snapshot::{StatusSnapshot, VersionEntry};
    use crate::{Claims, IssuerKey, KeyId, TrustList, TrustedKey, UsageTerms, verify_bytes};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 1, 6, 3, 0).unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn verified(claims: &Claims) -> Verified {
        let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
        let trust = TrustList::new(
            vec![TrustedKey::for_key(
                &key,
                "上海市住房和城乡建设管理委员会",
                d("2020-01-01"),
                None,
            )],
            now(),
        );
        verify_bytes(claims.sign(&key).as_bytes(), &trust, now()).unwrap()
    }

    /// A usage copy of D231000037 version 3, issued 2026-01-10, usable 2026-01-10 .. 03-31.
    fn usage() -> Verified {
        verified(&Claims::example_usage())
    }

    fn cache(withdrawn: Vec<u64>, versions: Vec<(u32, VersionState)>) -> StatusCache {
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

    fn codes(v: &OfflineVerdict) -> Vec<&str> {
        v.warnings.iter().map(|w| w.code.as_str()).collect()
    }

    #[test]
    fn without_a_cache_a_genuine_copy_is_a_caution_with_unknown_status() {
        let v = judge_offline(&usage(), None, now());
        assert_eq!(v.level, OfflineLevel::Caution);
        assert_eq!(v.title, "注意");
        assert_eq!(v.message, "签名真实；状态未知，请联网核验");
        assert_eq!((v.status_as_of, v.state), (None, None));
        assert_eq!(codes(&v), ["status_unknown"]);
    }

    #[test]
    fn with_a_fresh_cache_a_current_copy_is_valid_and_dated() {
        let v = judge_offline(&usage(), Some(&cache(vec![], vec![])), now());
        assert_eq!(v.level, OfflineLevel::Valid);
        assert_eq!(v.title, "真实有效");
        assert!(v.message.contains("本使用件仅用于："), "{}", v.message);
        // 06:03 UTC is 14:03 in Shanghai.
        assert!(
            v.message.contains("状态截至 2026-02-01 14:03"),
            "{}",
            v.message
        );
        assert_eq!(v.status_as_of, Some(now()));
        assert_eq!(v.state, Some(VersionState::Current));
        assert!(v.warnings.is_empty());
    }

    #[test]
    fn each_cached_state_gives_the_servers_level() {
        for (state, level, words) in [
            (
                VersionState::Superseded,
                OfflineLevel::Caution,
                "更新的版本",
            ),
            (VersionState::Suspended, OfflineLevel::Invalid, "暂扣"),
            (VersionState::Revoked, OfflineLevel::Invalid, "撤销"),
            (VersionState::Cancelled, OfflineLevel::Invalid, "注销"),
            (VersionState::Expired, OfflineLevel::Invalid, "有效期"),
        ] {
            let v = judge_offline(&usage(), Some(&cache(vec![], vec![(3, state)])), now());
            assert_eq!((v.level, v.state), (level, Some(state)), "{state:?}");
            assert_eq!(v.title, level.title());
            assert!(v.message.contains(words), "{state:?}: {}", v.message);
            assert!(v.message.contains("状态截至"), "{}", v.message);
        }
        // Another version's state does not concern this copy.
        let v = judge_offline(
            &usage(),
            Some(&cache(vec![], vec![(2, VersionState::Revoked)])),
            now(),
        );
        assert_eq!(v.level, OfflineLevel::Valid);
    }

    #[test]
    fn withdrawn_copy_is_invalid_and_read_first() {
        let approval = verified(&Claims {
            copy_id: 77,
            ..Claims::example_approval()
        });
        let v = judge_offline(&approval, Some(&cache(vec![77], vec![])), now());
        assert_eq!(v.level, OfflineLevel::Invalid);
        assert_eq!(
            codes(&v),
            ["approval_copy_not_for_business", "copy_withdrawn"]
        );
        assert!(
            v.message.starts_with("该证书件已被企业撤回"),
            "{}",
            v.message
        );
        assert!(v.message.contains("批准件"), "{}", v.message);
    }

    #[test]
    fn usage_period_rules_match_the_server() {
        let with_period = |from: &str, to: &str| {
            verified(&Claims {
                usage: Some(UsageTerms::new("道路改建工程投标", d(from), d(to)).unwrap()),
                ..Claims::example_usage()
            })
        };
        let c = cache(vec![], vec![]);
        let ended = judge_offline(&with_period("2026-01-01", "2026-01-31"), Some(&c), now());
        assert_eq!(ended.level, OfflineLevel::Invalid);
        assert_eq!(codes(&ended), ["usage_period_ended"]);
        let last_day = judge_offline(&with_period("2026-01-01", "2026-02-01"), Some(&c), now());
        assert_eq!(last_day.level, OfflineLevel::Valid);
        let later = judge_offline(&with_period("2026-02-02", "2026-03-01"), Some(&c), now());
        assert_eq!(later.level, OfflineLevel::Caution);
        assert_eq!(codes(&later), ["usage_period_not_started"]);
        // The copy's own facts hold without any cache, too.
        let ended = judge_offline(&with_period("2026-01-01", "2026-01-31"), None, now());
        assert_eq!(ended.level, OfflineLevel::Invalid);
        assert!(ended.message.contains("状态未知"), "{}", ended.message);
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
        let v = judge_offline(&usage(), Some(&old), now());
        assert_eq!(v.level, OfflineLevel::Caution);
        assert!(v.message.contains("状态未知"), "{}", v.message);
        assert_eq!(v.status_as_of, None);
        assert_eq!(codes(&v), ["status_unknown"]);
    }

    #[test]
    fn a_stale_cache_turns_valid_into_caution() {
        let c = cache(vec![], vec![]);
        let v = judge_offline(&usage(), Some(&c), now() + STALE_AFTER);
        assert_eq!(
            v.level,
            OfflineLevel::Valid,
            "exactly 7 days is not stale yet"
        );
        let v = judge_offline(
            &usage(),
            Some(&c),
            now() + STALE_AFTER + Duration::minutes(1),
        );
        assert_eq!(v.level, OfflineLevel::Caution);
        assert_eq!(codes(&v), ["status_stale"]);
        assert!(v.message.contains("状态截至"), "{}", v.message);
    }

    #[test]
    fn rejected_codes_are_invalid_and_format_errors_are_not_verdicts() {
        for err in [
            PayloadError::BadSignature,
            PayloadError::UnknownKeyId("XX99".into()),
            PayloadError::KeyOutsideValidity,
        ] {
            let v = rejected_offline(&err).unwrap();
            assert_eq!(v.level, OfflineLevel::Invalid);
            assert_eq!(v.title, "无效或已失效");
            assert_eq!(codes(&v), [err.code()]);
        }
        assert_eq!(rejected_offline(&PayloadError::WrongPrefix), None);
    }

    #[test]
    fn verdict_json_uses_snake_case_levels_and_states() {
        let v = judge_offline(
            &usage(),
            Some(&cache(vec![], vec![(3, VersionState::Revoked)])),
            now(),
        );
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["level"], "invalid");
        assert_eq!(j["state"], "revoked");
        assert_eq!(j["title"], "无效或已失效");
        assert_eq!(serde_json::from_value::<OfflineVerdict>(j).unwrap(), v);
    }
}
