//! One scan from text to what the 结果 screen shows: the offline judgement first, then the
//! server's live answer, and which of them wins.
//!
//! - The signature is checked on the device against the cached trust list. A code whose
//!   signature fails is shown as invalid at once (the web UI does not wait for the server),
//!   and no answer from a server lifts that: the device cannot check the server's answer,
//!   and a server that says "genuine" to a forged code is lying or is not ours. A server that
//!   agrees the code is invalid is shown, for what more it says.
//! - A signature by a key the device does not know may only be behind: the caller re-syncs
//!   the trust list (signed by the pinned root) and checks again; only if the key is then
//!   known does the check count as passed.
//! - When the signature passed, the server's answer (live status, 资质详情, whether the
//!   register issued the copy) replaces the offline one whenever it comes.
//! - When the server cannot be reached, the offline answer stands, said to be offline and
//!   dated ("状态截至 …").

use chrono::{DateTime, Utc};
use zizhi_shared::verdict::{Level, StatusFacts, Verdict, judge};
use zizhi_shared::{PayloadError, StatusCache, TrustList};

use crate::format::LocalOffset;
use crate::view::{ApiError, ResultView};

/// The offline half of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offline {
    /// No trust list on the device yet: only the server can say anything.
    NoTrustList,
    /// Not a certificate code the device can read (damaged, foreign): no verdict.
    Unreadable(PayloadError),
    /// The signature failed; `unknown_key` when the key is not in the device's trust list
    /// (which may only be behind).
    Rejected { view: ResultView, unknown_key: bool },
    /// The signature is genuine; the status is judged from the snapshot cache.
    Genuine(ResultView),
}

impl Offline {
    pub fn check(
        text: &str,
        trust: Option<&TrustList>,
        cache: Option<&StatusCache>,
        now: DateTime<Utc>,
        offset: LocalOffset,
    ) -> Offline {
        let Some(trust) = trust else {
            return Offline::NoTrustList;
        };
        match zizhi_shared::verify_text(text, trust, now) {
            Ok(v) => {
                let o = judge(&v, StatusFacts::from_cache(cache, &v.claims, now), now);
                Offline::Genuine(ResultView::offline(text, &o, offset))
            }
            Err(e) => match Verdict::rejected_by_device(&e, now) {
                Some(o) => Offline::Rejected {
                    view: ResultView::offline(text, &o, offset),
                    unknown_key: matches!(e, PayloadError::UnknownKeyId(_)),
                },
                None => Offline::Unreadable(e),
            },
        }
    }

    /// Whether the provisional view should be shown at once instead of after a short wait
    /// for the server: a failed signature is a verdict that no live status can soften.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Offline::Rejected { .. })
    }

    /// The view to show while the server has not answered yet, if any.
    pub fn provisional(&self) -> Option<&ResultView> {
        match self {
            Offline::Genuine(v) | Offline::Rejected { view: v, .. } => Some(v),
            _ => None,
        }
    }
}

/// Why the server gave no verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineFailure {
    /// Not reachable (no network, refused, timed out, CORS): the reason as the browser says.
    Network(String),
    /// An HTTP status other than 200, with the body.
    Status(u16, String),
}

/// What the 结果 screen ends up showing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    View(Box<ResultView>),
    /// No verdict at all: a title and what to do.
    Message {
        title: String,
        message: String,
    },
}

/// Shown over the device's rejection when a server calls the code genuine.
pub const SERVER_CONTRADICTS_SIGNATURE: &str = "服务器称该证书件有效，但本机签名核验未通过，以本机结果为准：请勿采信该证书件，并核对“设置”中的服务器地址";

