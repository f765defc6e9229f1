//! Keeping the device's trust material: the pinned root key, the signed trust list, the
//! server address. The network calls live in `web::platform`; what is accepted, and why, is here.
//!
//! Trust is pinned on first start: the server that serves the app writes its root key into
//! `index.html` (`<meta name="zizhi-root-key">`, `<meta name="zizhi-root-kid">`); the app
//! stores it and from then on opens only trust lists and status snapshots signed by that key,
//! whatever a later page or another server says.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use zizhi_shared::{SignedTrustList, TrustList};

/// The root key this device trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootPin {
    pub kid: String,
    /// Ed25519 public key, 64 hex digits.
    pub key_hex: String,
}

impl RootPin {
    /// From the two meta tags; `None` when either is missing or the key is not a usable
    /// Ed25519 public key (a page served without the server's injection).
    pub fn from_meta(key_hex: Option<&str>, kid: Option<&str>) -> Option<RootPin> {
        let pin = RootPin {
            kid: kid?.trim().to_owned(),
            key_hex: key_hex?.trim().to_ascii_lowercase(),
        };
        (!pin.kid.is_empty() && pin.verifying_key().is_some()).then_some(pin)
    }

    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        let bytes: [u8; 32] = hex::decode(&self.key_hex).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok()
    }
}

/// What the device trusts after looking at its store and the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinState {
    /// Pinned before; the page agrees (or says nothing).
    Pinned(RootPin),
    /// Pinned just now, from the page (first start).
    New(RootPin),
    /// Pinned before, and the page names another root key: the stored pin stays in force.
    Mismatch { pinned: RootPin, page: RootPin },
    /// Nothing stored and the page carries no key (not served by a zizhi server).
    Missing,
}

impl PinState {
    pub fn decide(stored: Option<RootPin>, page: Option<RootPin>) -> PinState {
        match (stored, page) {
            (Some(s), Some(p)) if s != p => PinState::Mismatch { pinned: s, page: p },
            (Some(s), _) => PinState::Pinned(s),
            (None, Some(p)) => PinState::New(p),
            (None, None) => PinState::Missing,
        }
    }

    /// The key in force.
    pub fn pin(&self) -> Option<&RootPin> {
        match self {
            PinState::Pinned(p) | PinState::New(p) => Some(p),
            PinState::Mismatch { pinned, .. } => Some(pinned),
            PinState::Missing => None,
        }
    }
}

/// Why a sync step failed; `Display` is the text after 同步失败：.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error("本机没有固定的根密钥（请从核验服务器打开本应用）")]
    NoPin,
    #[error("无法连接服务器（{0}）")]
    Network(String),
    #[error("服务器返回 HTTP {0}")]
    Http(u16),
    #[error("服务器应答格式错误（{0}）")]
    BadResponse(String),
    #[error("根密钥不符：服务器使用 {server}，本机固定的是 {pinned}")]
    WrongRoot { server: String, pinned: String },
    #[error("签名核验失败：{0}")]
    BadSignature(String),
    #[error(
        "服务器提供的信任列表（签发于 {offered}）早于本机已有的（签发于 {held}），未予采用，仍使用本机的信任列表"
    )]
    OlderTrustList { held: String, offered: String },
    #[error("{0}")]
    Snapshot(String),
}

impl SyncError {
    /// Stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::NoPin => "no_pin",
            SyncError::Network(_) => "network",
            SyncError::Http(_) => "http_status",
            SyncError::BadResponse(_) => "bad_response",
            SyncError::WrongRoot { .. } => "wrong_root",
            SyncError::BadSignature(_) => "bad_signature",
            SyncError::OlderTrustList { .. } => "trust_list_older",
            SyncError::Snapshot(_) => "snapshot",
        }
    }
}

/// The fields of `/.well-known/zizhi/trust-list` (and of the snapshot endpoint) the app
/// uses; the decoded copies next to `signed` are ignored, only the signature counts.
#[derive(Debug, Clone, Deserialize)]
pub struct Published {
    pub root_kid: String,
    /// base64 of the COSE_Sign1.
    pub signed: String,
}

impl Published {
    pub fn parse(json: &str) -> Result<Published, SyncError> {
        serde_json::from_str(json).map_err(|e| SyncError::BadResponse(e.to_string()))
    }

    /// The signed bytes, after checking the root kid names the pinned key.
    pub fn signed_bytes(&self, pin: &RootPin) -> Result<Vec<u8>, SyncError> {
        if self.root_kid != pin.kid {
            return Err(SyncError::WrongRoot {
                server: self.root_kid.clone(),
                pinned: pin.kid.clone(),
            });
        }
        B64.decode(self.signed.trim())
            .map_err(|_| SyncError::BadResponse("signed 不是 base64".into()))
    }
}

