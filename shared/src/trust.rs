//! The trust list: which online keys a verifier accepts, for what, and for which dates.
//!
//! A [`SignedTrustList`] is signed by the root key (根密钥), whose private half is kept
//! offline: an operator signs a list ahead of time with `zizhi trust sign`, valid until a
//! stated date, and the servers only publish it. The app pins the root's public half and
//! caches the signed bytes. Each listed key has one [`KeyRole`]: copy-signing keys sign the
//! QR payloads of certificate copies, a snapshot-signing key signs status snapshots; neither
//! can stand in for the other, and neither can sign a trust list. Rotating a key means
//! listing the new key (from a future date) and closing the old key's window (`valid_to`);
//! copies signed by the old key keep verifying while it stays listed.
//!
//! # Wire form
//!
//! An untagged COSE_Sign1 like a payload's, with protected header
//! `{1: -19 (Ed25519), 3: "application/zizhi-trust-list+cbor", 4: root kid}` (-8, EdDSA,
//! is read too; the content type keeps a trust list from ever being taken for something else
//! the root signs), and as payload the canonical CBOR map
//!
//! | key | field | CBOR |
//! |----:|-------|------|
//! | 1 | issued at | uint, seconds since 1970-01-01T00:00Z; a device accepts only newer lists |
//! | 2 | keys | array of key maps |
//! | 3 | expires at | uint, seconds; after it, devices warn that the list must be renewed |
//!
//! where each key map is
//!
//! | key | field | CBOR |
//! |----:|-------|------|
//! | 1 | kid | bstr (4), ASCII letters or digits |
//! | 2 | public key | bstr (32), Ed25519 |
//! | 3 | issuer | tstr (UTF-8) |
//! | 4 | valid from | uint, days since 1970-01-01 (UTC date, inclusive) |
//! | 5 | valid to | uint, days since 1970-01-01 (inclusive); absent if open-ended |
//! | 6 | role | uint: 1 signs certificate copies, 2 signs status snapshots |

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use ciborium::Value;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::cose::{self, fields};
use crate::keys::{IssuerKey, KeyId};
use crate::payload::PayloadError;

/// COSE content type of a signed trust list.
pub const TRUST_LIST_CONTENT_TYPE: &str = "application/zizhi-trust-list+cbor";

/// What a listed key may sign (密钥用途).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum KeyRole {
    /// Signs the QR payloads of certificate copies (证书件签发密钥).
    CopySigning,
    /// Signs status snapshots (状态快照签名密钥).
    SnapshotSigning,
}

impl KeyRole {
    fn wire_code(self) -> u64 {
        match self {
            KeyRole::CopySigning => 1,
            KeyRole::SnapshotSigning => 2,
        }
    }

    fn from_wire(code: u64) -> Option<KeyRole> {
        match code {
            1 => Some(KeyRole::CopySigning),
            2 => Some(KeyRole::SnapshotSigning),
            _ => None,
        }
    }

    /// The role in the words an operator reads.
    pub fn label(self) -> &'static str {
        match self {
            KeyRole::CopySigning => "证书件签发",
            KeyRole::SnapshotSigning => "状态快照签名",
        }
    }
}

/// How long a trust list stays in force when its signer states no date.
pub const DEFAULT_TRUST_LIST_VALIDITY: chrono::Duration = chrono::Duration::days(365);

/// Within this of its expiry, a device warns that its trust list must be renewed.
pub const TRUST_LIST_RENEWAL_WARNING: chrono::Duration = chrono::Duration::days(30);

/// One online key a verifier accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedKey {
    pub kid: KeyId,
    pub role: KeyRole,
    #[serde(with = "hex_key")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub public_key: [u8; 32],
    /// 发证机关, shown to the inspector as the signer.
    pub issuer: String,
    /// First UTC date on which the key may have signed a copy.
    pub valid_from: NaiveDate,
    /// Last UTC date on which the key may have signed a copy; `None` while it is current.
    pub valid_to: Option<NaiveDate>,
}