/// Combines the offline judgement with the server's response (`Ok(body)` for HTTP 200).
pub fn decide(
    text: &str,
    offline: Offline,
    online: Option<Result<String, OnlineFailure>>,
    offset: LocalOffset,
) -> Shown {
    let failure = match online {
        None => None,
        Some(Ok(body)) => match serde_json::from_str::<Verdict>(&body) {
            Ok(v) => {
                return match offline {
                    // The server agrees the code is invalid: its answer may say more (and
                    // never less) than the device's.
                    Offline::Rejected { .. } if v.summary.level == Level::Invalid => {
                        Shown::View(Box::new(ResultView::live(text, &v, offset)))
                    }
                    Offline::Rejected { view, .. } => {
                        Shown::View(Box::new(view.with_notice(SERVER_CONTRADICTS_SIGNATURE)))
                    }
                    Offline::NoTrustList => Shown::View(Box::new(
                        ResultView::live(text, &v, offset).with_notice(
                            "本机尚未同步信任列表，签名由服务器核验；请联网后在“设置”中点“立即同步”",
                        ),
                    )),
                    Offline::Genuine(_) | Offline::Unreadable(_) => {
                        Shown::View(Box::new(ResultView::live(text, &v, offset)))
                    }
                };
            }
            Err(e) => Some(format!("服务器应答格式错误：{e}")),
        },
        Some(Err(OnlineFailure::Status(status, body))) => {
            let api = serde_json::from_str::<ApiError>(&body).ok();
            match api {
                // The server read the text and refused it as a code (damaged, foreign):
                // that is an answer about the code, not an outage.
                Some(api) if (400..500).contains(&status) && status != 429 => {
                    if let Some(v) = offline.provisional() {
                        return Shown::View(Box::new(v.clone().with_notice(format!(
                            "服务器未能核验（{}），以下为本机离线核验结果",
                            api.message
                        ))));
                    }
                    return Shown::Message {
                        title: "无法核验".into(),
                        message: api.message,
                    };
                }
                Some(api) => Some(format!("服务器暂不可用：{}", api.message)),
                None => Some(format!("服务器暂不可用（HTTP {status}）")),
            }
        }
        Some(Err(OnlineFailure::Network(why))) => Some(format!("无法连接服务器（{why}）")),
    };
    match offline {
        Offline::Genuine(v) | Offline::Rejected { view: v, .. } => {
            Shown::View(Box::new(match failure {
                Some(f) => v.with_notice(format!("{f}，以下为本机离线核验结果")),
                None => v,
            }))
        }
        Offline::NoTrustList => Shown::Message {
            title: "无法核验".into(),
            message: format!(
                "本机尚未同步信任列表，且{}。请联网后在“设置”中点“立即同步”，再重新扫码。",
                failure.unwrap_or_else(|| "未能联网核验".into())
            ),
        },
        Offline::Unreadable(e) => Shown::Message {
            title: "二维码无法识读".into(),
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use zizhi_shared::{Claims, IssuerKey, KeyId, QrText, StatusSnapshot, TrustedKey};

    use super::*;

    use crate::view::Source;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 1, 6, 0, 0).unwrap()
    }

    fn key() -> IssuerKey {
        IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32])
    }

    fn trust() -> TrustList {
        let from = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        TrustList::new(
            vec![TrustedKey::for_key(&key(), "发证机关", from, None)],
            now(),
        )
    }

    fn code(signer: &IssuerKey) -> String {
        QrText::encode("ZZ.EXAMPLE.CN", &Claims::example_usage().sign(signer))
    }

    fn cache() -> StatusCache {
        StatusCache::from_full(StatusSnapshot::new(now(), 0, 3, vec![], vec![])).unwrap()
    }

    fn offline(text: &str) -> Offline {
        Offline::check(text, Some(&trust()), Some(&cache()), now(), LocalOffset(0))
    }

    fn view(s: Shown) -> ResultView {
        match s {
            Shown::View(v) => *v,
            other => panic!("expected a view, got {other:?}"),
        }
    }

    #[test]
    fn a_genuine_code_with_no_server_shows_the_dated_offline_verdict() {
        let text = code(&key());
        let o = offline(&text);
        assert!(!o.is_rejection());
        let v = view(decide(
            &text,
            o,
            Some(Err(OnlineFailure::Network("Failed to fetch".into()))),
            LocalOffset(0),
        ));
        assert_eq!(v.source, Source::Offline);
        assert_eq!(v.level, Level::Valid);
        assert_eq!(v.status_as_of.as_deref(), Some("状态截至 2026-02-01 06:00"));
        assert!(
            v.notice
                .unwrap()
                .starts_with("无法连接服务器（Failed to fetch）")
        );
    }

    #[test]
    fn a_forged_signature_is_invalid_at_once_and_stays_so_offline() {
        let forger = IssuerKey::from_seed(KeyId::new(*b"SH01"), [8; 32]);
        let text = code(&forger);
        let o = offline(&text);
        assert!(o.is_rejection());
        assert_eq!(o.provisional().unwrap().level, Level::Invalid);
        let v = view(decide(
            &text,
            o,
            Some(Err(OnlineFailure::Network("超时".into()))),
            LocalOffset(0),
        ));
        assert_eq!((v.level, v.source), (Level::Invalid, Source::Offline));
        assert!(v.message.contains("签名无效"), "{}", v.message);
        assert!(v.claims.is_empty(), "nothing a forged code says is shown");
    }

    #[test]
    fn an_unknown_key_is_invalid_offline_and_known_as_such() {
        let stranger = IssuerKey::from_seed(KeyId::new(*b"XX99"), [8; 32]);
        let o = offline(&code(&stranger));
        assert!(matches!(
            o,
            Offline::Rejected {
                unknown_key: true,
                ..
            }
        ));
        assert_eq!(o.provisional().unwrap().level, Level::Invalid);
    }

    #[test]
    fn the_servers_answer_replaces_the_offline_one() {
        let text = code(&key());
        let body = serde_json::json!({
            "signature": "valid", "key_id": "SH01", "issuer": "发证机关",
            "claims": Claims::example_usage(), "certificate_state": "revoked",
            "current_certificate": null, "qualifications": [], "changes_since_printed": [],
            "warnings": [], "checked_at": "2026-02-01T06:00:00Z",
            "summary": {"level": "invalid", "title": "无效或已失效", "message": "该证书资质已被撤销"}
        })
        .to_string();
        let v = view(decide(
            &text,
            offline(&text),
            Some(Ok(body)),
            LocalOffset(0),
        ));
        assert_eq!((v.level, v.source), (Level::Invalid, Source::Live));
        assert_eq!(v.status_as_of, None);
        assert_eq!(v.notice, None);
    }

    fn genuine_answer() -> String {
        serde_json::json!({
            "signature": "valid", "key_id": "SH01", "issuer": "发证机关",
            "claims": Claims::example_usage(), "certificate_state": "current",
            "current_certificate": null, "qualifications": [], "changes_since_printed": [],
            "warnings": [], "checked_at": "2026-02-01T06:00:00Z",
            "summary": {"level": "valid", "title": "真实有效", "message": "证书真实有效"}
        })
        .to_string()
    }

    #[test]
    fn a_lying_server_cannot_upgrade_a_forged_signature() {
        let forger = IssuerKey::from_seed(KeyId::new(*b"SH01"), [8; 32]);
        let text = code(&forger);
        let v = view(decide(
            &text,
            offline(&text),
            Some(Ok(genuine_answer())),
            LocalOffset(0),
        ));
        assert_eq!((v.level, v.source), (Level::Invalid, Source::Offline));
        assert_eq!(v.notice.as_deref(), Some(SERVER_CONTRADICTS_SIGNATURE));
        assert!(v.claims.is_empty(), "nothing a forged code says is shown");
    }

    #[test]
    fn an_unknown_key_stays_invalid_whatever_the_server_says() {
        // The caller re-syncs first; a key still unknown after that is a rejection that no
        // server answer lifts.
        let stranger = IssuerKey::from_seed(KeyId::new(*b"XX99"), [8; 32]);
        let text = code(&stranger);
        let v = view(decide(
            &text,
            offline(&text),
            Some(Ok(genuine_answer())),
            LocalOffset(0),
        ));
        assert_eq!((v.level, v.source), (Level::Invalid, Source::Offline));
    }

    #[test]
    fn no_trust_list_and_no_server_says_so() {
        let text = code(&key());
        let o = Offline::check(&text, None, None, now(), LocalOffset(0));
        let Shown::Message { title, message } = decide(
            &text,
            o,
            Some(Err(OnlineFailure::Network("超时".into()))),
            LocalOffset(0),
        ) else {
            panic!("expected a message")
        };
        assert_eq!(title, "无法核验");
        assert!(message.contains("尚未同步信任列表") && message.contains("无法连接服务器"));
    }

    #[test]
    fn a_server_error_falls_back_to_offline_and_a_refusal_of_the_code_is_shown() {
        let text = code(&key());
        let v = view(decide(
            &text,
            offline(&text),
            Some(Err(OnlineFailure::Status(503, "busy".into()))),
            LocalOffset(0),
        ));
        assert_eq!(v.source, Source::Offline);
        assert!(v.notice.unwrap().contains("HTTP 503"));

        let o = Offline::check("HTTPS://X/V/AAAA", None, None, now(), LocalOffset(0));
        let body = r#"{"error":"truncated","message":"证书验证码不完整（数据被截断）"}"#;
        let shown = decide(
            "HTTPS://X/V/AAAA",
            o,
            Some(Err(OnlineFailure::Status(400, body.into()))),
            LocalOffset(0),
        );
        assert_eq!(
            shown,
            Shown::Message {
                title: "无法核验".into(),
                message: "证书验证码不完整（数据被截断）".into()
            }
        );
    }

    #[test]
    fn a_damaged_code_is_unreadable_offline() {
        let o = offline("HTTPS://ZZ.EXAMPLE.CN/V/AAAA");
        assert!(matches!(o, Offline::Unreadable(_)), "{o:?}");
        let Shown::Message { title, .. } = decide("x", o, None, LocalOffset(0)) else {
            panic!()
        };
        assert_eq!(title, "二维码无法识读");
    }
}