/// The trust list as stored on the device: the signed bytes, reopened with the pin on every
/// start, and when it was fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTrustList {
    pub signed_b64: String,
    pub synced_at: DateTime<Utc>,
}

impl StoredTrustList {
    pub fn open(&self, pin: &RootPin) -> Result<TrustList, SyncError> {
        let bytes = B64
            .decode(&self.signed_b64)
            .map_err(|_| SyncError::BadResponse("本机信任列表已损坏".into()))?;
        open_trust_list(bytes, pin)
    }
}

pub fn open_trust_list(bytes: Vec<u8>, pin: &RootPin) -> Result<TrustList, SyncError> {
    let vk = pin.verifying_key().ok_or(SyncError::NoPin)?;
    SignedTrustList::from_bytes(bytes)
        .open(&vk)
        .map_err(|e| SyncError::BadSignature(e.to_string()))
}

/// A fetched trust-list response checked against the pin, ready to store. A list older than
/// the one `held` is refused: replaying an old list would bring back retired keys.
pub fn accept_trust_list(
    json: &str,
    pin: &RootPin,
    held: Option<&TrustList>,
    now: DateTime<Utc>,
) -> Result<(TrustList, StoredTrustList), SyncError> {
    let published = Published::parse(json)?;
    let bytes = published.signed_bytes(pin)?;
    let stored = StoredTrustList {
        signed_b64: B64.encode(&bytes),
        synced_at: now,
    };
    let list = open_trust_list(bytes, pin)?;
    if let Some(held) = held
        && list.issued_at < held.issued_at
    {
        return Err(SyncError::OlderTrustList {
            held: zizhi_shared::time::beijing_minute(held.issued_at),
            offered: zizhi_shared::time::beijing_minute(list.issued_at),
        });
    }
    Ok((list, stored))
}

/// 设置: where the server is. Empty means the origin that served the app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub server_url: String,
}

impl Settings {
    /// The base URL requests go to, without a trailing slash.
    pub fn base(&self, origin: &str) -> String {
        let s = self.server_url.trim();
        let s = if s.is_empty() { origin } else { s };
        s.trim_end_matches('/').to_owned()
    }

    /// Normalises what the inspector typed: trimmed, no trailing slash, `https://` added when
    /// left out. Plain `http://` only for loopback addresses (a server on the same device):
    /// anywhere else whoever sits on the network could answer in the server's name. `Err`
    /// with the reason when it cannot be a server address.
    pub fn normalise_url(input: &str) -> Result<String, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(String::new());
        }
        let (scheme, rest) = match s.find("://") {
            Some(at) => (s[..at].to_ascii_lowercase(), &s[at + 3..]),
            None => {
                let scheme = if is_loopback(s) { "http" } else { "https" };
                (scheme.to_owned(), s)
            }
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
            return Err("服务器地址无效");
        }
        match scheme.as_str() {
            "https" => {}
            "http" if is_loopback(rest) => {}
            "http" => return Err("核验服务器必须使用 https:// 地址（http:// 仅限本机地址）"),
            _ => return Err("只支持 https:// 地址"),
        }
        Ok(format!("{scheme}://{rest}"))
    }
}