impl TrustedKey {
    /// A copy-signing key; see [`TrustedKey::with_role`] for the others.
    pub fn for_key(
        key: &IssuerKey,
        issuer: &str,
        valid_from: NaiveDate,
        valid_to: Option<NaiveDate>,
    ) -> TrustedKey {
        TrustedKey {
            kid: key.kid(),
            role: KeyRole::CopySigning,
            public_key: key.public_key_bytes(),
            issuer: issuer.to_owned(),
            valid_from,
            valid_to,
        }
    }

    pub fn with_role(self, role: KeyRole) -> TrustedKey {
        TrustedKey { role, ..self }
    }

    /// Whether a copy issued on this UTC date falls inside the key's window.
    pub fn covers(&self, date: NaiveDate) -> bool {
        date >= self.valid_from && self.valid_to.is_none_or(|to| date <= to)
    }

    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, PayloadError> {
        VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| PayloadError::TrustListInvalid(format!("密钥 {} 的公钥无效", self.kid)))
    }
}

/// A trust list with each key decompressed once ([`crate::verify_bytes_decompressed`]): a
/// server checks thousands of codes against the same few keys, and decompressing a key costs
/// a fifth of the signature check it serves.
#[derive(Debug, Clone)]
pub struct DecompressedTrustList {
    list: TrustList,
    /// `keys[i]` is `list.keys[i]` decompressed, or why it cannot be.
    keys: Vec<Result<VerifyingKey, PayloadError>>,
}

impl DecompressedTrustList {
    pub fn new(list: TrustList) -> DecompressedTrustList {
        let keys = list.keys.iter().map(TrustedKey::verifying_key).collect();
        DecompressedTrustList { list, keys }
    }

    pub fn list(&self) -> &TrustList {
        &self.list
    }

    /// The decompressed form of `list().keys[index]`.
    pub(crate) fn key(&self, index: usize) -> Result<VerifyingKey, PayloadError> {
        self.keys.get(index).cloned().unwrap_or_else(|| {
            Err(PayloadError::TrustListInvalid(format!(
                "信任列表没有第 {index} 个密钥"
            )))
        })
    }
}

/// The keys a verifier accepts, as of `issued_at`, stated until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    /// Kept to whole seconds, the precision of the signed form. Devices accept a list only
    /// if it is newer than the one they hold, so an old list cannot be replayed.
    pub issued_at: DateTime<Utc>,
    /// Until when the root vouches for the list; whole seconds.
    pub expires_at: DateTime<Utc>,
    pub keys: Vec<TrustedKey>,
}

impl TrustList {
    /// A list in force for [`DEFAULT_TRUST_LIST_VALIDITY`]; [`TrustList::expiring`] states
    /// another date.
    pub fn new(keys: Vec<TrustedKey>, issued_at: DateTime<Utc>) -> TrustList {
        let issued_at = issued_at.with_nanosecond(0).unwrap_or(issued_at);
        TrustList {
            issued_at,
            expires_at: issued_at + DEFAULT_TRUST_LIST_VALIDITY,
            keys,
        }
    }

    pub fn expiring(self, expires_at: DateTime<Utc>) -> TrustList {
        TrustList {
            expires_at: expires_at.with_nanosecond(0).unwrap_or(expires_at),
            ..self
        }
    }

    /// The key listed under `kid`, whatever its role.
    pub fn find(&self, kid: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.kid == *kid)
    }

    /// The key listed under `kid` for `role`; a key listed for another role is not found.
    pub fn find_for(&self, kid: &KeyId, role: KeyRole) -> Option<&TrustedKey> {
        self.position_for(kid, role).map(|i| &self.keys[i])
    }

    /// Where [`TrustList::find_for`]'s key is in `keys`.
    pub(crate) fn position_for(&self, kid: &KeyId, role: KeyRole) -> Option<usize> {
        self.keys
            .iter()
            .position(|k| k.kid == *kid)
            .filter(|&i| self.keys[i].role == role)
    }

    /// Whether the root's statement has run out (devices then warn; verification goes on
    /// with the keys listed, which the root vouched for when it signed).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Whether a device should warn that the list must be renewed soon.
    pub fn needs_renewal(&self, now: DateTime<Utc>) -> bool {
        now + TRUST_LIST_RENEWAL_WARNING >= self.expires_at
    }

    /// Signs the list with the root key. The list is not validated here; [`SignedTrustList::open`]
    /// refuses a list with duplicate kids, bad public keys or inverted windows.
    pub fn sign(&self, root: &IssuerKey) -> SignedTrustList {
        SignedTrustList(cose::seal(
            root,
            Some(TRUST_LIST_CONTENT_TYPE),
            &[],
            self.to_cbor(),
        ))
    }

    /// The canonical CBOR map (the COSE payload); see the module docs.
    pub fn to_cbor(&self) -> Vec<u8> {
        let uint = |n: u64| Value::Integer(n.into());
        let int = |n: i64| Value::Integer(n.into());
        let days = |d: NaiveDate| int((d - epoch_day()).num_days());
        let keys = self
            .keys
            .iter()
            .map(|k| {
                let mut m = vec![
                    (uint(1), Value::Bytes(k.kid.as_bytes().to_vec())),
                    (uint(2), Value::Bytes(k.public_key.to_vec())),
                    (uint(3), Value::Text(k.issuer.clone())),
                    (uint(4), days(k.valid_from)),
                ];
                if let Some(to) = k.valid_to {
                    m.push((uint(5), days(to)));
                }
                m.push((uint(6), uint(k.role.wire_code())));
                Value::Map(m)
            })
            .collect();
        let map = Value::Map(vec![
            (uint(1), int(self.issued_at.timestamp())),
            (uint(2), Value::Array(keys)),
            (uint(3), int(self.expires_at.timestamp())),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&map, &mut out)
            .expect("encoding a CBOR value into memory cannot fail");
        out
    }

    /// Decodes the canonical CBOR form and checks the list is usable.
    pub fn from_cbor(bytes: &[u8]) -> Result<TrustList, PayloadError> {
        let list = decode(bytes).map_err(PayloadError::TrustListInvalid)?;
        if list.to_cbor() != bytes {
            return Err(bad("不是规范编码"));
        }
        list.validate()?;
        Ok(list)
    }

    /// Duplicate kids would make the verdict depend on list order; a bad public key or an
    /// inverted window would fail every copy of that key with a misleading reason.
    pub fn validate(&self) -> Result<(), PayloadError> {
        if self.expires_at <= self.issued_at {
            return Err(bad("信任列表的到期时间不晚于签发时间"));
        }
        for (i, k) in self.keys.iter().enumerate() {
            if self.keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(bad(format!("密钥标识 {} 重复", k.kid)));
            }
            if k.issuer.trim().is_empty() {
                return Err(bad(format!("密钥 {} 缺少发证机关名称", k.kid)));
            }
            if k.valid_to.is_some_and(|to| to < k.valid_from) {
                return Err(bad(format!("密钥 {} 的有效期结束早于开始", k.kid)));
            }
            if k.verifying_key()?.is_weak() {
                return Err(bad(format!("密钥 {} 的公钥为弱密钥", k.kid)));
            }
        }
        Ok(())
    }
}

fn bad(reason: impl Into<String>) -> PayloadError {
    PayloadError::TrustListInvalid(reason.into())
}

fn epoch_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// A trust list signed by the root key, as published and cached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedTrustList(Vec<u8>);

impl SignedTrustList {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Wraps bytes without any check; [`SignedTrustList::open`] does the checking.
    pub fn from_bytes(bytes: Vec<u8>) -> SignedTrustList {
        SignedTrustList(bytes)
    }

    /// The root key id named in the envelope, read without verifying.
    pub fn root_kid(&self) -> Result<KeyId, PayloadError> {
        Ok(
            cose::open_signed_document(&self.0, TRUST_LIST_CONTENT_TYPE, None)
                .map_err(bad)?
                .kid,
        )
    }

    /// Verifies the root signature and returns the list. Every fault is `TrustListInvalid`.
    pub fn open(&self, root: &VerifyingKey) -> Result<TrustList, PayloadError> {
        let envelope = cose::open_signed_document(&self.0, TRUST_LIST_CONTENT_TYPE, Some(root))
            .map_err(bad)?;
        TrustList::from_cbor(envelope.payload())
    }
}