/// Whether `authority` (host, optional port and path) names this device: 127.0.0.0/8,
/// `localhost` or `[::1]`.
fn is_loopback(authority: &str) -> bool {
    let host = authority.split('/').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use zizhi_shared::{IssuerKey, KeyId, TrustedKey};

    use super::*;

    fn root() -> IssuerKey {
        IssuerKey::from_seed(KeyId::new(*b"RT01"), [9; 32])
    }

    fn pin_of(k: &IssuerKey) -> RootPin {
        RootPin {
            kid: k.kid().to_string(),
            key_hex: hex::encode(k.public_key_bytes()),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 6, 3, 0).unwrap()
    }

    fn published(signer: &IssuerKey) -> String {
        let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
        let from = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let list = TrustList::new(
            vec![TrustedKey::for_key(&key, "发证机关", from, None)],
            now(),
        );
        serde_json::json!({
            "root_kid": "RT01",
            "signed": B64.encode(list.sign(signer).as_bytes()),
            "issued_at": "2026-11-25T06:03:00Z",
            "keys": []
        })
        .to_string()
    }

    #[test]
    fn the_page_pins_the_root_key_on_first_start_only() {
        let a = pin_of(&root());
        let b = pin_of(&IssuerKey::from_seed(KeyId::new(*b"RT01"), [3; 32]));
        assert_eq!(
            PinState::decide(None, Some(a.clone())),
            PinState::New(a.clone())
        );
        assert_eq!(
            PinState::decide(Some(a.clone()), Some(a.clone())),
            PinState::Pinned(a.clone())
        );
        assert_eq!(
            PinState::decide(Some(a.clone()), None),
            PinState::Pinned(a.clone())
        );
        let m = PinState::decide(Some(a.clone()), Some(b.clone()));
        assert_eq!(m.pin(), Some(&a), "a page cannot replace the pinned key");
        assert!(matches!(m, PinState::Mismatch { .. }));
        assert_eq!(PinState::decide(None, None).pin(), None);
    }

    #[test]
    fn meta_tags_must_hold_a_real_key_and_a_kid() {
        let hexkey = hex::encode(root().public_key_bytes());
        assert!(RootPin::from_meta(Some(&hexkey.to_uppercase()), Some("RT01")).is_some());
        assert_eq!(RootPin::from_meta(Some(&hexkey), None), None);
        assert_eq!(RootPin::from_meta(Some("abcd"), Some("RT01")), None);
        assert_eq!(RootPin::from_meta(Some(&hexkey), Some(" ")), None);
    }

    #[test]
    fn a_trust_list_signed_by_the_pinned_root_is_accepted_and_reopens_from_store() {
        let pin = pin_of(&root());
        let (list, stored) = accept_trust_list(&published(&root()), &pin, None, now()).unwrap();
        assert_eq!(list.keys.len(), 1);
        assert_eq!(stored.synced_at, now());
        assert_eq!(stored.open(&pin).unwrap(), list);
    }

    #[test]
    fn a_trust_list_signed_by_another_root_is_refused() {
        let pin = pin_of(&root());
        let impostor = IssuerKey::from_seed(KeyId::new(*b"RT01"), [4; 32]);
        let err = accept_trust_list(&published(&impostor), &pin, None, now()).unwrap_err();
        assert_eq!(err.code(), "bad_signature");
        let other_kid = RootPin {
            kid: "RT02".into(),
            ..pin
        };
        let err = accept_trust_list(&published(&root()), &other_kid, None, now()).unwrap_err();
        assert_eq!(err.code(), "wrong_root");
        assert_eq!(
            accept_trust_list("<html>", &pin_of(&root()), None, now())
                .unwrap_err()
                .code(),
            "bad_response"
        );
    }

    #[test]
    fn an_older_trust_list_is_refused_and_the_held_one_stays() {
        let pin = pin_of(&root());
        let (held, _) = accept_trust_list(&published(&root()), &pin, None, now()).unwrap();
        let newer = TrustList {
            issued_at: held.issued_at + chrono::Duration::days(1),
            ..held.clone()
        };
        let err = accept_trust_list(&published(&root()), &pin, Some(&newer), now()).unwrap_err();
        assert_eq!(err.code(), "trust_list_older");
        assert!(err.to_string().contains("未予采用"), "{err}");
        // The same list again is fine (a re-sync), and so is a newer one.
        assert!(accept_trust_list(&published(&root()), &pin, Some(&held), now()).is_ok());
    }

    #[test]
    fn server_address_defaults_to_the_origin_and_is_normalised() {
        let s = Settings::default();
        assert_eq!(s.base("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        let s = Settings {
            server_url: "https://zizhi.example.cn/".into(),
        };
        assert_eq!(s.base("http://x"), "https://zizhi.example.cn");
        assert_eq!(
            Settings::normalise_url(" zizhi.example.cn/ "),
            Ok("https://zizhi.example.cn".into())
        );
        assert_eq!(
            Settings::normalise_url("127.0.0.1:8080"),
            Ok("http://127.0.0.1:8080".into())
        );
        assert_eq!(
            Settings::normalise_url("HTTPS://a.b"),
            Ok("https://a.b".into())
        );
        // A forger's "verification server" over plain HTTP is refused; loopback is not.
        assert!(Settings::normalise_url("http://zizhi.example.cn").is_err());
        assert!(Settings::normalise_url("HTTP://a.b").is_err());
        assert!(Settings::normalise_url("http://127.0.0.1.evil.cn").is_err());
        for local in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
        ] {
            assert_eq!(Settings::normalise_url(local), Ok(local.into()));
        }
        assert_eq!(Settings::normalise_url(""), Ok(String::new()));
        assert!(Settings::normalise_url("ftp://a.b").is_err());
        assert!(Settings::normalise_url("https://").is_err());
    }
}