fn decode(bytes: &[u8]) -> Result<TrustList, String> {
    let value: Value =
        ciborium::de::from_reader(bytes).map_err(|e| format!("不是有效的 CBOR ({e})"))?;
    let mut top = fields(value, 3)?;
    let issued_at = top[1]
        .take()
        .and_then(as_i64)
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or("签发时间缺失或无效")?;
    let expires_at = top[3]
        .take()
        .and_then(as_i64)
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or("到期时间缺失或无效")?;
    let Some(Value::Array(items)) = top[2].take() else {
        return Err("缺少密钥数组".into());
    };
    let keys = items
        .into_iter()
        .map(|item| {
            let mut f = fields(item, 6)?;
            let kid = match f[1].take() {
                Some(Value::Bytes(b)) => KeyId::from_slice(&b),
                _ => None,
            }
            .ok_or("密钥标识应为 4 位字母或数字")?;
            let public_key = match f[2].take() {
                Some(Value::Bytes(b)) => <[u8; 32]>::try_from(b.as_slice()).ok(),
                _ => None,
            }
            .ok_or("公钥应为 32 字节")?;
            let issuer = match f[3].take() {
                Some(Value::Text(s)) => s,
                _ => return Err("缺少发证机关名称".into()),
            };
            let valid_from = f[4].take().and_then(as_day).ok_or("有效期开始日期无效")?;
            let valid_to = match f[5].take() {
                None => None,
                Some(v) => Some(as_day(v).ok_or("有效期结束日期无效")?),
            };
            let role = f[6]
                .take()
                .and_then(as_i64)
                .and_then(|c| u64::try_from(c).ok())
                .and_then(KeyRole::from_wire)
                .ok_or("密钥用途缺失或未知")?;
            Ok(TrustedKey {
                kid,
                role,
                public_key,
                issuer,
                valid_from,
                valid_to,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(TrustList {
        issued_at,
        expires_at,
        keys,
    })
}

fn as_i64(v: Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(i).ok(),
        _ => None,
    }
}

fn as_day(v: Value) -> Option<NaiveDate> {
    let days = u64::try_from(as_i64(v)?).ok()?;
    epoch_day().checked_add_days(chrono::Days::new(days))
}

/// Public keys as lowercase hex in JSON.
mod hex_key {
    use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(k: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&HEXLOWER.encode(k))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let bytes = HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(D::Error::custom)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| D::Error::custom("public_key must be 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sample() -> (IssuerKey, TrustList) {
        let root = IssuerKey::from_seed(KeyId::new(*b"ROOT"), [9; 32]);
        let k1 = IssuerKey::from_seed(KeyId::new(*b"SH01"), [1; 32]);
        let k2 = IssuerKey::from_seed(KeyId::new(*b"SH02"), [2; 32]);
        let list = TrustList::new(
            vec![
                TrustedKey::for_key(
                    &k1,
                    "上海市住房和城乡建设管理委员会",
                    d("2024-01-01"),
                    Some(d("2025-12-31")),
                ),
                TrustedKey::for_key(&k2, "上海市住房和城乡建设管理委员会", d("2026-01-01"), None),
            ],
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        );
        (root, list)
    }

    #[test]
    fn signed_trust_list_opens_with_the_root_key_to_the_same_list() {
        let (root, list) = sample();
        let signed = list.sign(&root);
        assert_eq!(signed.root_kid().unwrap(), KeyId::new(*b"ROOT"));
        assert_eq!(signed.open(&root.verifying_key()).unwrap(), list);
    }

    #[test]
    fn trust_list_opened_with_another_root_is_refused() {
        let (root, list) = sample();
        let other = IssuerKey::from_seed(KeyId::new(*b"ROOT"), [8; 32]);
        let err = list.sign(&root).open(&other.verifying_key()).unwrap_err();
        assert_eq!(err.code(), "trust_list_invalid");
    }

    #[test]
    fn every_flipped_bit_of_a_signed_trust_list_is_refused() {
        let (root, list) = sample();
        let bytes = list.sign(&root).into_bytes();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let err = SignedTrustList::from_bytes(b)
                .open(&root.verifying_key())
                .unwrap_err();
            assert_eq!(err.code(), "trust_list_invalid", "bit {i}");
        }
    }

    #[test]
    fn roles_and_expiry_survive_signing_and_a_key_is_found_only_for_its_role() {
        let (root, mut list) = sample();
        list.keys[1] = list.keys[1].clone().with_role(KeyRole::SnapshotSigning);
        let list = list.expiring(Utc.with_ymd_and_hms(2026, 6, 30, 16, 0, 0).unwrap());
        let opened = list.sign(&root).open(&root.verifying_key()).unwrap();
        assert_eq!(opened, list);
        let sh02 = KeyId::new(*b"SH02");
        assert!(opened.find_for(&sh02, KeyRole::SnapshotSigning).is_some());
        assert!(opened.find_for(&sh02, KeyRole::CopySigning).is_none());
        let june = |d| Utc.with_ymd_and_hms(2026, 6, d, 0, 0, 0).unwrap();
        assert!(!opened.needs_renewal(june(1) - chrono::Duration::days(1)));
        assert!(opened.needs_renewal(june(1)));
        assert!(!opened.is_expired(june(30)));
        assert!(opened.is_expired(june(30) + chrono::Duration::hours(16)));
    }

    #[test]
    fn a_list_expiring_before_it_was_issued_does_not_open() {
        let (root, list) = sample();
        let issued = list.issued_at;
        let err = list
            .expiring(issued)
            .sign(&root)
            .open(&root.verifying_key())
            .unwrap_err();
        assert!(err.to_string().contains("到期时间"), "{err}");
    }

    #[test]
    fn key_window_is_inclusive_at_both_ends() {
        let (_, list) = sample();
        let k1 = &list.keys[0];
        assert!(!k1.covers(d("2023-12-31")));
        assert!(k1.covers(d("2024-01-01")));
        assert!(k1.covers(d("2025-12-31")));
        assert!(!k1.covers(d("2026-01-01")));
        assert!(list.keys[1].covers(d("2099-01-01")));
    }

    #[test]
    fn signed_list_with_duplicate_kids_or_inverted_window_does_not_open() {
        let (root, list) = sample();
        let mut dup = list.clone();
        dup.keys[1].kid = dup.keys[0].kid;
        let err = dup.sign(&root).open(&root.verifying_key()).unwrap_err();
        assert!(err.to_string().contains("重复"), "{err}");

        let mut inverted = list.clone();
        inverted.keys[0].valid_to = Some(d("2023-01-01"));
        assert!(inverted.sign(&root).open(&root.verifying_key()).is_err());

        // The identity point: a small-order key under which forgeries are easy.
        let mut weak = list.clone();
        weak.keys[0].public_key = [0; 32];
        weak.keys[0].public_key[0] = 1;
        let err = weak.sign(&root).open(&root.verifying_key()).unwrap_err();
        assert!(err.to_string().contains("弱密钥"), "{err}");

        // A y coordinate with no point on the curve.
        let not_a_point = (2u8..)
            .map(|y| {
                let mut k = [0; 32];
                k[0] = y;
                k
            })
            .find(|k| VerifyingKey::from_bytes(k).is_err())
            .unwrap();
        let mut bad_point = list;
        bad_point.keys[0].public_key = not_a_point;
        let err = bad_point
            .sign(&root)
            .open(&root.verifying_key())
            .unwrap_err();
        assert!(err.to_string().contains("公钥无效"), "{err}");
    }

    #[test]
    fn trust_list_json_shows_hex_keys_and_dates() {
        let (_, list) = sample();
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(json["keys"][0]["kid"], "SH01");
        assert_eq!(json["keys"][0]["valid_to"], "2025-12-31");
        assert_eq!(json["keys"][1]["valid_to"], serde_json::Value::Null);
        assert_eq!(json["keys"][0]["public_key"].as_str().unwrap().len(), 64);
        assert_eq!(serde_json::from_value::<TrustList>(json).unwrap(), list);
    }
}
